"""A run cut by --minutes: a schedule that ends at the deadline against one that ends at --steps.

`converter.train --minutes` stops a run when its time is up. Until 2026-11-28 the learning rate
followed a cosine fixed to --steps, so a run the deadline cut at half its steps stopped at half
the peak rate, its last and best checkpoints taken mid-descent. Since then the schedule's end is
estimated again before every step from the pace so far (converter.train.Schedule), so a cut run
anneals to zero at its deadline. The recipe's `--minutes` lease (the GPU job's ten minutes, or a
short CPU lease) cuts every run, so this is the schedule that lease trains with.

Each run here is the recipe's warp stage (people-stage arguments, --warp-share 0.7, 2,000 steps
from `2026.11.27.0744`) with the same --minutes, seed and batches, once with the fitted schedule
(`fitted`) and once with the end fixed at --steps (`fixed`: Schedule.fit does nothing, which is
the old behaviour: the same formula, Keras' CosineDecay); measured by variants.measure. The full
2,000-step run of the same seed is the reference (identity_warps.json: seed 2 tune 0.813,
reserved 0.835; seed 0 0.805 / 0.824).

Result (2026-11-28 09:56-10:33 UTC, benchmarks/results/deadline_schedule.json, README
"Retraining"): at 7 minutes (about 900 steps) the best checkpoints by tune were within the seeds'
spread (seeds 2 / 0, fitted against fixed: tune 0.811 / 0.801 against 0.813 / 0.794, reserved
0.831 / 0.811 against 0.829 / 0.807); the last checkpoints were better fitted in both seeds
(tune 0.792 / 0.801 against 0.783 / 0.772, reserved 0.825 / 0.811 against 0.817 / 0.808).

    git show 554c55d:models/reference/seed_cnn.keras > runs/m0744/seed_cnn.keras
    taskset -c 0 .venv/bin/python tools/experiments/deadline_schedule.py --seed 2 \\
        --minutes 7 --schedule fitted --out runs/experiments/deadline-fitted-s2
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import pass_on, people_stage, pin_threads, stage_parser  # noqa: E402  (after the path set-up)

from converter.recipe import WARP_SHARE, WARPED  # noqa: E402  (after the path set-up)


def main() -> int:
    p = stage_parser(ROOT / "runs/m0744/seed_cnn.keras")
    p.add_argument("--minutes", type=float, required=True, help="the run's deadline")
    p.add_argument("--schedule", choices=("fitted", "fixed"), required=True)
    a = p.parse_args()

    pin_threads()
    import converter.train as ct

    if a.schedule == "fixed":  # the end stays at --steps, as before 2026-11-28
        ct.Schedule.fit = lambda self, *args, **kwargs: None  # type: ignore[method-assign]
    about = {"variant": f"deadline-{a.schedule}", "init": a.init, "warp_share": WARP_SHARE}
    extra = pass_on(about, tuple(WARPED), "minutes", a.minutes)
    people_stage(a.out, a.init, a.steps, a.seed, about, extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
