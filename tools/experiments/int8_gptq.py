"""Rounding the weights for int8 by their effect on each layer's output (GPTQ), not to nearest.

    .venv/bin/python tools/experiments/int8_gptq.py [--model models/reference] [--rows 400]

About three quarters of the shipped int8 file's score error is the rounding of its weights
(tools/experiments/int8_ranges.py). GPTQ (Frantar et al., ICLR 2023) rounds a layer's weights one
input at a time and spreads each rounding error over the inputs not yet rounded, weighted by the
inverse of X^T X of the layer's inputs over calibration data, so the layer's outputs move least.
Here each layer of the graph converter.convert quantizes (int8_friendly, equalised) gets its
weights rounded so, in order, each on the inputs the layers before it (already rounded) give;
every weight lands on TFLite's own grid (per output channel, symmetric, 127 steps a side, each
channel's largest weight kept so the step stays), so the converter keeps them as they are.
Prints the label flips against the float model and the mean and max |score difference| on the
tune people's (the gate's) and the reserved people's (batch parity's) 1,200 crops, at the file's
own rounding-point threshold, for the int8 file as `make model-report` converts it and with
GPTQ's weights. About 3 minutes on 2 cores. The README ("Conversion and the parity gate")
quotes a run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def grid_step(kernel: np.ndarray) -> np.ndarray:
    """TFLite's per-output-channel int8 weight step (output channels last)."""
    step = np.abs(kernel.reshape(-1, kernel.shape[-1])).max(axis=0) / 127
    step[step == 0] = 1
    return step


def input_gram(layer, inputs: np.ndarray) -> np.ndarray:
    """X^T X of the rows a layer multiplies by its kernel: patches for a convolution."""
    import tensorflow as tf

    config = layer.get_config()
    if "kernel_size" not in config:
        rows = inputs.reshape(len(inputs), -1).astype(np.float64)
        return rows.T @ rows
    k, stride = config["kernel_size"][0], config["strides"][0]
    gram = np.zeros((k * k * inputs.shape[-1],) * 2)
    for i in range(0, len(inputs), 8):
        patches = tf.image.extract_patches(
            inputs[i : i + 8], [1, k, k, 1], [1, stride, stride, 1], [1, 1, 1, 1], "SAME"
        ).numpy()
        rows = patches.reshape(-1, patches.shape[-1]).astype(np.float64)
        gram = gram + rows.T @ rows
    return gram


def gptq(kernel: np.ndarray, gram: np.ndarray, damp: float = 0.01) -> np.ndarray:
    shape = kernel.shape
    w = kernel.reshape(-1, shape[-1]).astype(np.float64).copy()  # (inputs, output channels)
    step = grid_step(kernel).astype(np.float64)
    largest = np.abs(w).argmax(axis=0)  # kept as it is: it sets the channel's step
    channels = np.arange(w.shape[1])
    dead = np.diag(gram) == 0
    gram = gram.copy()
    gram[dead, dead] = 1
    w[dead] = 0
    gram += damp * np.mean(np.diag(gram)) * np.eye(len(gram))
    upper = np.linalg.cholesky(np.linalg.inv(gram)).T
    for i in range(w.shape[0]):
        rounded = np.clip(np.round(w[i] / step), -127, 127) * step
        error = (w[i] - rounded) / upper[i, i]
        w[i] = rounded
        kept = w[largest, channels].copy()
        w[i + 1 :] -= np.outer(upper[i, i + 1 :], error)
        later = largest > i
        w[largest[later], channels[later]] = kept[later]
    return w.reshape(shape).astype(np.float32)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=ROOT / "models" / "reference")
    p.add_argument("--rows", type=int, default=400, help="calibration inputs for X^T X")
    a = p.parse_args()
    import keras

    import converter.model
    from converter.convert import to_tflite
    from converter.data import load_faces
    from converter.export import representative
    from converter.parity import compare
    from converter.train import eval_set, predict
    from deepfake_scanner.classify import Classifier
    from deepfake_scanner.preprocess import normalise

    meta = json.loads((a.model / "metadata.json").read_text())
    quantile = meta.get("threshold_quantile", meta["threshold"])
    model = converter.model.float32_copy(
        keras.models.load_model(a.model / meta["files"]["keras"]["path"], compile=False)
    )
    cache = ROOT / ".cache"
    train = load_faces(ROOT / "assets" / "faces" / "train", cache)
    calib = list(representative(train, 200, 0))
    sets = {}
    for name, seed in (("tune", 11), ("reserved", 12)):
        folder = "tune" if name == "tune" else "eval"
        x, y = eval_set(load_faces(ROOT / "assets" / "faces" / folder, cache), 600, seed)
        sets[name] = (normalise(x), y, predict(model, x))

    cm: Any = converter.model  # patched: converter.convert looks equalise_ranges up in it
    equalise = cm.equalise_ranges

    def equalise_then_gptq(network, x, power=0.5):
        network = equalise(network, x, power)
        for layer in [la for la in network.layers if la.get_weights()]:
            inputs = keras.Model(network.input, layer.input).predict(
                x[: a.rows], verbose=0, batch_size=16
            )
            kernel, bias = layer.get_weights()
            layer.set_weights([gptq(kernel, input_gram(layer, inputs)), bias])
        return network

    blobs = {"as make model-report converts it": to_tflite(model, "int8", calib)}
    try:
        cm.equalise_ranges = equalise_then_gptq
        blobs[f"weights rounded by GPTQ ({a.rows} inputs)"] = to_tflite(model, "int8", calib)
    finally:
        cm.equalise_ranges = equalise
    with tempfile.TemporaryDirectory() as tmp:
        for name, blob in blobs.items():
            path = Path(tmp) / "int8.tflite"
            path.write_bytes(blob)
            clf = Classifier(path, output="logit")
            threshold = clf.decision_threshold(quantile)
            row: dict[str, Any] = {"int8": name, "threshold": round(threshold, 6)}
            for set_name, (xn, y, ref) in sets.items():
                r = compare(ref, clf.predict(xn), y, threshold)
                flips = round((1 - r["agreement"]) * len(y))
                row[set_name] = {
                    "flips": flips,
                    **{k: round(r[k], 5) for k in ("mean_abs_diff", "max_abs_diff")},
                }
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
