"""Do new face shapes, made by warping the training faces, help the seed CNN on new people?

The error analysis (docs/experiments.md, "Which blends it misses") says the network has learned what
the training people look like when real, and a new person's reals sit nearer the blends. Hiding
identity from the penultimate features (identity_adversary.py) did not move the reserved AUC. This
tries the input side instead: before a pair is made, the base image gets a smooth random warp (a 4x4
grid of displacements, cubic-interpolated, each of about 5-15 % of the eyes-to-mouth distance:
converter.selfblend.warp_face, which `converter.train --warp-share` turns on), so that the same
person comes with other proportions from batch to batch, and the keypoints the blend mask is drawn
from move with the face. Real and fake share the warp, so it says nothing about the label: only the
blend does.

Two runs side by side, one core each, the recipe's people-stage arguments and validation set,
from the same weights with the same seed: `--variant plain` (make_pair as it is) and `--variant
warp`. runs/reference/best.keras (the recipe's starting point) is a local file that a fresh
checkout lacks, so both start from the shipped float model instead: a continuation, compared
with a continuation. Measured by variants.measure (tune and reserved self-blend AUC).

Result (2026-11-27, seeds 0-2, benchmarks/results/identity_warps.json): the best checkpoints by
tune AUC scored reserved 0.824 / 0.824 / 0.835 with warps against 0.819 / 0.811 / 0.824 without
(+0.010 on average, every seed up), tune 0.805 / 0.794 / 0.813 against 0.809 / 0.810 / 0.797; at
step 2,000 warps led on both sets in every seed (reserved +0.020, tune +0.019 on average). Seed
2's warp run has the best tune AUC of the six and above the shipped model's; exported, it scored
reserved AUC 0.853 with no reserved photo above its threshold (docs/experiments.md, "New face
shapes").

Follow-ups (2026-11-27 afternoon, benchmarks/results/warp_followups.json; docs/experiments.md
"Building on the warps"): --share 1.0 --amp 0.10 0.25 (stronger), --grid 6 (finer), --data with two
more sources (extra_faces.py), and second rounds from the shipped model; none moved the reserved AUC
by more than the seeds do, and more people raised the tune AUC only.

    taskset -c 0 .venv/bin/python tools/experiments/identity_warps.py --variant plain \\
        --out runs/experiments/warp-plain &
    taskset -c 1 .venv/bin/python tools/experiments/identity_warps.py --variant warp \\
        --out runs/experiments/warp-warp
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import people_stage, pin_threads, stage_parser  # noqa: E402  (after the path set-up)

from converter.recipe import WARP_SHARE  # noqa: E402  (after the path set-up)


def main() -> int:
    # 2026.11.27.0744, shipped when these runs were made (git show 554c55d:models/reference/
    # seed_cnn.keras > runs/m0744/seed_cnn.keras); the follow-ups' second rounds gave --init
    # the model shipped after it (runs/m1344: see layout.py's --init)
    p = stage_parser(ROOT / "runs/m0744/seed_cnn.keras")
    p.add_argument("--variant", choices=["plain", "warp"], required=True)
    p.add_argument("--share", type=float, default=WARP_SHARE, help="pairs warped (--variant warp)")
    p.add_argument("--amp", type=float, nargs=2, help="displacement range (selfblend.WARP_AMP)")
    p.add_argument("--grid", type=int, help="control points a side (selfblend.WARP_GRID)")
    p.add_argument("--data", help="training faces in place of assets/faces/train")
    a = p.parse_args()

    pin_threads()

    import converter.selfblend as cs

    if a.amp:
        cs.WARP_AMP = tuple(a.amp)
    if a.grid:
        cs.WARP_GRID = a.grid
    # converter.train --warp-share (training batches only: eval_set keeps the plain pairs). The
    # runs of 2026-11-27 12:08-13:11 patched make_batch instead, before the trainer had the
    # option; step_batch now passes warp= itself, which would override such a patch.
    extra: tuple[str, ...] = ("--warp-share", str(a.share)) if a.variant == "warp" else ()
    extra += ("--data", a.data) if a.data else ()
    about = {"variant": f"identity warps: {a.variant}", "init": a.init}
    if a.variant == "warp":
        about |= {"share": a.share, "amp": list(cs.WARP_AMP), "grid": cs.WARP_GRID}
    about |= {"data": a.data} if a.data else {}
    people_stage(a.out, a.init, a.steps, a.seed, about, extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
