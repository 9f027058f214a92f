"""Rounding the weights for int8 by their effect on each layer's output (GPTQ), not to nearest.

    .venv/bin/python tools/experiments/int8_gptq.py [--model models/reference] [--rows 400]
        [--calibration 1000]

About three quarters of the int8 file's score error was the rounding of its weights
(tools/experiments/int8_ranges.py). converter.gptq rounds them by their effect on each layer's
output instead (GPTQ, Frantar et al., ICLR 2023), as converter.export does since 2026-11-27.
Prints the label flips against the float model and the mean and max |score difference| on the
tune people's (the gate's) and the reserved people's (batch parity's) 1,200 crops, at the
file's own rounding-point threshold, for the int8 file with its weights rounded to nearest and
by GPTQ. About 3 minutes on 2 cores. The README ("Conversion and the parity gate") quotes a
run.
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
    p.add_argument("--rows", type=int, default=400, help="calibration inputs for X^T X")
    p.add_argument("--calibration", type=int, default=1000, help="pairs (converter.export's)")
    a = p.parse_args()
    import keras
    from int8_sets import file_row, parity_sets

    import converter.model
    from converter.convert import to_tflite
    from converter.data import load_faces
    from converter.export import representative

    meta = json.loads((a.model / "metadata.json").read_text())
    quantile = meta.get("threshold_quantile", meta["threshold"])
    model = converter.model.float32_copy(
        keras.models.load_model(a.model / meta["files"]["keras"]["path"], compile=False)
    )
    cache = ROOT / ".cache"
    train = load_faces(ROOT / "assets" / "faces" / "train", cache)
    calib = list(representative(train, a.calibration, 0))
    sets = parity_sets(model)

    blobs = {
        "weights rounded to nearest": to_tflite(model, "int8", calib, gptq_rows=0),
        f"weights rounded by GPTQ ({a.rows} inputs)": to_tflite(
            model, "int8", calib, gptq_rows=a.rows
        ),
    }
    for name, blob in blobs.items():
        print(json.dumps(file_row(name, blob, quantile, sets)[0]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
