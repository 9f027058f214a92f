"""Does sharpness-aware minimisation close the gap between training people and new people?

The shipped model scores self-blends of its training people at AUC 0.97 and of people it never saw
at 0.85 (docs/experiments.md, "Which blends it misses"): a generalisation gap on few identities,
which more augmentation, identity hiding and weight soups narrowed only within the seeds' spread.
SAM (Foret et al., ICLR 2021) takes each step's gradient at the worst nearby weights (a step of
length rho along the normalised gradient), which favours flat minima; it is reported to help most on
small datasets. Here (`converter.train --sam`, converter.train.sam_step) it replaces the optimizer
step of the very run that ships (`identity_warps.py --variant warp`: the people stage's arguments,
`--warp-share 0.7`, from `2026.11.27.0744`'s float weights), so each run is compared with the warp
run of the same seed, which drew the same batches. Each step costs two forward and backward passes.

Result (2026-11-27 evening, benchmarks/results/sam.json, docs/experiments.md "Flat minima"): no SAM
run did worse than its plain twin on either held-out set; at rho 0.15 and 0.3 all three seeds gained
(tune +0.019 and +0.023, reserved +0.009 and +0.009 on average), and the tune AUC rose with
rho. Exported, the best of each radius on tune scored reserved 0.850 and 0.838 on make
model-report's self-blends against the shipped model's 0.853: not shipped.

    git show 554c55d:models/reference/seed_cnn.keras > runs/m0744/seed_cnn.keras
    taskset -c 0 .venv/bin/python tools/experiments/sam.py --seed 0 --rho 0.15 \\
        --out runs/experiments/sam15-s0 &
    taskset -c 1 .venv/bin/python tools/experiments/sam.py --seed 2 --rho 0.15 \\
        --out runs/experiments/sam15-s2
    # SAM in the hires layout (converter.layouts), about 75-100 minutes a run here. 2026-11-27
    # night, benchmarks/results/sam_hires.json: tune 0.837 / 0.829 and reserved 0.832 / 0.827
    # from 1344 (seed 0) / 0744 (seed 2), no better than hires alone; not exported.
    .venv/bin/python tools/experiments/sam.py --layout hires --rho 0.15 --seed 2 \\
        --out runs/experiments/sam15-hires-s2
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import pass_on, people_stage, pin_threads, stage_parser  # noqa: E402

from converter.recipe import WARP_SHARE, WARPED  # noqa: E402  (after the path set-up)

RHO = 0.05  # the neighbourhood radius, in the global norm of the weights' perturbation


def main() -> int:
    p = stage_parser(ROOT / "runs/m0744/seed_cnn.keras")
    p.add_argument("--rho", type=float, default=RHO)
    p.add_argument("--layout", help="converter.layouts.LAYOUTS; default: the --init model's")
    a = p.parse_args()

    pin_threads()

    # converter.train --sam since 2026-11-27 18:40; the runs before patched the same step in
    about = {"variant": f"SAM rho {a.rho}, warps {WARP_SHARE}", "init": a.init}
    extra = pass_on(about, (*WARPED, "--sam", str(a.rho)), "layout", a.layout)
    people_stage(a.out, a.init, a.steps, a.seed, about, extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
