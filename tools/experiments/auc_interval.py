"""How sure is the shipped model's reserved AUC? A bootstrap over the photos it came from.

`make model-report` measures the self-blend AUC on 600 pairs made from the 19 faces of the 11
reserved photos (eval_set seed 12, the serving file). The pairs are many but the people are few:
this resamples the photos with replacement (each photo with all its pairs, since the faces of
one photo share a camera), recomputes the pooled AUC each time and prints the 2.5 and 97.5
percentiles, the share of resamples at or above the issue's 0.90, and the same for the tune
photos (eval_set seed 11, the Keras model as in the report).

    .venv/bin/python tools/experiments/auc_interval.py [--model models/reference] [--n 4000]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
TARGET = 0.90


def by_photo(y: np.ndarray, s: np.ndarray, sources: np.ndarray, n: int, seed: int) -> dict:
    """Pooled AUC and its bootstrap over source photos: pair k is made from face k % len(faces)."""
    from converter.metrics import auc

    pair_source = sources[np.arange(len(y) // 2) % len(sources)]
    photos = np.unique(pair_source)
    rows = {p: np.flatnonzero(pair_source == p) for p in photos}
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n):
        pairs = np.concatenate([rows[p] for p in rng.choice(photos, len(photos))])
        idx = np.stack([2 * pairs, 2 * pairs + 1], axis=1).ravel()
        draws.append(auc(y[idx], s[idx]))
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return {
        "auc": round(auc(y, s), 4),
        "photos": len(photos),
        "faces": len(sources),
        "ci95": [round(float(lo), 4), round(float(hi), 4)],
        "share_at_or_above_0.90": round(float(np.mean(np.array(draws) >= TARGET)), 4),
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", type=Path, default=ROOT / "models/reference")
    p.add_argument("--n", type=int, default=4000, help="bootstrap resamples")
    a = p.parse_args()

    import keras

    from converter.data import load_faces
    from converter.train import eval_set, predict
    from deepfake_scanner.classify import Classifier
    from deepfake_scanner.preprocess import normalise

    meta = json.loads((a.model / "metadata.json").read_text())
    serving = a.model / meta["files"][meta["serving"]]["path"]
    out = {"model": meta["version"], "serving": meta["serving"], "resamples": a.n}
    for name, seed in (("eval", 12), ("tune", 11)):  # converter.export's sets (--seed 0)
        faces = load_faces(ROOT / "assets/faces" / name, ROOT / ".cache")
        x, y = eval_set(faces, 600, seed)
        if name == "eval":
            s = Classifier(serving, threads=None).predict(normalise(x))
        else:
            s = predict(keras.models.load_model(a.model / "seed_cnn.keras", compile=False), x)
        out[name] = by_photo(y, s, faces.sources, a.n, seed)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
