"""The one preprocessing path, shared by training, the converter and serving.

Its parameters are a frozen `PreprocessSpec`. The spec is written into every model's metadata
and compared when the model loads, so a model can never be served with a preprocessing it was
not trained with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from .errors import ModelError

Box = tuple[int, int, int, int]  # x, y, w, h in input pixels


@dataclass(frozen=True)
class PreprocessSpec:
    size: int = 224  # the seed CNN's input
    margin: float = 1.3  # square crop side = margin * max(face w, h), as the field does
    channels: str = "RGB"  # the model sees RGB; OpenCV decodes BGR
    scale: float = 1.0 / 255.0  # x * scale + offset; [0, 1] maps uint8 exactly onto int8 input
    offset: float = 0.0
    resize: str = "area"  # cv2.INTER_AREA when shrinking, linear when enlarging
    pad: str = "constant0"  # crops leaving the image are padded with black

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self, recorded: dict[str, Any]) -> None:
        """Raise ModelError unless a model's recorded spec is exactly this one."""
        mine = self.to_dict()
        diff = {k: (recorded.get(k), v) for k, v in mine.items() if recorded.get(k) != v}
        if diff or set(recorded) - set(mine):
            raise ModelError(f"model was trained with another preprocessing: {diff or recorded}")


SPEC = PreprocessSpec()


def square_region(box: Box, margin: float) -> tuple[int, int, int]:
    """(x0, y0, side) of the square centred on the box, side = margin * longest box side."""
    x, y, w, h = box
    side = max(1, round(max(w, h) * margin))
    cx, cy = x + w / 2.0, y + h / 2.0
    return round(cx - side / 2.0), round(cy - side / 2.0), side


def crop_square(image: np.ndarray, box: Box, margin: float) -> np.ndarray:
    """The square region around a box, padded with black where it leaves the image."""
    x0, y0, side = square_region(box, margin)
    h, w = image.shape[:2]
    top, left = max(0, -y0), max(0, -x0)
    bottom, right = max(0, y0 + side - h), max(0, x0 + side - w)
    inner = image[max(0, y0) : min(h, y0 + side), max(0, x0) : min(w, x0 + side)]
    if top or left or bottom or right:
        inner = cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_CONSTANT, value=0)
    return inner


def resize_square(crop: np.ndarray, size: int) -> np.ndarray:
    interp = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interp)


def in_model_channels(crops_bgr: np.ndarray, spec: PreprocessSpec = SPEC) -> np.ndarray:
    """... x W x 3 uint8 BGR crops as a contiguous array in the model's channel order. RGB is
    swapped with cv2.cvtColor (0.004 ms a 224x224 crop; numpy's reversed [..., ::-1] copy took
    0.17, as long as the float conversion after it)."""
    x = np.ascontiguousarray(crops_bgr)
    if spec.channels != "RGB":
        return x
    if x.size == 0 or x.ndim < 3:
        return np.ascontiguousarray(x[..., ::-1])
    w, c = x.shape[-2:]
    return cv2.cvtColor(x.reshape(-1, w, c), cv2.COLOR_BGR2RGB).reshape(x.shape)


def normalise(crops_bgr: np.ndarray, spec: PreprocessSpec = SPEC) -> np.ndarray:
    """N x S x S x 3 uint8 BGR -> float32 model input. Also traced by JAX (converter.train
    normalises batches on the device), where only array operations work, not OpenCV."""
    if isinstance(crops_bgr, np.ndarray):
        x = in_model_channels(crops_bgr, spec)
    else:
        x = crops_bgr[..., ::-1] if spec.channels == "RGB" else crops_bgr
    return x.astype(np.float32) * np.float32(spec.scale) + np.float32(spec.offset)


def face_crops(image: np.ndarray, boxes: list[Box], spec: PreprocessSpec = SPEC) -> np.ndarray:
    """uint8 BGR crops, one per box, S x S each (what training stores and serving feeds)."""
    out = np.empty((len(boxes), spec.size, spec.size, 3), np.uint8)
    for i, box in enumerate(boxes):
        out[i] = resize_square(crop_square(image, box, spec.margin), spec.size)
    return out


def full_frame_crop(image: np.ndarray, spec: PreprocessSpec = SPEC) -> np.ndarray:
    """The whole image, padded to a square: the fallback when no face is found."""
    h, w = image.shape[:2]
    return face_crops(image, [(0, 0, w, h)], PreprocessSpec(**{**spec.to_dict(), "margin": 1.0}))
