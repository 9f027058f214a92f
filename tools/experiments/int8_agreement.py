"""Why int8 misses the agreement tolerance: calibration size, and the output layer in float.

    .venv/bin/python tools/experiments/int8_agreement.py [--model models/reference]

Converts the shipped float model to int8 several ways and prints, for each, the label flips
against the float model on the tune people's 1,200 crops (as `make model-report` judges it) at
the shipped threshold, agreement, and mean/max |score difference|: calibration on 200 training
pairs (the default) with two seeds, on 400 and on 800, and 200 with the final dense layer kept in
float (TensorFlow's quantization debugger, denylisting that node). About 5 minutes on 2 cores.
The README ("Parity of the converted variants") quotes a run of 2026-11-26.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=ROOT / "models" / "reference")
    a = p.parse_args()
    import keras
    import tensorflow as tf

    from converter.convert import saved_model_converter, tflite_scores, to_tflite
    from converter.data import load_faces
    from converter.export import representative
    from converter.model import float32_copy
    from converter.parity import compare
    from converter.train import eval_set, predict
    from deepfake_scanner.preprocess import normalise

    meta = json.loads((a.model / "metadata.json").read_text())
    threshold = meta["threshold"]
    keras_file = a.model / meta["files"]["keras"]["path"]
    model = float32_copy(keras.models.load_model(keras_file, compile=False))
    cache = ROOT / ".cache"
    train = load_faces(ROOT / "assets" / "faces" / "train", cache)
    x, y = eval_set(load_faces(ROOT / "assets" / "faces" / "tune", cache), 600, 11)
    ref, xn = predict(model, x), normalise(x)

    def report(name: str, blob: bytes) -> None:
        s = tflite_scores(blob, xn)
        r = compare(ref, s, y, threshold)
        flips = round((1 - r["agreement"]) * len(y))
        keep = ("agreement", "mean_abs_diff", "max_abs_diff")
        stats = {k: round(r[k], 5) for k in keep}
        print(json.dumps({"int8": name, "bytes": len(blob), "flips": flips, **stats}), flush=True)

    for n, seed in [(200, 0), (200, 1), (400, 0), (800, 0)]:
        blob = to_tflite(model, "int8", representative(train, n, seed))
        report(f"calibration {n} pairs, seed {seed}", blob)

    calib = list(representative(train, 200, 0))
    with saved_model_converter(model) as converter:  # the graph to_tflite converts
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([s] for s in calib)
        output = "StatefulPartitionedCall_1:0"  # the logit's tensor in the exported graph
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter,
            debug_dataset=lambda: ([s] for s in calib[:8]),
            debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=[output]),
        )
        report("calibration 200 pairs, output layer float", debugger.get_nondebug_quantized_model())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
