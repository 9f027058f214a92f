"""int8 weights rounded by their effect on each layer's output (GPTQ), not to nearest.

Most of the int8 file's score error was the rounding of its weights (README, "Conversion and the
parity gate": rounded alone, with float activations, they gave three quarters of it). GPTQ
(Frantar et al., ICLR 2023; after Optimal Brain Quantization) rounds a layer's weights one input
at a time and spreads each rounding error over the inputs not yet rounded, weighted by the
inverse of X^T X of the layer's inputs over calibration data, so the layer's outputs move least.
Layers are rounded in order, each on the inputs the layers before it (already rounded) give.
Every weight lands on TFLite's own grid (per output channel, symmetric, 127 steps a side, each
channel's largest weight kept so the step stays), so the converter keeps them as they are.
"""

from __future__ import annotations

import numpy as np

LEVELS = 127  # int8 weight steps each side of zero
DAMP = 0.01  # added to X^T X's diagonal, as a share of its mean (the paper's 1 %)


def grid_step(kernel: np.ndarray) -> np.ndarray:
    """TFLite's per-output-channel int8 weight step (output channels last)."""
    step = np.abs(kernel.reshape(-1, kernel.shape[-1])).max(axis=0) / LEVELS
    step[step == 0] = 1
    return step


def input_gram(layer, inputs: np.ndarray) -> np.ndarray:
    """X^T X of the rows a layer multiplies by its kernel: patches for a convolution (in the
    kernel's (row, column, channel) order, as its reshaped kernel takes them)."""
    import tensorflow as tf

    config = layer.get_config()
    if "kernel_size" not in config:
        rows = inputs.reshape(len(inputs), -1).astype(np.float64)
        return rows.T @ rows
    (kh, kw), (sh, sw) = config["kernel_size"], config["strides"]
    if tuple(config["dilation_rate"]) != (1, 1) or config.get("groups", 1) != 1:
        raise ValueError(f"{layer.name}: GPTQ here takes undilated, ungrouped convolutions")
    gram = np.zeros((kh * kw * inputs.shape[-1],) * 2)
    padding = config["padding"].upper()
    for i in range(0, len(inputs), 8):
        patches = tf.image.extract_patches(
            inputs[i : i + 8], [1, kh, kw, 1], [1, sh, sw, 1], [1, 1, 1, 1], padding
        ).numpy()
        rows = patches.reshape(-1, patches.shape[-1]).astype(np.float64)
        gram = gram + rows.T @ rows
    return gram


def gptq(kernel: np.ndarray, gram: np.ndarray, damp: float = DAMP) -> np.ndarray:
    """`kernel` (inputs..., output channels) rounded to its int8 grid, input by input, each
    rounding error spread over the inputs after it by the inverse of `gram` (X^T X)."""
    shape = kernel.shape
    w = kernel.reshape(-1, shape[-1]).astype(np.float64).copy()  # (inputs, output channels)
    step = grid_step(kernel).astype(np.float64)
    largest = np.abs(w).argmax(axis=0)  # kept as it is: it sets the channel's step
    channels = np.arange(w.shape[1])
    dead = np.diag(gram) == 0  # an input that is always 0 over the data: its weight is moot
    gram = gram.copy()
    gram[dead, dead] = 1
    w[dead] = 0
    w[largest, channels] = kernel.reshape(-1, shape[-1])[largest, channels]
    gram += damp * np.mean(np.diag(gram)) * np.eye(len(gram))
    upper = np.linalg.cholesky(np.linalg.inv(gram)).T
    for i in range(w.shape[0]):
        rounded = np.clip(np.round(w[i] / step), -LEVELS, LEVELS) * step
        error = (w[i] - rounded) / upper[i, i]
        w[i] = rounded
        kept = w[largest, channels].copy()
        w[i + 1 :] -= np.outer(upper[i, i + 1 :], error)
        later = largest > i
        w[largest[later], channels[later]] = kept[later]
    return w.reshape(shape).astype(np.float32)


def round_weights(network, x: np.ndarray, rows: int = 400):
    """A copy of `network` (a chain as converter.model.equalise_ranges returns it) with every
    kernel rounded by GPTQ on the first `rows` of `x` (inputs as the network takes them: the
    int8 calibration inputs); biases stay float (int8 files keep them in int32)."""
    import keras

    rounded = keras.models.clone_model(network)
    rounded.set_weights(network.get_weights())
    x = x[:rows]
    for layer in rounded.layers:
        if not isinstance(layer, keras.layers.Conv2D | keras.layers.Dense):
            continue
        inputs = keras.Model(rounded.input, layer.input).predict(x, verbose=0, batch_size=16)
        kernel, *rest = layer.get_weights()
        layer.set_weights([gptq(kernel, input_gram(layer, inputs)), *rest])
    return rounded
