"""Would test-time flips help? The self-blend AUC of a Keras model on its own crops, on their
mirror images, and on the mean of both logits, for the tune and the reserved people
(variants.py's sets: eval_set seed 1, 600 pairs each). docs/experiments.md, "What we tried".

    .venv/bin/python tools/experiments/flip_tta.py [models/reference/seed_cnn.keras]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))


def main() -> int:
    import keras
    from variants import logit, measure_sets

    from converter.metrics import auc
    from converter.train import predict

    path = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "models/reference/seed_cnn.keras")
    model = keras.models.load_model(path, compile=False)
    for name in ("tune", "eval"):
        x, y, _ = measure_sets(name)
        plain, flipped = predict(model, x), predict(model, x[:, :, ::-1])
        both = 1 / (1 + np.exp(-(logit(plain) + logit(flipped)) / 2))
        print(
            f"{name}: AUC plain {auc(y, plain):.4f}, mirrored {auc(y, flipped):.4f}, "
            f"mean of logits {auc(y, both):.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
