"""int8 fitted to the float model (quantisation-aware fine-tuning) against rounding alone.

    .venv/bin/python tools/experiments/int8_qat.py [--model models/reference]
    .venv/bin/python tools/experiments/int8_qat.py --checkpoint runs/x/best.keras --quantile 0.84

The int8 file is the float model's network (converter.convert.saved_model_converter: batch
norms folded, ReLUs fused, channels equalised) with its weights rounded to TFLite's int8 grid
and every activation rounded to 256 levels. Here that network is fine-tuned with both roundings
simulated in its forward pass (straight-through rounding: Jacob et al., CVPR 2018) so that its
int8 logit follows the float model's logit on training pairs; the float model, the parity
gate's reference, does not change. Simulated as TFLite quantizes: weights per output channel,
symmetric, step = the channel's largest |weight| / 127; each ReLU's output (fused into the
layer before it; max-pool and flatten keep its step) per tensor, 256 levels over [0, its
largest value on the calibration inputs], re-measured every 50 steps; the logit over its
calibrated [min, max]; input and biases left exact. At the end every weight is put on its grid.

Prints, per int8 file (weights rounded to nearest; by GPTQ, as converter.export rounds them;
fitted here with each --steps and --lr), the label flips against the float model and the mean
and max |score difference| on the tune people's (the gate's) and the reserved people's (batch
parity's) 1,200 self-blend crops, at the file's own rounding-point threshold; for the fitted
files also how closely the simulated int8 scores match the converted file's. The README
("Conversion and the parity gate") quotes the runs (benchmarks/results/int8_qat.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

from converter.gptq import LEVELS, grid_step  # noqa: E402

ACTIVATION_LEVELS = 255  # steps over an activation's range


def on_grid(kernel: np.ndarray) -> np.ndarray:
    """The kernel rounded to nearest on its int8 grid (converter.gptq.grid_step); the largest
    weight of each channel stays exactly as it is, so the converter derives the same step."""
    step = grid_step(kernel)
    return (np.clip(np.round(kernel / step), -LEVELS, LEVELS) * step).astype(np.float32)


def _round(x):
    """Rounds forward, passes the gradient through unchanged."""
    return x + ops.stop_gradient(ops.round(x) - x)


def _fake_weights(kernel):
    axes = tuple(range(len(kernel.shape) - 1))
    step = ops.stop_gradient(ops.max(ops.abs(kernel), axis=axes) / LEVELS)
    step = ops.where(step > 0, step, ops.ones_like(step))
    return ops.clip(_round(kernel / step), -LEVELS, LEVELS) * step


def _fake_activation(x, low: float, high: float):
    step = (high - low) / ACTIVATION_LEVELS
    zero = np.round(-low / step)
    return (ops.clip(_round(x / step) + zero, 0, ACTIVATION_LEVELS) - zero) * step


def _chain_layers(network: keras.Model) -> list[layers.Layer]:
    allowed = layers.Conv2D | layers.Dense | layers.ReLU | layers.MaxPooling2D | layers.Flatten
    chain = network.layers[1:]
    for layer in chain:
        if not isinstance(layer, allowed):
            raise ValueError(f"fit_int8 takes a chain of conv/dense/ReLU/pool layers, not {layer}")
        if isinstance(layer, layers.Conv2D) and tuple(layer.dilation_rate) != (1, 1):
            raise ValueError("dilated convolutions: run converter.model.int8_friendly first")
    return chain


def _forward(chain, x, ranges: list[tuple[float, float]] | None):
    """The network's logit with int8 simulated: weights rounded to their grids, activations
    rounded to `ranges` when given. Returns (logit, every quantized activation)."""
    found: list = []

    def activation(y):
        if ranges is not None:
            y = _fake_activation(y, *ranges[len(found)])
        found.append(y)
        return y

    for layer in chain:
        if isinstance(layer, layers.Conv2D | layers.Dense):
            kernel = _fake_weights(layer.kernel)
            if isinstance(layer, layers.Conv2D):
                x = ops.conv(x, kernel, strides=layer.strides, padding=layer.padding)
            else:
                x = ops.matmul(x, kernel)
            x = x + layer.bias
            if layer is chain[-1]:  # the output: the logit, whatever activation follows it
                return activation(x), found
            if layer.get_config()["activation"] == "relu":
                x = activation(ops.relu(x))
        elif isinstance(layer, layers.ReLU):
            x = activation(ops.relu(x))
        else:
            x = layer(x)
    raise ValueError("the chain must end in a convolution or dense layer")


def calibrate(chain, x: np.ndarray, batch: int = 32) -> list[tuple[float, float]]:
    """Each quantized activation's range over `x` as TFLite's calibration measures it: the float
    network run on the calibration inputs, min and max, with 0 inside. The weights are taken on
    their grids, where fit_int8 leaves them."""
    low: list[float] = []
    high: list[float] = []
    for i in range(0, len(x), batch):
        _, acts = _forward(chain, ops.convert_to_tensor(x[i : i + batch]), None)
        lo = [float(ops.min(a)) for a in acts]
        hi = [float(ops.max(a)) for a in acts]
        low = lo if not low else [min(a, b) for a, b in zip(low, lo, strict=True)]
        high = hi if not high else [max(a, b) for a, b in zip(high, hi, strict=True)]
    return [(min(lo, 0.0), max(hi, 0.0)) for lo, hi in zip(low, high, strict=True)]


def int8_logits(network: keras.Model, x: np.ndarray, calibration: np.ndarray) -> np.ndarray:
    """The logits the int8 file would give, simulated (calibrated on `calibration`)."""
    chain = _chain_layers(network)
    ranges = calibrate(chain, calibration)
    out = [_forward(chain, x[i : i + 32], ranges)[0] for i in range(0, len(x), 32)]
    return np.concatenate([np.asarray(o).reshape(-1) for o in out])


def fit_int8(
    network: keras.Model,
    x: np.ndarray,
    target: np.ndarray,
    calibration: np.ndarray,
    steps: int = 300,
    batch: int = 32,
    learning_rate: float = 3e-6,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> keras.Model:
    """A copy of `network` (a chain as converter.model.equalise_ranges returns it) fine-tuned so
    that its simulated int8 logit follows `target` (the float model's logits) on inputs `x`
    (normalised, as the network takes them), with its weights then put on their int8 grids.
    `calibration`: the int8 calibration inputs; activation ranges are re-measured on them every
    50 steps, as the converter will measure them at the end."""
    import tensorflow as tf

    fitted = keras.models.clone_model(network)
    fitted.set_weights(network.get_weights())
    chain = _chain_layers(fitted)
    variables = [v for layer in chain for v in layer.trainable_weights]
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    optimizer = keras.optimizers.Adam(schedule)
    optimizer.build(variables)
    rng = np.random.default_rng(seed)
    target = np.asarray(target, np.float32).reshape(-1)
    ranges = calibrate(chain, calibration)
    first = last = None
    for step in range(steps):
        if step and step % 50 == 0:
            ranges = calibrate(chain, calibration)
        pick = rng.choice(len(x), batch, replace=False)
        xb, tb = tf.constant(x[pick]), tf.constant(target[pick])
        with tf.GradientTape() as tape:
            logit, _ = _forward(chain, xb, ranges)
            loss = ops.mean(ops.square(ops.reshape(logit, (-1,)) - tb))
        optimizer.apply(tape.gradient(loss, variables), variables)
        value = float(loss)
        first = value if first is None else first
        last = value if last is None else 0.9 * last + 0.1 * value
        if step % 100 == 0 or step == steps - 1:
            log(f"int8 fit: step {step + 1}/{steps}, squared logit error {last:.5f}")
    for layer in chain:
        if isinstance(layer, layers.Conv2D | layers.Dense):
            kernel, *rest = layer.get_weights()
            layer.set_weights([on_grid(kernel), *rest])
    log(f"int8 fit: squared logit error {first:.5f} -> {last:.5f} over {steps} steps")
    return fitted


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=ROOT / "models" / "reference")
    p.add_argument("--checkpoint", type=Path, help="instead of --model's float file")
    p.add_argument("--quantile", type=float, help="the threshold quantile (with --checkpoint)")
    p.add_argument("--pairs", type=int, default=1000, help="training pairs to fit on")
    p.add_argument("--steps", type=int, nargs="+", default=[300])
    p.add_argument("--lr", type=float, nargs="+", default=[3e-6])
    a = p.parse_args()
    from int8_sets import file_row, parity_sets

    import converter.model
    from converter.convert import logit_model, to_tflite
    from converter.data import load_faces
    from converter.export import representative
    from converter.train import make_batch, predict
    from deepfake_scanner.preprocess import normalise

    if a.checkpoint:
        path, quantile = a.checkpoint, a.quantile
    else:
        meta = json.loads((a.model / "metadata.json").read_text())
        path = a.model / meta["files"]["keras"]["path"]
        quantile = meta.get("threshold_quantile", meta["threshold"])
    model = converter.model.float32_copy(keras.models.load_model(path, compile=False))
    cache = ROOT / ".cache"
    train = load_faces(ROOT / "assets" / "faces" / "train", cache)
    calib = list(representative(train, 200, 0))
    pool, _ = make_batch(train, np.random.default_rng(7), 2 * a.pairs, 1.0)
    pool = normalise(pool)
    target = predict(logit_model(model), pool, to_input=lambda v: v)
    sets = parity_sets(model)

    cm: Any = converter.model  # patched: converter.convert looks equalise_ranges up in it
    equalise = cm.equalise_ranges
    fitted: dict[str, Any] = {}

    def equalise_then_fit(network, x, power=0.5, steps=400, lr=1e-5):
        network = equalise(network, x, power)
        fitted["net"] = fit_int8(network, pool, target, x, steps=steps, learning_rate=lr)
        return fitted["net"]

    blobs = {
        "weights rounded to nearest": (to_tflite(model, "int8", calib, gptq_rows=0), None),
        "weights rounded by GPTQ (make model-report)": (to_tflite(model, "int8", calib), None),
    }
    for steps in a.steps:
        for lr in a.lr:
            try:
                cm.equalise_ranges = lambda n, x, power=0.5, s=steps, r=lr: equalise_then_fit(
                    n, x, power, s, r
                )
                blob = to_tflite(model, "int8", calib, gptq_rows=0)
            finally:
                cm.equalise_ranges = equalise
            blobs[f"fitted, {steps} steps, lr {lr}"] = (blob, fitted["net"])
    calib_x = np.concatenate(calib)
    for name, (blob, net) in blobs.items():
        row, scores = file_row(name, blob, quantile, sets)
        if net is not None:  # how closely the simulation follows the converted file
            for set_name, (xn, _, _) in sets.items():
                sim = 1 / (1 + np.exp(-int8_logits(net, xn, calib_x)))
                row[set_name]["simulated_vs_file_mean_abs"] = round(
                    float(np.abs(sim - scores[set_name]).mean()), 5
                )
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
