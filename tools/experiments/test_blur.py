"""Does the model lean on fine detail that new people do not share? The self-blend AUC of Keras
models when the test crops (reals and blends alike) are blurred or resampled first, and how
sharp each face set's plain crops are. docs/experiments.md, "Seeing less".

    .venv/bin/python tools/experiments/test_blur.py models/reference/seed_cnn.keras [MORE.keras]
        [--sets tune eval teacher]

Prints, per model and set (variants.measure's pairs: eval_set seed 1, 600 pairs each), the AUC
with a Gaussian blur of each sigma (0: none), with the crop shrunk by a factor and enlarged
back, and in grey; then the median and 10th/90th percentiles of each face set's sharpness
(variance of the Laplacian of the grey plain crop, as the scanner would crop it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import measure_sets, pin_threads, plain_crops  # noqa: E402  (after the path set-up)

SIGMAS = (0, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
SHRINK = (0.75, 0.5)


def sharpness(crop: np.ndarray) -> float:
    import cv2

    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def main() -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="Keras files")
    p.add_argument(
        "--sets",
        nargs="+",
        default=["tune", "eval"],
        help="face sets under assets/faces whose self-blends are scored (teacher: people no "
        "model before the hires-more run trained on)",
    )
    a = p.parse_args()
    pin_threads()
    import cv2
    import keras

    from converter.data import load_faces
    from converter.metrics import auc
    from converter.train import predict
    from deepfake_scanner.preprocess import SPEC

    def blurred(x, sigma):
        return x if sigma == 0 else np.stack([cv2.GaussianBlur(c, (0, 0), sigma) for c in x])

    def resampled(x, f):
        size = (SPEC.size, SPEC.size)
        return np.stack(
            [
                cv2.resize(
                    cv2.resize(c, None, fx=f, fy=f, interpolation=cv2.INTER_AREA),
                    size,
                    interpolation=cv2.INTER_LINEAR,
                )
                for c in x
            ]
        )

    def grey(x):
        return np.stack(
            [cv2.cvtColor(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) for c in x]
        )

    for path in a.models:
        model = keras.models.load_model(path, compile=False)
        for name in a.sets:
            x, y, _ = measure_sets(name)
            row: dict = {"model": path, "set": name}
            row |= {f"blur{s}": round(auc(y, predict(model, blurred(x, s))), 4) for s in SIGMAS}
            row |= {f"shrink{f}": round(auc(y, predict(model, resampled(x, f))), 4) for f in SHRINK}
            row["grey"] = round(auc(y, predict(model, grey(x))), 4)
            print(json.dumps(row), flush=True)
    for name in ("train", "teacher", "tune", "eval"):
        faces = load_faces(ROOT / "assets" / "faces" / name, ROOT / ".cache")
        v = [sharpness(crop) for crop in plain_crops(faces)]
        p10, p50, p90 = np.percentile(v, [10, 50, 90])
        print(json.dumps({"set": name, "faces": len(v), "sharpness_median": round(p50),
                          "p10": round(p10), "p90": round(p90)}), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
