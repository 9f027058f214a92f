"""Does supervising where the blend is help the seed CNN generalise to new people?

Face X-ray (Li et al., CVPR 2020) trains on real faces only, like self-blending, but also asks
the network for the blending boundary (4 m (1 - m) of the blend weight m, zero on reals): a dense
target that names the evidence instead of leaving the network to find it, which the paper credits
for generalising to unseen manipulations. Here that is an auxiliary head during training only: a
1x1 convolution with a sigmoid on relu3 (14 x 14 x 48), with a pixel-wise cross-entropy weighted
by --weight. The served model is unchanged (the head is dropped; best.keras is the plain seed CNN).

The run is the recipe's people stage, seed 0, exactly (same start, runs/reference/best.keras,
same arguments, the same batches in the same order: the masks are framed with a copy of each
pair's random state, so the recipe's draws are untouched), plus the head. It is measured like the
other experiments (tools/experiments/variants.py measure: self-blends of the tune and the
reserved people, eval_set seed 1), against the recipe's seed-0 run (README, "What we tried").

    .venv/bin/python tools/experiments/boundary_aux.py --weight 10 --out runs/experiments/boundary
"""

from __future__ import annotations

import argparse
import copy
import json
import queue
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

AUX = 14  # relu3's side


def pair_with_boundary(context, keypoints, rng, difficulty):
    """converter.selfblend.make_pair, with the fake's boundary map at AUX x AUX."""
    import cv2

    from converter.data import MARGIN_RATIO
    from converter.selfblend import blend_and_mask, camera, delivery, frame
    from deepfake_scanner.preprocess import SPEC

    base = camera(context, rng)
    fake, m = blend_and_mask(base, keypoints, rng, difficulty)
    real = delivery(frame(base, keypoints, SPEC.size, MARGIN_RATIO, rng), rng)
    same = copy.deepcopy(rng)  # the fake's framing draws, replayed for its mask
    fake = delivery(frame(fake, keypoints, SPEC.size, MARGIN_RATIO, rng), rng)
    m = frame(m, keypoints, SPEC.size, MARGIN_RATIO, same)
    boundary = cv2.resize(4 * m * (1 - m), (AUX, AUX), interpolation=cv2.INTER_AREA)
    return real, fake, boundary


def batch_at(faces, weights, seed, step, batch, difficulty):
    """converter.train.step_batch's batch, with boundary targets."""
    rng = np.random.default_rng([seed, step])
    xs, ys, bs = [], [], []
    for i in rng.choice(len(faces), batch // 2, p=weights):
        real, fake, b = pair_with_boundary(faces.crops[i], faces.keypoints[i], rng, difficulty)
        xs += [real, fake]
        ys += [0.0, 1.0]
        bs += [np.zeros((AUX, AUX), np.float32), b]
    return np.stack(xs), np.array(ys, np.float32), np.stack(bs)[..., None]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--weight", type=float, default=10.0, help="weight of the boundary loss")
    p.add_argument("--out", type=Path, default=ROOT / "runs/experiments/boundary")
    p.add_argument("--init", type=Path, default=ROOT / "runs/reference/best.keras")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    import keras
    from variants import measure

    from converter.data import load_faces
    from converter.metrics import auc
    from converter.train import (
        BATCH,
        WARMUP,
        WEIGHT_DECAY,
        Ramp,
        eval_set,
        predict,
        source_weights,
    )
    from deepfake_scanner.preprocess import normalise

    keras.utils.set_random_seed(a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    faces = load_faces(ROOT / "assets/faces/train", ROOT / ".cache")
    tune = load_faces(ROOT / "assets/faces/tune", ROOT / ".cache")
    x_val, y_val = eval_set(tune, 600, 1)  # the recipe's --val-seed 1
    weights, ramp = source_weights(faces), Ramp(0)  # the people stage: --curriculum 0

    base = keras.models.load_model(a.init, compile=False)
    head = keras.layers.Conv2D(1, 1, activation="sigmoid", dtype="float32", name="boundary")
    model = keras.Model(
        base.input, {"fake": base.output, "boundary": head(base.get_layer("relu3").output)}
    )
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=a.steps - WARMUP, warmup_target=5e-4, warmup_steps=WARMUP
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=WEIGHT_DECAY, clipnorm=1.0),
        loss={
            "fake": keras.losses.BinaryCrossentropy(label_smoothing=0.1),
            "boundary": keras.losses.BinaryCrossentropy(),
        },
        loss_weights={"fake": 1.0, "boundary": a.weight},
    )

    ready: queue.Queue = queue.Queue(maxsize=3)

    def produce() -> None:
        for step in range(a.steps):
            x, y, b = batch_at(faces, weights, a.seed, step, BATCH, ramp(step))
            ready.put((normalise(x), y, b))

    threading.Thread(target=produce, daemon=True).start()
    history, best, t0 = [], -1.0, time.time()
    for step in range(1, a.steps + 1):
        x, y, b = ready.get()
        logs = model.train_on_batch(x, {"fake": y, "boundary": b}, return_dict=True)
        if step % 250 == 0 or step == a.steps:
            val = auc(y_val, predict(base, x_val))
            entry = {
                "step": step,
                "val_auc": round(val, 4),
                "minutes": round((time.time() - t0) / 60, 1),
            }
            entry |= {k: round(float(v), 4) for k, v in logs.items()}
            history.append(entry)
            print(json.dumps(entry), flush=True)
            if val > best:
                best = val
                base.save(a.out / "best.keras")
    chosen = keras.models.load_model(a.out / "best.keras", compile=False)
    result = {"weight": a.weight, "seed": a.seed, "best_tune_auc": round(best, 4)}
    result |= measure(chosen) | {"history": history}
    (a.out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "history"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
