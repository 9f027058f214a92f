"""Do mixed feature statistics (MixStyle) help the seed CNN on new people?

The network separates the blends of its training people from their reals far better (AUC 0.97) than
a new person's (0.85), and a new person's plain reals score higher (docs/experiments.md, "Which
blends it misses"). MixStyle (Zhou et al., ICLR 2021) is a training-only regulariser made for
generalising to domains not seen in training (person re-identification across cameras among them):
in shallow layers it replaces each sample's per-channel feature mean and standard deviation, with
probability p, by a random mix of its own and another sample's, so the "style" of a person or a
camera stops being something the network can lean on. A blend's evidence is local (an edge, a colour
or sharpness step between inside and outside the mask); a per-channel affine change of a whole
feature map keeps it.

Here after relu1 and relu2 (the cheap layout's 28x28x64 maps), p 0.5, mixing weights drawn
from Beta(0.1, 0.1), the statistics held out of the gradient (as in the paper). Identity at
inference: the saved checkpoints are the plain seed CNN (the layers have no weights). Each run
is the shipped model's last stage (the people-stage arguments with --warp-share 0.7, 2,000
steps from `2026.11.27.0744`'s weights), so it is compared with identity_warps.py's warp run of
the same seed, which drew the very same batches; measured by variants.measure.

Result (2026-11-27 22:24-23:31 UTC, benchmarks/results/mixstyle.json, docs/experiments.md "Mixed
feature statistics"): seeds 0 / 1 / 2 scored tune 0.820 / 0.811 / 0.817 against 0.805 / 0.794 /
0.813 for their twins (+0.012 on average) and reserved 0.835 / 0.808 / 0.836 against 0.824 / 0.824 /
0.835 (-0.001); mixing after relu1-relu4 in every batch (seed 2): tune 0.816, reserved 0.840. The
tune set rose in every seed, the reserved set did not: not adopted.

    git show 554c55d:models/reference/seed_cnn.keras > runs/m0744/seed_cnn.keras
    taskset -c 0 .venv/bin/python tools/experiments/mixstyle.py --seed 2 \\
        --out runs/experiments/mixstyle-s2 &
    taskset -c 1 .venv/bin/python tools/experiments/mixstyle.py --seed 0 \\
        --out runs/experiments/mixstyle-s0
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import people_stage, pin_threads, stage_parser  # noqa: E402  (after the path set-up)

from converter.recipe import WARP_SHARE, WARPED  # noqa: E402  (after the path set-up)

AFTER = ("relu1", "relu2")  # the shallow layers whose outputs are mixed
P, ALPHA, EPS = 0.5, 0.1, 1e-6


def mixstyle_layer(keras, p: float, alpha: float):
    """A Keras layer: with probability p (per batch) each sample's per-channel mean and standard
    deviation over the map become a Beta(alpha, alpha) mix of its own and a random other
    sample's; the identity outside training."""
    ops = keras.ops

    class MixStyle(keras.layers.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.seeds = keras.random.SeedGenerator(0)

        def call(self, x, training=None):
            if not training:
                return x
            mu = ops.stop_gradient(ops.mean(x, axis=(1, 2), keepdims=True))
            sig = ops.stop_gradient(ops.sqrt(ops.var(x, axis=(1, 2), keepdims=True) + EPS))
            n = ops.shape(x)[0]
            lam = keras.random.beta((n, 1, 1, 1), alpha, alpha, seed=self.seeds)
            perm = keras.random.shuffle(ops.arange(n), seed=self.seeds)
            mu2, sig2 = ops.take(mu, perm, axis=0), ops.take(sig, perm, axis=0)
            mixed = (x - mu) / sig * (lam * sig + (1 - lam) * sig2) + lam * mu + (1 - lam) * mu2
            on = keras.random.uniform((), seed=self.seeds) < p
            return ops.where(on, mixed, x)

    return MixStyle


def with_mixstyle(plain, keras, after=AFTER, p: float = P, alpha: float = ALPHA):
    """A model that runs `plain`'s own layers (the same weights) with MixStyle after the named
    layers; saving it saves `plain`, so every checkpoint is the served network."""
    layer = mixstyle_layer(keras, p, alpha)
    x = inputs = keras.Input(plain.input.shape[1:], name="image")
    for lay in plain.layers[1:]:  # the seed CNN is a chain (converter.model)
        x = lay(x)
        if lay.name in after:
            x = layer(name=f"mixstyle_{lay.name}")(x)
    model = keras.Model(inputs, x)
    model.save, model.set_weights = plain.save, plain.set_weights
    return model


def main() -> int:
    p = stage_parser(ROOT / "runs/m0744/seed_cnn.keras")
    p.add_argument("--p", type=float, default=P, help="the share of batches mixed")
    p.add_argument("--after", nargs="+", default=list(AFTER), help="layers whose outputs are mixed")
    a = p.parse_args()

    pin_threads()
    import keras

    import converter.train as ct

    build = ct.build_training_model

    def build_with_mixstyle(args, keras_):
        plain = build(args, keras_)
        model = with_mixstyle(plain, keras_, a.after, a.p)
        model.compile(optimizer=plain.optimizer, loss=plain.loss, jit_compile=False)
        return model

    ct.build_training_model = build_with_mixstyle
    if keras.backend.backend() != "tensorflow":  # the runs compared ran on TensorFlow
        raise SystemExit(f"run on TensorFlow (KERAS_BACKEND), not {keras.backend.backend()}")
    about = {"variant": f"MixStyle after {', '.join(a.after)}, p {a.p}", "init": a.init}
    about["warp_share"] = WARP_SHARE
    people_stage(a.out, a.init, a.steps, a.seed, about, tuple(WARPED))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
