"""The seed CNN, made cheap enough to train on two CPU cores (FINDINGS.md, "Training").

What the seed app described, and how each choice follows it:
- 224x224x3 input, sigmoid real/fake output, dropout 0.5: as described.
- first convolutions 5x5 with 64 filters followed by max-pooling: conv1 and conv2 are 5x5/64,
  each followed by max-pooling. The liberties are in strides and pool sizes, which the seed's
  description leaves open: conv1 has stride 2 and is pooled 4x4 straight away (before batch
  norm and ReLU, which gives the same result when the BN scale is positive). On this 2-core
  machine (no AMX, no bfloat16) the stride-1 layout trained at 20 images/s and this one at
  150 (benchmarked with random batches of 32, float32, Keras 3 on TensorFlow, no XLA).
  This is converter.layouts' "cheap" layout, the default; "hires" pools conv1 2x2 instead.
- later layers with fewer filters: 48, then 32.
- dilation rate 2 in the last three convolutions: conv6..conv8.
- 10 layers: 8 convolutions + 2 dense; about 650k parameters (the seed had about 653k).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from deepfake_scanner.preprocess import SPEC

from .layouts import DEFAULT, LAYOUTS

DENSE = 256
DROPOUT = 0.5
BN_MOMENTUM = 0.95  # slower statistics made eval-mode AUC lag (FINDINGS.md)


def build_model(
    dtype_policy: str = "float32", name: str = "seed_cnn", layout: str = DEFAULT
) -> keras.Model:
    """The classifier. `mixed_bfloat16` for training on CPUs with AMX; the last layer stays
    float32 because a bfloat16 sigmoid saturates at 1.0 and makes ties. `layout`: a name in
    converter.layouts.LAYOUTS (where the face is pooled; the weights' shapes are the same)."""
    policy = keras.mixed_precision.Policy(dtype_policy)
    inputs = keras.Input((SPEC.size, SPEC.size, 3), name="image")
    x = inputs
    for i, (filters, kernel, stride, dilation, pool) in enumerate(LAYOUTS[layout], start=1):
        x = layers.Conv2D(
            filters,
            kernel,
            strides=stride,
            padding="same",
            dilation_rate=dilation,
            use_bias=False,
            kernel_initializer="he_normal",
            dtype=policy,
            name=f"conv{i}",
        )(x)
        if i == 1:  # pool first: BN+ReLU on 224x224x64 is the expensive part
            x = layers.MaxPooling2D(pool, dtype=policy, name=f"pool{i}")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, dtype=policy, name=f"bn{i}")(x)
        x = layers.ReLU(dtype=policy, name=f"relu{i}")(x)
        if pool and i > 1:
            x = layers.MaxPooling2D(pool, dtype=policy, name=f"pool{i}")(x)
    x = layers.Flatten(dtype=policy, name="flatten")(x)
    x = layers.Dense(
        DENSE, activation="relu", kernel_initializer="he_normal", dtype=policy, name="dense1"
    )(x)
    x = layers.Dropout(DROPOUT, dtype=policy, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32", name="fake")(x)
    return keras.Model(inputs, outputs, name=name)


def layout_of(model: keras.Model) -> str | None:
    """The name in converter.layouts.LAYOUTS of the network `model` is (its convolutions and
    its pools, in order), or None for another network."""
    convs = [
        (la.filters, la.kernel_size[0], la.strides[0], la.dilation_rate[0])
        for la in model.layers
        if isinstance(la, layers.Conv2D)
    ]
    pools = [la.pool_size[0] for la in model.layers if isinstance(la, layers.MaxPooling2D)]
    for name, layout in LAYOUTS.items():
        if convs == [c[:4] for c in layout] and pools == [c[4] for c in layout if c[4]]:
            return name
    return None


def float32_copy(model: keras.Model) -> keras.Model:
    """The same network and weights, all float32: what is saved, converted and served.

    Rebuilt from the model's own config, not from build_model(): a checkpoint of another
    layout (converter.layouts) has the same weight shapes, so set_weights on
    build_model()'s network would take its weights silently and compute something else."""
    config = model.get_config()
    for layer in config["layers"]:
        if "dtype" in layer["config"]:
            layer["config"]["dtype"] = "float32"
    clone = keras.Model.from_config(config)
    clone.set_weights([w.astype("float32") for w in model.get_weights()])
    return clone


def fold_batch_norm(model: keras.Model) -> keras.Model:
    """An inference copy of a chain model with each batch norm folded into the convolution
    before it (kernel * gamma/sigma, bias beta - mu * gamma/sigma) and dropout left out.

    TFLite folds conv + BN itself, but not across a max-pool (conv1 -> pool1 -> bn1) nor
    across the SpaceToBatch/BatchToSpace pair a dilated convolution becomes (conv6..conv8):
    there it kept a MUL and an ADD, and in int8 each is one more rounding step. A BN after a
    max-pool folds only when every channel's scale is positive (max commutes with a positive
    affine map); otherwise that BN is kept as it is."""
    x = inputs = keras.Input(model.input.shape[1:], name=model.input.name)
    weights: list[tuple[layers.Layer, list]] = []
    conv: int | None = None  # index in `weights` of a linear convolution a BN may fold into
    pooled = False  # a max-pool sits between that convolution and here
    for layer in model.layers[1:]:
        if isinstance(layer, layers.Dropout):
            continue
        if isinstance(layer, layers.BatchNormalization) and conv is not None:
            gamma, beta, mean, var = layer.get_weights()
            scale = gamma / np.sqrt(var + layer.epsilon)
            if not pooled or (scale > 0).all():
                new_conv, (kernel, bias) = weights[conv]
                weights[conv] = (new_conv, [kernel * scale, (bias - mean) * scale + beta])
                continue
        if isinstance(layer, layers.Conv2D):
            new = layers.Conv2D.from_config({**layer.get_config(), "use_bias": True})
            kernel, *rest = layer.get_weights()
            bias = rest[0] if rest else np.zeros(kernel.shape[-1], kernel.dtype)
            x = new(x)
            weights.append((new, [kernel, bias]))
            linear = layer.get_config().get("activation") == "linear"
            conv, pooled = (len(weights) - 1 if linear else None), False  # BN after ReLU: no fold
            continue
        new = layer.__class__.from_config(layer.get_config())
        x = new(x)
        if layer.get_weights():
            weights.append((new, layer.get_weights()))
        if isinstance(layer, layers.MaxPooling2D):
            pooled = True
        else:
            conv = None  # anything else between a conv and a BN: no folding
    folded = keras.Model(inputs, x, name=f"{model.name}_folded")
    for new, w in weights:
        new.set_weights(w)
    return folded


def _chain(name: str, input_shape, steps: list[tuple[layers.Layer, list]]) -> keras.Model:
    """A chain model from (new layer, its weights or []) in order."""
    x = inputs = keras.Input(input_shape, name="image")
    for layer, _ in steps:
        x = layer(x)
    chain = keras.Model(inputs, x, name=name)
    for layer, w in steps:
        if w:
            layer.set_weights(w)
    return chain


def _copy(layer: layers.Layer, **config) -> layers.Layer:
    return layer.__class__.from_config({**layer.get_config(), **config})


def int8_friendly(
    model: keras.Model, relu_first: bool = True, undilate: bool = True
) -> keras.Model:
    """The folded chain (fold_batch_norm) rewritten, with the same float output, so that TFLite
    keeps fewer and narrower int8 tensors:
    - a ReLU right after a max-pool moves before it (max and ReLU commute), so the converter
      fuses it into the convolution and conv1's output is quantized over [0, max], not over
      [min, max] (about 2.4 times finer steps for the seed CNN);
    - a dilated convolution becomes the equivalent undilated one (its kernel spread out with
      zeros), so no SpaceToBatch/BatchToSpace pair sits between it and its ReLU and the ReLU
      fuses too. On the 7x7 maps of conv6..conv8 that costs 2.4 M more multiply-adds (1.5%).
    The flags turn either off (tools/experiments/int8_ranges.py measures each)."""
    folded = fold_batch_norm(model)
    todo = folded.layers[1:]
    steps: list[tuple[layers.Layer, list]] = []
    i = 0
    while i < len(todo):
        layer = todo[i]
        after = todo[i + 1] if i + 1 < len(todo) else None
        if relu_first and isinstance(layer, layers.MaxPooling2D) and isinstance(after, layers.ReLU):
            steps += [(_copy(after), []), (_copy(layer), [])]
            i += 2
            continue
        config = layer.get_config()
        dilation = tuple(config.get("dilation_rate", (1, 1)))
        if undilate and isinstance(layer, layers.Conv2D) and dilation != (1, 1):
            kernel, *rest = layer.get_weights()
            size = [(k - 1) * d + 1 for k, d in zip(kernel.shape[:2], dilation, strict=True)]
            spread = np.zeros((*size, *kernel.shape[2:]), kernel.dtype)
            spread[:: dilation[0], :: dilation[1]] = kernel
            new = _copy(layer, kernel_size=tuple(size), dilation_rate=(1, 1))
            steps.append((new, [spread, *rest]))
        else:
            steps.append((_copy(layer), layer.get_weights()))
        i += 1
    return _chain(folded.name, folded.input.shape[1:], steps)


def _equalisable(model: keras.Model) -> bool:
    """Whether every hidden layer commutes with a positive per-channel scale."""
    hidden = model.layers[1:-1]
    for layer, after in zip(hidden, model.layers[2:], strict=True):
        if isinstance(layer, layers.Conv2D | layers.Dense):
            activation = layer.get_config()["activation"]
            relu_next = activation == "linear" and isinstance(after, layers.ReLU)
            if activation != "relu" and not relu_next:
                return False
        elif not isinstance(layer, layers.ReLU | layers.MaxPooling2D | layers.Flatten):
            return False
    return isinstance(model.layers[-1], layers.Conv2D | layers.Dense)


def equalise_ranges(model: keras.Model, x: np.ndarray, power: float = 0.5) -> keras.Model:
    """The same function with each hidden channel's activations rescaled towards the widest
    channel of its tensor, the next layer's weights divided to match (ReLU and max-pool commute
    with a positive scale): activation equalisation (Nagel et al., "Data-Free Quantization",
    ICCV 2019). int8 quantizes an activation tensor with one step for all its channels, so a
    channel whose range is a tenth of the widest used a tenth of the 256 levels. Channel c of a
    layer whose largest value over `x` is M_c (M for the tensor) is scaled by (M / M_c)^power:
    power 1 equalises the activations fully and pushes the error into the next layer's weights
    (quantized per output channel), 0.5 splits it between the two, which on the shipped model
    gave the smallest int8 score error (tools/experiments/int8_ranges.py). `model`: a chain of
    convolutions and dense layers with ReLUs, max-pools and a flatten between them
    (int8_friendly's output; any other model is returned as it is); `x`: inputs as the model
    takes them (the int8 calibration data)."""
    if not _equalisable(model):
        return model
    weighted = [layer for layer in model.layers if layer.get_weights()]
    outputs = []
    for layer in weighted[:-1]:
        after = model.layers[model.layers.index(layer) + 1]
        outputs.append(after.output if isinstance(after, layers.ReLU) else layer.output)
    probe = keras.Model(model.input, outputs)
    maxima: list[np.ndarray] = []  # per activation, each channel's largest value over x
    for i in range(0, len(x), 32):  # batch by batch: conv1's activations alone are 3 MB a face
        batch = probe.predict_on_batch(x[i : i + 32])
        batch = batch if isinstance(batch, list | tuple) else [batch]
        found = [np.asarray(a).reshape(-1, a.shape[-1]).max(axis=0) for a in batch]
        maxima = (
            found if not maxima else [np.maximum(m, f) for m, f in zip(maxima, found, strict=True)]
        )
    weights = [[w.copy() for w in layer.get_weights()] for layer in weighted]
    for k, channel_max in enumerate(maxima):
        live = channel_max > 0  # a channel that never fired over x keeps its weights
        scale = np.ones_like(channel_max)
        scale[live] = (channel_max.max() / channel_max[live]) ** power
        weights[k] = [w * scale for w in weights[k]]  # kernel and bias: output channels last
        kernel = weights[k + 1][0]
        if kernel.ndim == 4:
            weights[k + 1][0] = kernel / scale[:, None]
        else:  # a dense layer after a flatten: its inputs are (row, column, channel) in order
            weights[k + 1][0] = kernel / np.tile(scale, kernel.shape[0] // len(scale))[:, None]
    equalised = keras.models.clone_model(model)
    for layer, w in zip((la for la in equalised.layers if la.get_weights()), weights, strict=True):
        layer.set_weights(w)
    return equalised


def layer_table(model: keras.Model) -> list[tuple[str, str, int]]:
    """(layer, output shape, parameters) for the README."""
    return [
        (layer.name, str(layer.output.shape), layer.count_params())
        for layer in model.layers
        if layer.count_params() or "pool" in layer.name
    ]


def markdown_table(model: keras.Model) -> str:
    rows = ["| layer | output | parameters |", "|---|---|---:|"]
    rows += [f"| {n} | {s} | {p:,} |" for n, s, p in layer_table(model)]
    rows.append(f"| **total** | | **{model.count_params():,}** |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table(build_model()))
