"""Can one seed CNN learn what a cheap and a hires model see together? Ensemble distillation.

A cheap-layout and a hires-layout model miss different blends: the mean of their logits scored
reserved 0.855 on variants.measure's pairs, 0.012-0.020 over the better of the two, where pairs
within one layout gained 0.000-0.008 (ensemble.py, docs/experiments.md "Two layouts together"). An
ensemble is not the seed CNN and costs a classification a member; distillation (Hinton et al., 2015)
trains one network towards the ensemble's scores instead. Here the student is the served network in
the cheap layout and its loss on each training pair is

    (1 - alpha) * BCE(smoothed label, student) + alpha * BCE(sigmoid(mean teacher logit), student)

the teachers frozen and run on the same (augmented) batch: converter.train --teachers. (The
results below were made by the script as of commit a3d119e, which patched the training step to
this loss.) Each run is the shipped model's last stage (people-stage arguments, --warp-share
0.7, 2,000 steps from `2026.11.27.0744`) with this loss, compared with the warp run of the same
seed (the same start, seed and batches); with --data runs/data-more/faces, with the cheap warp
run on those 269 faces (whose 36 faces from libdlib19.1 and gramps no teacher was trained on).
Measured by variants.measure.

Result (2026-11-28 02:07-03:13 UTC, benchmarks/results/distill.json, docs/experiments.md "One
network taught by both layouts"): seeds 0 / 1 / 2 scored reserved 0.844 / 0.840 / 0.849 against
0.824 / 0.824 / 0.835 for their twins (+0.017 on average, every seed up) and tune 0.830 / 0.832 /
0.831 against 0.805 / 0.794 / 0.813; on the 269 faces +0.009. Exported, seed 2 scored reserved 0.861
(shipped 0.853) with insightface/t1.jpg over its threshold: not shipped. A second round, taught by
the distilled seed 1 and the hires run on the 269 faces (--teachers), equalled the first on measure;
its seed 2 exported at reserved 0.866 with no reserved photo over the threshold and ships as
2026.11.28.0448 (docs/experiments.md "Taught twice"). With --alpha 0.75 and 1.0 (seed 2) the tune
AUC rose by 0.010 and the reserved one by +0.001 and -0.005 (distill.json distill2_share); at 0.75,
seeds 0 / 1 scored tune 0.841 / 0.835 and reserved 0.852 / 0.845, and seed 2, exported, reserved
0.863 with insightface/t1.jpg over its threshold: not shipped (distill2_share_seeds,
export_a075_seed2). A third round at 0.75, taught by that seed 2 and the hires run on 269 faces,
equalled the second (distill3, export_distill3_seed0: reserved 0.859, t1.jpg over).

    # the hires teacher: the shipped run's stage in the hires layout from the shipped weights
    .venv/bin/python tools/experiments/layout.py --mode warp --seed 0 \\
        --out runs/experiments/layout-hires-warp-s0
    git show 554c55d:models/reference/seed_cnn.keras > runs/m0744/seed_cnn.keras
    taskset -c 0 .venv/bin/python tools/experiments/distill.py --seed 2 \\
        --out runs/experiments/distill-s2 &
    taskset -c 1 .venv/bin/python tools/experiments/distill.py --seed 2 \\
        --data runs/data-more/faces --out runs/experiments/distill-more-s2
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import pass_on, people_stage, pin_threads, stage_parser, taught  # noqa: E402  (after the path set-up)

from converter.recipe import WARP_SHARE, WARPED  # noqa: E402  (after the path set-up)
from converter.train import DISTILL  # noqa: E402

TEACHERS = (  # the model shipped then (cheap, 2026.11.27.1344: see layout.py's --init) and
    # layout.py's hires warp run from its weights
    ROOT / "runs/m1344/seed_cnn.keras",
    ROOT / "runs/experiments/layout-hires-warp-s0/best.keras",
)


def main() -> int:
    p = stage_parser(ROOT / "runs/m0744/seed_cnn.keras")
    p.add_argument("--teachers", nargs="+", type=Path, default=list(TEACHERS))
    p.add_argument("--alpha", type=float, default=DISTILL, help="the teachers' share of the loss")
    p.add_argument("--data", help="training faces in place of assets/faces/train")
    a = p.parse_args()

    pin_threads()
    about = {"variant": "ensemble distillation", "init": a.init, "warp_share": WARP_SHARE}
    extra = taught(about, pass_on(about, tuple(WARPED), "data", a.data), a.teachers, a.alpha)
    people_stage(a.out, a.init, a.steps, a.seed, about, extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
