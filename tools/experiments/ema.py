"""A moving average of the weights (converter.train --ema) against the weights themselves, in
one run.

An exponential moving average of the weights along a run (Polyak averaging; the "EMA" of many
image classifiers' recipes) sits nearer the middle of the low-loss region the last steps wander
in, which is the same bet as SAM ("Flat minima") and weight soups ("Seeds"), but costs no extra
step and no extra run. The average does not change the steps: batches are seeded by step and the
average only reads the weights, so the run's own weights follow the very same path as the
run without --ema, and converter.train keeps the best of each by tune AUC (best.keras: the
average; best_raw.keras: the weights themselves). Both are measured here by variants.measure,
so the comparison is within one run.

Each run is the recipe's warp stage (people-stage arguments, --warp-share 0.7, 2,000 steps from
`2026.11.27.0744`), optionally taught (--teachers, --distill) like the shipped model's stage.

    mkdir -p runs/m0744 && git show 554c55d:models/reference/seed_cnn.keras \\
        > runs/m0744/seed_cnn.keras
    taskset -c 0 .venv/bin/python tools/experiments/ema.py --seed 2 --decay 0.998 \\
        --out runs/experiments/ema-s2
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import measure, pass_on, people_stage, pin_threads, stage_parser, taught  # noqa: E402  (after the path set-up)

from converter.recipe import WARP_SHARE, WARPED  # noqa: E402  (after the path set-up)


def main() -> int:
    p = stage_parser(ROOT / "runs/m0744/seed_cnn.keras")
    p.add_argument("--decay", type=float, default=0.998, help="converter.train --ema")
    p.add_argument("--teachers", nargs="*", default=None)
    p.add_argument("--alpha", type=float, default=0.5, help="converter.train --distill")
    a = p.parse_args()

    pin_threads()
    import keras

    about = {"variant": "ema", "init": a.init, "warp_share": WARP_SHARE}
    extra = pass_on(about, tuple(WARPED), "ema", a.decay)
    extra = taught(about, extra, a.teachers, a.alpha)
    result = people_stage(a.out, a.init, a.steps, a.seed, about, extra)
    raw = keras.models.load_model(a.out / "best_raw.keras", compile=False)
    state = json.loads((a.out / "state.json").read_text())
    result["raw"] = {"best_tune_auc": round(state["best_raw_auc"], 4), **measure(raw)}
    (a.out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({"raw": result["raw"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
