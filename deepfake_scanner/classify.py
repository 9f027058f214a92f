"""The real/fake classifier on LiteRT: quantisation, batching, thread count."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import ModelError
from .litert import load_interpreter

# What the model's single output is: converter/ writes logits (sigmoid applied here, in float).
OUTPUTS = ("logit", "probability")


class Classifier:
    """Scores preprocessed face crops: fake probability per crop. Load once per process."""

    def __init__(
        self,
        model_path: Path,
        threads: int | None = None,
        sha256: str | None = None,
        output: str = "logit",
    ) -> None:
        if output not in OUTPUTS:
            raise ModelError(f"model output {output!r} is not one of {OUTPUTS}")
        self.logits = output == "logit"
        self.interpreter = load_interpreter(model_path, threads, sha256)
        self.inp = self.interpreter.get_input_details()[0]
        self.out = self.interpreter.get_output_details()[0]
        # A Keras model exported with a free batch dimension can run all crops in one call.
        self.batchable = int(self.inp["shape_signature"][0]) == -1
        self.batch = int(self.inp["shape"][0])

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(self.inp["dtype"])

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        dtype = self.input_dtype
        if dtype == np.float32:
            return x.astype(np.float32, copy=False)
        scale, zero = self.inp["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)

    def _dequantize(self, y: np.ndarray) -> np.ndarray:
        if np.dtype(self.out["dtype"]) == np.float32:
            return y.astype(np.float32)
        scale, zero = self.out["quantization"]
        return (y.astype(np.float32) - zero) * np.float32(scale)

    def _run(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] != self.batch:
            self.interpreter.resize_tensor_input(self.inp["index"], list(x.shape))
            self.interpreter.allocate_tensors()
            self.inp = self.interpreter.get_input_details()[0]
            self.out = self.interpreter.get_output_details()[0]
            self.batch = x.shape[0]
        self.interpreter.set_tensor(self.inp["index"], self._quantize(x))
        self.interpreter.invoke()
        return self._scores(self._dequantize(self.interpreter.get_tensor(self.out["index"])))

    def _scores(self, y: np.ndarray) -> np.ndarray:
        y = y.reshape(-1)
        return 1.0 / (1.0 + np.exp(-y)) if self.logits else y

    def decision_threshold(self, threshold: float) -> float:
        """A threshold that labels every score this model can give as `threshold` does, placed
        where the model's output rounding switches between the two levels either side of it.
        A quantized output has 256 levels, so any threshold between two neighbours gives the
        same verdicts; the rounding point is the one at which the unrounded output (and so the
        float model it was converted from) is labelled alike too. A threshold that sits just
        above a level otherwise labels half a rounding step of the float model's "fake" scores
        "real" in this model. Float outputs, and thresholds outside the levels' range, come back
        unchanged."""
        dtype = np.dtype(self.out["dtype"])
        if dtype == np.float32:
            return threshold
        info = np.iinfo(dtype)
        levels = np.arange(info.min, info.max + 1)
        fake = np.flatnonzero(self._scores(self._dequantize(levels)) >= threshold)
        if not len(fake) or fake[0] == 0:
            return threshold
        between = self._dequantize(np.array([levels[fake[0]] - 0.5]))  # the rounding point
        return float(self._scores(between)[0])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """x: N x S x S x 3 float32 from preprocess.normalise -> N fake probabilities."""
        if len(x) == 0:
            return np.zeros(0, np.float32)
        if self.batchable:
            return self._run(x)
        return np.concatenate([self._run(x[i : i + 1]) for i in range(len(x))])
