"""Keras -> TFLite in four variants, each written only if it passes the parity gate.

Variants: float32, float16 (weights), dynamic (int8 weights, float activations) and int8
(full integer, uint8 input and output; calibrated on preprocessed real face crops).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .parity import compare, gate

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VARIANTS = ("int8", "dynamic", "float16", "float32")
GPTQ_ROWS = 400  # calibration inputs GPTQ rounds the int8 weights on (converter.gptq); 0: none


def logit_model(model):
    """The same network without its final sigmoid: TFLite files output the logit and serving
    applies the sigmoid in float. An int8 sigmoid output has steps of 1/256 and squeezes every
    confident score into the last few steps (a trained model's int8 scores lost 0.03 AUC that
    way); an int8 logit keeps its resolution where the decisions are made."""
    import keras

    last = model.layers[-1]
    if getattr(last, "activation", None) is not keras.activations.sigmoid:
        raise ValueError(f"the model must end in a sigmoid layer, not {last.name}")
    head = last.__class__.from_config({**last.get_config(), "activation": "linear"})
    outputs = head(last.input)
    head.set_weights(last.get_weights())
    return keras.Model(model.inputs, outputs, name=f"{model.name}_logit")


@contextmanager
def saved_model_converter(
    model, calibration: np.ndarray | None = None, gptq_rows: int = 0
) -> Iterator:
    """A TFLiteConverter, not yet configured, for the network as every variant converts it: it
    outputs the logit (see logit_model), has its batch norms folded into the convolutions (see
    model.fold_batch_norm: in int8 that cut the largest score difference from the float model
    from 0.12 to 0.08 on one trained model) and its ReLUs and dilated convolutions laid out so
    the converter fuses them (model.int8_friendly). With `calibration` (the int8 calibration
    inputs, Nx224x224x3) the channels of each activation are also equalised on it
    (model.equalise_ranges). Each step leaves the float output as it was; together they cut
    the shipped model's mean int8 score error by a third (README, "Conversion and the parity
    gate"). With `gptq_rows` as well, the weights are then rounded to their int8 grids by GPTQ
    on that many calibration inputs (converter.gptq), which the converter keeps as they are.
    Keras 3 exports a SavedModel and TFLite converts that (the path upstream recommends); the
    SavedModel lives while the block runs."""
    import tensorflow as tf

    from .gptq import round_weights
    from .model import equalise_ranges, int8_friendly  # Keras, like TF, only when converting

    network = int8_friendly(model)
    if calibration is not None:
        network = equalise_ranges(network, calibration)
        if gptq_rows:
            network = round_weights(network, calibration, gptq_rows)
    with tempfile.TemporaryDirectory() as tmp:
        logit_model(network).export(tmp, format="tf_saved_model", verbose=False)
        yield tf.lite.TFLiteConverter.from_saved_model(tmp)


def to_tflite(
    model,
    variant: str,
    representative: Iterable[np.ndarray] | None = None,
    gptq_rows: int = GPTQ_ROWS,
) -> bytes:
    """Bytes of the converted model (see saved_model_converter).
    `representative`: float32 1xSxSx3 inputs, for int8 calibration; `gptq_rows`: how many of
    them GPTQ rounds the int8 weights on (0: to nearest, as the converter rounds)."""
    import tensorflow as tf

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; one of {VARIANTS}")
    samples = list(representative) if variant == "int8" and representative is not None else []
    if variant == "int8" and not samples:
        raise ValueError("int8 needs representative data (real face crops)")
    calibration = np.concatenate(samples) if samples else None
    with saved_model_converter(model, calibration, gptq_rows) as converter:
        if variant != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if variant == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if variant == "int8":
            converter.representative_dataset = lambda: ([s] for s in samples)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.uint8
            converter.inference_output_type = tf.uint8
        return converter.convert()


def tflite_scores(model_bytes: bytes, x: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Fake probabilities from the serving classifier (deepfake_scanner.classify)."""
    from deepfake_scanner.classify import Classifier

    with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
        f.write(model_bytes)
        f.flush()
        clf = Classifier(Path(f.name), threads, output="logit")
        return np.concatenate([clf.predict(x[i : i + 64]) for i in range(0, len(x), 64)])


def write_if_faithful(
    blob: bytes,
    variant: str,
    converted: np.ndarray,
    y: np.ndarray,
    reference: np.ndarray,
    threshold: float,
    path: Path,
) -> dict:
    """The parity gate: compare the converted model's scores (`tflite_scores(blob, x)`) with
    the float model's `reference` scores on the same inputs, labels y, at the model's
    threshold, and write `path` only when every tolerance holds. Returns the report; raises
    ParityError (and writes nothing) otherwise. Scores, not inputs, so a caller judging one
    model at several thresholds runs it once."""
    report = gate(compare(reference, converted, y, threshold), variant)
    path.write_bytes(blob)
    return report
