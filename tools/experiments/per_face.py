"""Where a model's self-blend AUC is lost: per face of the tune and reserved people, and on the
training people.

For each face of a set (the export's self-blend sets: eval_set seed 12 reserved, 11 tune, 600
pairs each), the median score of its real crops and of its blends and the AUC within that face;
then the mean within-face AUC, the pooled AUC once each face's median real logit is subtracted
(what per-person offsets cost), and the pooled AUC on self-blends of the training people (what
the model does on people it has seen); and the pooled AUC with each photo left out in turn (how
much one photo decides it). docs/experiments.md, "What we tried".

    .venv/bin/python tools/experiments/per_face.py [models/reference/seed_cnn.keras]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from converter.data import load_faces
    from converter.metrics import auc
    from converter.train import eval_set, keras_module, predict

    keras = keras_module()
    path = sys.argv[1] if len(sys.argv) > 1 else ROOT / "models/reference/seed_cnn.keras"
    model = keras.models.load_model(path, compile=False)
    for name, seed in (("eval", 12), ("tune", 11), ("train", 12)):
        faces = load_faces(ROOT / "assets/faces" / name, ROOT / ".cache")
        x, y = eval_set(faces, 600, seed)
        s = predict(model, x)
        print(f"{name}: pooled AUC {auc(y, s):.4f} over {len(faces)} faces")
        if name == "train":
            continue
        face = (np.arange(len(y)) // 2) % len(faces)  # eval_set takes the faces in turn
        logit = np.log(s / (1 - s))
        within = []
        for i in range(len(faces)):
            m = face == i
            within.append(auc(y[m], s[m]))
            logit[m] -= np.median(logit[m & (y == 0)])
            real, fake = np.median(s[m & (y == 0)]), np.median(s[m & (y == 1)])
            print(f"  {faces.sources[i]:40s} real {real:.3f} blend {fake:.3f} AUC {within[-1]:.3f}")
        print(f"  mean within-face AUC {np.mean(within):.4f}; pooled with each face's median real")
        print(f"  logit subtracted {auc(y, logit):.4f}")
        # how much one photo decides the pooled figure: the pooled AUC without each photo
        photo = np.array([faces.sources[i] for i in face])
        left = {src: auc(y[photo != src], s[photo != src]) for src in sorted(set(photo))}
        shown = ", ".join(f"{k} {v:.4f}" for k, v in left.items())
        print(f"  pooled AUC without one photo: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
