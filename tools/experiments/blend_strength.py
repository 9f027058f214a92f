"""Which self-blends does a model miss: weak or strong ones, on seen or new people?

Scores variants.measure's self-blend pairs (eval_set seed 1, 600 pairs) of the reserved, tune and
training people, recording for each fake how strong its blend is: the mean absolute change the
blend made inside its mask (grey levels, before framing and delivery) and the mask's peak (the
blend ratio, 0.25 to 1). Prints the AUC of all reals against the fakes of each strength third and
of each ratio.

    .venv/bin/python tools/experiments/blend_strength.py [--model runs/people/best.keras]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def against_reals(reals: np.ndarray, fakes: np.ndarray) -> float:
    """AUC of every real against some of the fakes."""
    from converter.metrics import auc

    return auc(np.r_[np.zeros(len(reals)), np.ones(len(fakes))], np.r_[reals, fakes])


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", type=Path, default=ROOT / "runs/people/best.keras")
    a = p.parse_args()

    import keras

    import converter.selfblend as sb
    from converter.data import load_faces
    from converter.metrics import auc
    from converter.train import eval_set, predict

    made: list[tuple[float, float]] = []
    blend = sb.blend_and_mask

    def recording(base, keypoints, rng, difficulty=1.0):
        fake, m = blend(base, keypoints, rng, difficulty)
        inside = m > 0.05
        change = np.abs(fake.astype(np.float32) - base.astype(np.float32)).mean(axis=2)
        made.append((float(change[inside].mean()) if inside.any() else 0.0, float(m.max())))
        return fake, m

    sb.blend_and_mask = recording  # self_blend looks it up at call time
    model = keras.models.load_model(a.model, compile=False)
    print(f"model {a.model}")
    for name in ("eval", "tune", "train"):
        made.clear()
        x, y = eval_set(load_faces(ROOT / "assets/faces" / name, ROOT / ".cache"), 600, 1)
        s = predict(model, x)
        strength, ratio = np.array(made).T
        reals, fakes = s[0::2], s[1::2]

        edges = np.quantile(strength, [0, 1 / 3, 2 / 3, 1])
        print(f"{name}: pooled AUC {auc(y, s):.4f}, real median {np.median(reals):.3f}")
        for lo, hi in itertools.pairwise(edges):
            keep = (strength >= lo) & (strength <= hi)
            print(
                f"  change {lo:4.1f}-{hi:4.1f}: AUC {against_reals(reals, fakes[keep]):.3f}, "
                f"fake median {np.median(fakes[keep]):.3f}"
            )
        for r in np.unique(ratio.round(2)):
            keep = ratio.round(2) == r
            found = against_reals(reals, fakes[keep])
            print(f"  ratio {r:.2f}: {keep.sum():3d} fakes, AUC {found:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
