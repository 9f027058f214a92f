"""Is the cheap layout what holds the detector back? The same network at twice the resolution.

The shipped layout pools conv1's output 4x4 at once, so from the first layer on the network
sees the 224-pixel face at 28x28: that is what made it train at 150 images/s here instead of 20
(converter/model.py). A self-blend's evidence is a blurred edge and a colour/sharpness step
between inside and outside the mask. `hires` (converter.layouts) pools conv1 only 2x2, so conv2
runs at 56x56, conv3/conv4 at 28 and the dilated layers at 14, pooled to the same 7x7x32 before
the dense layer: the same 649,537 parameters, about a third of the speed.

Two comparisons, each against the shipped layout under the very same arguments and seed:
- `--mode scratch`: the recipe's first stage (converter.recipe stage1: 3,000 steps from scratch,
  easy-to-hard curriculum), last checkpoint;
- `--mode warp`: the shipped model's last stage (people-stage arguments, --warp-share 0.7,
  2,000 steps) from the shipped float weights, which fit either layout (same shapes), best
  checkpoint by tune. For the cheap layout this is identity_warps.py's "warps again" row.
Measured by variants.measure like every row in docs/experiments.md.

Result (2026-11-27 evening, benchmarks/results/layout.json, docs/experiments.md "Resolution"): the
tune AUC rose in all four comparisons (+0.022 to +0.044), the reserved one moved by -0.012
to +0.020; both exports scored reserved 0.839 and 0.835 (shipped 0.853) with one reserved photo
over the threshold. Not shipped. With the two Debian sources' faces as well (--data
runs/data-more/faces, 2026-11-28, benchmarks/results/hires_more.json): reserved +0.009 over the
hires runs without them, exported 0.840 with the same reserved photo over the threshold.

    taskset -c 0 .venv/bin/python tools/experiments/layout.py --layout cheap --mode scratch \\
        --out runs/experiments/layout-cheap-s0 &
    taskset -c 1 .venv/bin/python tools/experiments/layout.py --layout hires --mode scratch \\
        --out runs/experiments/layout-hires-s0
    # the shipped run's last stage in the hires layout (0744's weights: see sam.py)
    .venv/bin/python tools/experiments/layout.py --mode warp --seed 2 \\
        --init runs/m0744/seed_cnn.keras --out runs/experiments/layout-hires-warp-s2
    # the same with libdlib19.1's and gramps' faces too (extra_faces.py --out runs/data-more)
    .venv/bin/python tools/experiments/layout.py --mode warp --seed 0 \\
        --init runs/m0744/seed_cnn.keras --data runs/data-more/faces \\
        --out runs/experiments/hires-more-s0
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from converter.recipe import WARPED  # noqa: E402  (after the path set-up)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--layout", default="hires", help="converter.layouts.LAYOUTS")
    p.add_argument("--mode", choices=["scratch", "warp"], default="scratch")
    # 2026.11.27.1344, shipped when these runs were made; since 2026-11-28 models/reference is
    # another model: git show 6fcf306:models/reference/seed_cnn.keras > runs/m1344/seed_cnn.keras
    p.add_argument("--init", default=str(ROOT / "runs/m1344/seed_cnn.keras"))
    p.add_argument("--steps", type=int, default=None, help="default: the stage's own")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", help="training faces in place of assets/faces/train (--mode warp)")
    a = p.parse_args()

    from variants import measure, pass_on, people_stage, pin_threads

    pin_threads()
    import keras

    import converter.train as ct
    from converter.recipe import commands

    about = {"variant": f"layout {a.layout}, {a.mode}", "layout": a.layout}
    if a.mode == "warp":
        about["init"] = a.init
        extra = pass_on(about, (*WARPED, "--layout", a.layout), "data", a.data)
        people_stage(a.out, a.init, a.steps or 2000, a.seed, about, extra)
        return 0
    stage1 = commands(ROOT / "runs", a.seed, 1, [], people_runs=1)[0]
    overrides = ["--out", str(a.out), "--quiet", "--layout", a.layout]
    if a.steps:
        overrides += ["--steps", str(a.steps)]
    t0 = time.time()
    state = ct.train(ct.parse_args([*stage1, *overrides]))
    result = about | {"seed": a.seed, "minutes": round((time.time() - t0) / 60, 1)}
    result["best_tune_auc"] = round(state["best_auc"], 4)
    for ckpt in ("last", "best"):
        model = keras.models.load_model(a.out / f"{ckpt}.keras", compile=False)
        result[ckpt] = measure(model)
    result["history"] = state["history"]
    (a.out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "history"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
