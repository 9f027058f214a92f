"""The one verdict schema, serialised the same way on every path (CLI, S3, SQS, HTTP)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from .preprocess import Box

SCHEMA = "deepfake-verdict/1"


@dataclass(frozen=True)
class FaceScore:
    box: Box  # x, y, w, h in input pixels (after EXIF orientation)
    score: float  # fake probability of this face
    detector_score: float


@dataclass(frozen=True)
class ErrorInfo:
    code: str  # stable, see errors.py
    message: str


@dataclass
class Verdict:
    source: str
    label: str  # real | fake | unknown
    score: float | None  # fake probability of the input (max over faces); None when unknown
    threshold: float
    model: dict[str, Any]
    media: str | None = None  # image | video, None when the input could not be typed
    content_type: str | None = None  # sniffed from the bytes
    faces: list[FaceScore] = field(default_factory=list)
    region: str | None = None  # faces | full_frame (no face found: the whole image was scored)
    error: ErrorInfo | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    scanned_at: str = field(
        default_factory=lambda: (
            datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        )
    )
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["faces"] = [{**f, "box": list(f["box"])} for f in d["faces"]]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)


def label_for(score: float, threshold: float) -> str:
    return "fake" if score >= threshold else "real"
