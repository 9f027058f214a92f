"""The real/fake classifier on LiteRT: quantisation, batching, thread count."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import ModelError
from .litert import load_interpreter
from .preprocess import PreprocessSpec, in_model_channels, normalise

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
        self._pixels_are_input: dict[PreprocessSpec, bool] = {}

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

    def pixels_are_input(self, spec: PreprocessSpec) -> bool:
        """Whether quantising `spec`'s normalised pixels gives back the pixel values themselves,
        for every one of the 256: then a uint8 crop is the model's input as it is (an int8 file
        whose input scale is `spec.scale` and zero point `-spec.offset / spec.scale`, as the
        converter writes them), and normalising then quantising it in numpy would only cost
        time (one face crop with the reference int8 file, one core: 1.76 ms that way, 1.45 ms
        as pixels). Normalising and quantising work element by element, so equality on the 256
        levels is equality on every crop."""
        if spec not in self._pixels_are_input:
            levels = np.arange(256, dtype=np.uint8).reshape(1, 1, 256, 1).repeat(3, axis=3)
            same = self.input_dtype == np.uint8 and np.array_equal(
                self._quantize(normalise(levels, spec)), levels
            )
            self._pixels_are_input[spec] = bool(same)
        return self._pixels_are_input[spec]

    def predict_crops(self, crops_bgr: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
        """N x S x S x 3 uint8 BGR face crops (preprocess.face_crops) -> N fake probabilities,
        exactly predict(normalise(crops_bgr, spec)), without the float round trip where the
        crop's pixels are the model's input (pixels_are_input)."""
        if len(crops_bgr) == 0 or not self.pixels_are_input(spec):
            return self.predict(normalise(crops_bgr, spec))
        return self._run_all(in_model_channels(crops_bgr, spec), quantized=True)

    def _run_all(self, x: np.ndarray, quantized: bool = False) -> np.ndarray:
        """All of x in one call where the model takes a batch, else one call a crop."""
        if self.batchable:
            return self._run(x, quantized)
        return np.concatenate([self._run(x[i : i + 1], quantized) for i in range(len(x))])

    def _run(self, x: np.ndarray, quantized: bool = False) -> np.ndarray:
        if x.shape[0] != self.batch:
            self.interpreter.resize_tensor_input(self.inp["index"], list(x.shape))
            self.interpreter.allocate_tensors()
            self.inp = self.interpreter.get_input_details()[0]
            self.out = self.interpreter.get_output_details()[0]
            self.batch = x.shape[0]
        self.interpreter.set_tensor(self.inp["index"], x if quantized else self._quantize(x))
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
        return self._run_all(x)
