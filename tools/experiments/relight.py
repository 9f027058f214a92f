"""Does new lighting on the training faces help the seed CNN on new people, as new face shapes
(warps) did?

docs/experiments.md "New face shapes": warping the training faces raised the reserved AUC in every
seed, by making a training person come with other proportions from batch to batch, so "I have seen
this face as real" stops paying. This is the photometric counterpart: after camera() (the base
image's global look), a share of the bases get a smooth random illumination field, a 3x3 grid of
log-gains (luminance, N(0, s) with s drawn from 0.10-0.25, plus a fifth of that per channel),
cubic-interpolated over the image and multiplied in. Real and fake share it (it is applied to
the base before the pair is made), and it has no edge a blend could be confused with.

The run is the recipe's people-stage arguments and validation set with the shipped warps
(--warp-share 0.7), continuing the weights the shipped model continued
(2026.11.27.0744: `git show 554c55d:models/reference/seed_cnn.keras > runs/m0744/seed_cnn.keras`)
with the shipped run's seed 2, so it compares with that run (identity_warps.json, warp_seed2).

    taskset -c 0 .venv/bin/python tools/experiments/relight.py --init runs/m0744/seed_cnn.keras \\
        --seed 2 --out runs/experiments/relight-s2

Result (2026-11-27 15:07-15:22, AMD machine, one core; benchmarks/results/warp_followups.json):
best tune AUC 0.781, reserved 0.814 (variants.measure), against 0.813 and 0.835 for the shipped
run with warps alone. Not adopted.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import people_stage, pin_threads, stage_parser  # noqa: E402  (after the path set-up)

from converter.recipe import WARP_SHARE  # noqa: E402  (after the path set-up)

GRID = 3


def relight(img, rng, share: float):
    """img with a smooth random illumination field multiplied in (with probability share)."""
    import cv2
    import numpy as np

    if rng.random() >= share:
        return img
    h, w = img.shape[:2]
    s = rng.uniform(0.10, 0.25)
    coarse = rng.normal(0.0, s, (GRID, GRID, 1)) + rng.normal(0.0, s / 5, (GRID, GRID, 3))
    field = cv2.resize(coarse.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img * np.exp(field), 0, 255).astype(np.uint8)


def main() -> int:
    p = stage_parser(ROOT / "runs/m0744/seed_cnn.keras", seed=2)
    p.add_argument("--share", type=float, default=0.5, help="bases relit")
    p.add_argument("--warp-share", default=str(WARP_SHARE))
    a = p.parse_args()

    pin_threads()

    import converter.selfblend as cs

    camera = cs.camera
    cs.camera = lambda img, rng: relight(camera(img, rng), rng, a.share)  # make_pair's base
    about = {"variant": "relight", "share": a.share, "warp_share": a.warp_share, "init": a.init}
    people_stage(a.out, a.init, a.steps, a.seed, about, ("--warp-share", a.warp_share))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
