"""What the int8 experiments share: the self-blend sets they judge a file on, and one row of
figures for a file (int8_gptq.py, int8_qat.py, int8_tails.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SETS = {  # name: (assets/faces folder, eval_set seed)
    "tune": ("tune", 11),  # the parity gate's
    "reserved": ("eval", 12),  # make batch-parity's
    "fresh 1234": ("eval", 1234),
    "fresh 99": ("eval", 99),
}


def parity_sets(model, names=("tune", "reserved")) -> dict[str, tuple]:
    """name -> (normalised crops, labels, the float model's scores), 1,200 crops a set."""
    from converter.data import load_faces
    from converter.train import eval_set, predict
    from deepfake_scanner.preprocess import normalise

    sets = {}
    for name in names:
        folder, seed = SETS[name]
        x, y = eval_set(load_faces(ROOT / "assets" / "faces" / folder, ROOT / ".cache"), 600, seed)
        sets[name] = (normalise(x), y, predict(model, x))
    return sets


def file_row(name: str, blob: bytes, quantile: float, sets: dict) -> tuple[dict, dict]:
    """The int8 file against the float model on each set, at the file's own rounding-point
    threshold for `quantile`: label flips, mean and max |score difference|, scores moved more
    than 0.1 (the gate's largest allowed difference), AUC. Returns (row, the file's scores)."""
    from converter.parity import compare
    from deepfake_scanner.classify import Classifier

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "int8.tflite"
        path.write_bytes(blob)
        clf = Classifier(path, output="logit")
        threshold = clf.decision_threshold(quantile)
        row: dict[str, Any] = {"int8": name, "threshold": round(threshold, 6)}
        scores = {}
        for set_name, (xn, y, ref) in sets.items():
            got = scores[set_name] = clf.predict(xn)
            diff = np.abs(got - ref)
            r = compare(ref, got, y, threshold)
            row[set_name] = {
                "flips": round((1 - r["agreement"]) * len(y)),
                "mean_abs_diff": round(float(diff.mean()), 5),
                "max_abs_diff": round(float(diff.max()), 4),
                "over_0.1": int((diff > 0.1).sum()),
                "auc": round(r["auc_converted"], 4),
            }
    return row, scores
