"""Does hiding who a face is from the network help it judge new people?

Where the shipped model errs (docs/experiments.md, "What we tried"): it scores the training people's
own real crops far lower (median 0.08) than a new person's (0.28-0.34), while the blends of both
score alike; it has learned what the training people look like when real. Dong et al. (CVPR 2023,
"Implicit Identity Leakage") measured the same in binary deepfake classifiers: they pick up
identity, and that hurts them on new people. Here an identity head learns to name each crop's
source file (the identity unit of the splits) from the penultimate features (dense1, 256),
detached, while the features are trained, with the head held fixed, to leave it guessing: the
cross-entropy of its prediction from the uniform distribution, weighted by --weight (a confusion
loss, Tzeng et al., ICCV 2015; gradient reversal, which maximises the head's loss instead, blew
the identity loss up to 26 within 100 steps here and doubled the real/fake loss). Training only:
the head is dropped, best.keras is the plain seed CNN.

The run is the recipe's people stage, seed 0, with the very batches of the recipe's run (the
source of each pair is read off the same seeded draw), plus the head. It is measured like the
other experiments (tools/experiments/variants.py measure: self-blends of the tune and the reserved
people, eval_set seed 1), against the recipe's seed-0 run (docs/experiments.md, "What we tried").

    .venv/bin/python tools/experiments/identity_adversary.py --weight 0.3 \
        --out runs/experiments/idadv-w0.3
    .venv/bin/python tools/experiments/identity_adversary.py --probe runs/people/best.keras
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))


def sources_at(faces, weights, seed: int, step: int, batch: int) -> np.ndarray:
    """The faces converter.train.step_batch draws at `step`: its first draw, replayed."""
    rng = np.random.default_rng([seed, step])
    return rng.choice(len(faces), batch // 2, p=weights).repeat(2)  # (real, fake) per face


def probe(checkpoint: Path, data: Path, steps: int = 40, seed: int = 5) -> dict:
    """How much of who a training crop is the penultimate features hold: a softmax regression
    (500 full-batch gradient steps on standardised features) fitted on the dense1 features of
    the first half of `steps` training batches (seed `seed`: not the run's), scored on the
    other half. Cross-entropy and accuracy naming the source file, against a uniform guess."""
    import keras

    from converter.data import load_faces
    from converter.train import BATCH, Ramp, source_weights, step_batch
    from deepfake_scanner.preprocess import normalise

    faces = load_faces(data, ROOT / ".cache")
    codes = np.unique(faces.sources, return_inverse=True)[1]
    k = int(codes.max()) + 1
    weights = source_weights(faces)
    model = keras.models.load_model(checkpoint, compile=False)
    features = keras.Model(model.input, model.get_layer("dense1").output)
    xs, ys = [], []
    for step in range(steps):
        x, _ = step_batch(faces, seed, step, BATCH, Ramp(0), weights)
        xs.append(features.predict_on_batch(normalise(x)))
        ys.append(codes[sources_at(faces, weights, seed, step, BATCH)])
    x, y = np.concatenate(xs), np.concatenate(ys)
    n = len(x) // 2
    z = (x - x[:n].mean(0)) / (x[:n].std(0) + 1e-6)
    w, b, onehot = np.zeros((z.shape[1], k)), np.zeros(k), np.eye(k)[y[:n]]

    def softmax(logits):
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    for _ in range(500):
        g = (softmax(z[:n] @ w + b) - onehot) / n
        w -= 0.5 * (z[:n].T @ g + 1e-3 * w)
        b -= 0.5 * g.sum(0)
    p = softmax(z[n:] @ w + b)
    ce = float(-np.log(np.clip(p[np.arange(len(p)), y[n:]], 1e-7, 1)).mean())
    return {
        "checkpoint": str(checkpoint),
        "sources": k,
        "held_out_crops": len(p),
        "cross_entropy": round(ce, 3),
        "uniform_cross_entropy": round(float(np.log(k)), 3),
        "accuracy": round(float((p.argmax(1) == y[n:]).mean()), 3),
    }


def main() -> int:
    import json

    from aux_stage import run_aux_stage, stage_parser

    p = stage_parser("confusion", 0.3, "idadv")
    p.add_argument(
        "--head-scale",
        type=float,
        default=1.0,
        help="the head sees its features times this (with Adam: its learning rate times this; "
        "above 1 its kernel starts at zero, so the confusion loss starts at nothing)",
    )
    p.add_argument(
        "--probe",
        type=Path,
        nargs="+",
        help="only measure how well these checkpoints' features name the source (no training)",
    )
    a = p.parse_args()
    if a.probe:
        for checkpoint in a.probe:
            print(json.dumps(probe(checkpoint, a.data)), flush=True)
        return 0

    import keras
    import tensorflow as tf

    from converter.train import BATCH, Ramp, step_batch

    class Confusion(keras.layers.Layer):
        """The identity head's probabilities with its weights held fixed: what the features
        are trained on (towards uniform), while the head itself only learns from the
        identity loss on detached features."""

        def __init__(self, head, **kwargs) -> None:
            super().__init__(**kwargs)
            self.head = head

        def call(self, x):
            kernel, bias = (tf.stop_gradient(w) for w in self.head.weights)
            return tf.nn.softmax(tf.matmul(x * a.head_scale, kernel) + bias)

    def to_uniform(_y_true, p):
        """Cross-entropy from the uniform distribution: least when the head cannot tell."""
        return -tf.reduce_mean(tf.math.log(p + 1e-7), axis=-1)

    def build(base, faces):
        codes = np.unique(faces.sources, return_inverse=True)[1]
        features = base.get_layer("dense1").output
        head = keras.layers.Dense(
            int(codes.max()) + 1,
            activation="softmax",
            kernel_initializer="glorot_uniform" if a.head_scale == 1 else "zeros",
            dtype="float32",
            name="identity",
        )
        detached = keras.layers.Lambda(lambda v: tf.stop_gradient(v) * a.head_scale, name="detach")(
            features
        )
        outputs = {
            "fake": base.output,
            "identity": head(detached),
            "confusion": Confusion(head, name="confusion")(features),
        }
        model = keras.Model(base.input, outputs)

        def batch(step, weights):
            x, y = step_batch(faces, a.seed, step, BATCH, Ramp(0), weights)
            ids = codes[sources_at(faces, weights, a.seed, step, BATCH)]
            return x, {"fake": y, "identity": ids, "confusion": ids}

        losses = {"identity": keras.losses.SparseCategoricalCrossentropy(), "confusion": to_uniform}
        return model, losses, {"identity": 1.0, "confusion": a.weight}, batch

    about = {"weight": a.weight, "head_scale": a.head_scale, "data": str(a.data)}
    run_aux_stage(a.out, a.init, a.steps, a.seed, a.data, build, about)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
