"""The seed CNN, made cheap enough to train on two CPU cores (FINDINGS.md, "Training").

What the seed app described, and how each choice follows it:
- 224x224x3 input, sigmoid real/fake output, dropout 0.5: as described.
- first convolutions 5x5 with 64 filters followed by max-pooling: conv1 and conv2 are 5x5/64,
  each followed by max-pooling. The liberties are in strides and pool sizes, which the seed's
  description leaves open: conv1 has stride 2 and is pooled 4x4 straight away (before batch
  norm and ReLU, which gives the same result when the BN scale is positive). On this 2-core
  machine (no AMX, no bfloat16) the stride-1 layout trained at 20 images/s and this one at
  150 (benchmarked with random batches of 32, float32, Keras 3 on TensorFlow, no XLA).
- later layers with fewer filters: 48, then 32.
- dilation rate 2 in the last three convolutions: conv6..conv8.
- 10 layers: 8 convolutions + 2 dense; about 650k parameters (the seed had about 653k).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from deepfake_scanner.preprocess import SPEC

# (filters, kernel, stride, dilation, pool after): the README's layer table comes from this.
CONV_LAYERS = [
    (64, 5, 2, 1, 4),
    (64, 5, 1, 1, 2),
    (48, 5, 1, 1, 0),
    (48, 3, 1, 1, 2),
    (32, 3, 1, 1, 0),
    (32, 3, 1, 2, 0),
    (32, 3, 1, 2, 0),
    (32, 3, 1, 2, 0),
]
DENSE = 256
DROPOUT = 0.5
BN_MOMENTUM = 0.95  # slower statistics made eval-mode AUC lag (FINDINGS.md)


def build_model(dtype_policy: str = "float32", name: str = "seed_cnn") -> keras.Model:
    """The classifier. `mixed_bfloat16` for training on CPUs with AMX; the last layer stays
    float32 because a bfloat16 sigmoid saturates at 1.0 and makes ties."""
    policy = keras.mixed_precision.Policy(dtype_policy)
    inputs = keras.Input((SPEC.size, SPEC.size, 3), name="image")
    x = inputs
    for i, (filters, kernel, stride, dilation, pool) in enumerate(CONV_LAYERS, start=1):
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


def float32_copy(model: keras.Model) -> keras.Model:
    """The same weights in an all-float32 model: what is saved, converted and served."""
    clone = build_model("float32", model.name)
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
