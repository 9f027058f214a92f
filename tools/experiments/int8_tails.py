"""Where the int8 file's largest score differences come from: activations clipped at their
calibrated ranges. Calibration pairs against a margin on every range.

    .venv/bin/python tools/experiments/int8_tails.py [--model models/reference]
        [--calibration 200 600 1000] [--margin 1.5 2]

int8 rounds each activation to 256 levels over the range calibration measured on training
faces; faces of other people reach past it, and there int8 clips. For each int8 file (the
model's float weights converted as converter.export converts them, GPTQ included, with each
--calibration pair count, and with 200 pairs and each --margin applied to every hidden
tensor's calibrated range) this prints, against the float model at the file's own
rounding-point threshold, the label flips and the mean and max |score difference| and how many
scores moved more than 0.1 (the gate's largest allowed difference), on the tune people's
self-blends (the gate's set, eval_set seed 11), the reserved people's (batch parity's, seed 12)
and two fresh draws of the reserved people (seeds 1234 and 99), 1,200 crops each. About 2
minutes a file on 2 cores. The README ("Conversion and the parity gate") quotes a run
(benchmarks/results/int8_tails.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


@contextmanager
def widened_ranges(margin: float) -> Iterator[None]:
    """While the block runs, every int8 calibration's ranges for the network's hidden tensors
    (not its input or output) come out `margin` times wider. TFLite has no setting for this,
    so the calibrator's result is edited before the quantizer reads it."""
    from tensorflow.lite.python.optimize import calibrator
    from tensorflow.lite.tools import flatbuffer_utils

    original = calibrator.Calibrator.calibrate

    def calibrate(self, dataset_gen):
        model = flatbuffer_utils.convert_bytearray_to_object(original(self, dataset_gen))
        for graph in model.subgraphs:
            ends = {*graph.inputs, *graph.outputs}
            for i, tensor in enumerate(graph.tensors):
                q = tensor.quantization
                if i in ends or q is None or q.min is None or len(q.min) != 1:
                    continue
                q.min = [float(v) * margin for v in q.min]
                q.max = [float(v) * margin for v in q.max]
        return bytes(flatbuffer_utils.convert_object_to_bytearray(model))

    calibrator.Calibrator.calibrate = calibrate
    try:
        yield
    finally:
        calibrator.Calibrator.calibrate = original


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=ROOT / "models" / "reference")
    p.add_argument("--calibration", type=int, nargs="*", default=[200, 600, 1000])
    p.add_argument("--margin", type=float, nargs="*", default=[1.5, 2.0])
    a = p.parse_args()
    import keras
    from int8_sets import SETS, file_row, parity_sets

    from converter.convert import to_tflite
    from converter.data import load_faces
    from converter.export import representative
    from converter.model import float32_copy

    meta = json.loads((a.model / "metadata.json").read_text())
    quantile = meta.get("threshold_quantile", meta["threshold"])
    model = float32_copy(
        keras.models.load_model(a.model / meta["files"]["keras"]["path"], compile=False)
    )
    train = load_faces(ROOT / "assets" / "faces" / "train", ROOT / ".cache")
    sets = parity_sets(model, SETS)

    files = [(f"calibration {n} pairs", n, 1.0) for n in a.calibration]
    files += [(f"calibration 200 pairs, ranges x{m}", 200, m) for m in a.margin]
    for name, pairs, margin in files:
        calib = list(representative(train, pairs, 0))
        if margin == 1.0:
            blob = to_tflite(model, "int8", calib)
        else:
            with widened_ranges(margin):
                blob = to_tflite(model, "int8", calib)
        del calib
        print(json.dumps(file_row(name, blob, quantile, sets)[0]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
