"""Does hiding part of each training crop stop the seed CNN learning its training people?

The network scores self-blends of the training people at 0.97 AUC and those of new people at
0.84-0.87; what differs most is the reals (blend_strength.py: a training person's real crops
score 0.08 at the median, a reserved person's 0.34). Random erasing (Zhong et al., AAAI 2020)
and Face-Cutout (Das et al., 2021, for deepfake detectors) hide a random part of each training
image so that no one region, and no one person's look, decides the label. Here each crop of a
pair, real and fake alike and each with its own draw, has with probability --share a rectangle
of 2-20 % of its area (aspect 0.3-3.3) filled with one random colour. Both classes get the
same erasing, so an erased patch says nothing about the label; a fake keeps the blend wherever
the patch is not.

Each run is the shipped model's last stage (distill.py: people-stage arguments, --warp-share
0.7, 2,000 steps from `2026.11.27.0744`, taught by the second round's teachers at share 0.5),
with the erasing on top, compared with the distilled run of the same seed (distill2-s0 / -s2:
the same start, seed and teachers; the erasing draws change the batches after the first pair);
measured by variants.measure.

Result (2026-11-28 07:26-08:12 UTC, benchmarks/results/cutout.json, docs/experiments.md "Hiding part
of each crop"): seeds 0 / 2 scored tune 0.823 / 0.836 against 0.829 / 0.836 for their twins and
reserved 0.846 / 0.852 against 0.843 / 0.849 (+0.003 both): inside the seeds' spread, tune no
better, not adopted. Stronger (--share 0.8 --area 0.05 0.3, seed 2): tune 0.830, reserved 0.838,
worse.

    git show 554c55d:models/reference/seed_cnn.keras > runs/m0744/seed_cnn.keras
    taskset -c 1 .venv/bin/python tools/experiments/cutout.py --seed 2 \\
        --out runs/experiments/cutout-s2
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import people_stage, pin_threads, stage_parser, taught  # noqa: E402  (after the path set-up)

from converter.recipe import WARP_SHARE, WARPED  # noqa: E402  (after the path set-up)
from converter.train import DISTILL  # noqa: E402

SHARE = 0.5  # crops with a patch erased
AREA = (0.02, 0.2)  # the patch's share of the crop
ASPECT = (0.3, 3.3)
TEACHERS = (  # the second round's teachers (distill.json teacher_ensembles)
    ROOT / "runs/experiments/distill-s1/best.keras",
    ROOT / "runs/experiments/hires-more-s0/best.keras",
)


def erase(img, rng, share: float = SHARE, area=AREA):
    """img (uint8 HxWx3) with, at probability `share`, one rectangle of one random colour."""
    import numpy as np

    if rng.random() >= share:
        return img
    h, w = img.shape[:2]
    area = rng.uniform(*area) * h * w
    aspect = np.exp(rng.uniform(*np.log(ASPECT)))
    eh = int(min(h, round(np.sqrt(area * aspect))))
    ew = int(min(w, round(np.sqrt(area / aspect))))
    y, x = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
    out = img.copy()
    out[y : y + eh, x : x + ew] = rng.integers(0, 256, 3, dtype=np.uint8)
    return out


def erasing_pair(share: float, area=AREA):
    """converter.selfblend.make_pair, then each crop of the pair erased on its own draw."""
    from converter.selfblend import make_pair

    def pair(*args, **kwargs):
        rng = args[2]
        real, fake = make_pair(*args, **kwargs)
        return erase(real, rng, share, area), erase(fake, rng, share, area)

    return pair


def main() -> int:
    p = stage_parser(ROOT / "runs/m0744/seed_cnn.keras")
    p.add_argument("--share", type=float, default=SHARE, help="crops with a patch erased")
    p.add_argument("--area", type=float, nargs=2, default=list(AREA), help="patch's share")
    p.add_argument("--teachers", nargs="*", type=Path, default=list(TEACHERS))
    p.add_argument("--alpha", type=float, default=DISTILL, help="the teachers' share of the loss")
    a = p.parse_args()

    pin_threads()
    import converter.train as ct

    # make_batch takes the pair maker as a default argument: bind ours in its place
    ct.make_batch = functools.partial(ct.make_batch, pair=erasing_pair(a.share, tuple(a.area)))
    about = {"variant": "cutout", "init": a.init, "share": a.share, "area": a.area}
    about["warp_share"] = WARP_SHARE
    extra = taught(about, tuple(WARPED), a.teachers, a.alpha)
    people_stage(a.out, a.init, a.steps, a.seed, about, extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
