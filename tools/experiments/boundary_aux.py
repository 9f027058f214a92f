"""Does supervising where the blend is help the seed CNN generalise to new people?

Face X-ray (Li et al., CVPR 2020) trains on real faces only, like self-blending, but also asks
the network for the blending boundary (4 m (1 - m) of the blend weight m, zero on reals): a dense
target that names the evidence instead of leaving the network to find it, which the paper credits
for generalising to unseen manipulations. Here that is an auxiliary head during training only: a
1x1 convolution with a sigmoid on relu3 (14 x 14 x 48), with a pixel-wise cross-entropy weighted
by --weight. The served model is unchanged (the head is dropped; best.keras is the plain seed CNN).

The run is the recipe's people stage, seed 0, exactly (same start, runs/reference/best.keras, same
arguments, the same batches in the same order: the masks are framed with a copy of each pair's
random state, so the recipe's draws are untouched), plus the head. It is measured like the other
experiments (tools/experiments/variants.py measure: self-blends of the tune and the reserved people,
eval_set seed 1), against the recipe's seed-0 run (docs/experiments.md, "What we tried").

    .venv/bin/python tools/experiments/boundary_aux.py --weight 10 --out runs/experiments/boundary
"""

from __future__ import annotations

import copy
import sys
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
    from aux_stage import run_aux_stage, stage_parser

    p = stage_parser("boundary", 10.0, "boundary")
    a = p.parse_args()

    import keras

    from converter.train import BATCH, Ramp

    ramp = Ramp(0)  # the people stage: --curriculum 0

    def build(base, faces):
        head = keras.layers.Conv2D(1, 1, activation="sigmoid", dtype="float32", name="boundary")
        model = keras.Model(
            base.input, {"fake": base.output, "boundary": head(base.get_layer("relu3").output)}
        )

        def batch(step, weights):
            x, y, b = batch_at(faces, weights, a.seed, step, BATCH, ramp(step))
            return x, {"fake": y, "boundary": b}

        losses = {"boundary": keras.losses.BinaryCrossentropy()}
        return model, losses, {"boundary": a.weight}, batch

    run_aux_stage(a.out, a.init, a.steps, a.seed, a.data, build, {"weight": a.weight})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
