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
class FrameScore:
    """One sampled video frame in the timeline."""

    t: float  # seconds from the start: index / the container's frame rate
    index: int  # frame number, from 0
    score: float | None  # max over its faces; the full frame's when no frame had a face; else None
    faces: list[FaceScore] = field(default_factory=list)


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
    # Videos only (absent from image verdicts; null in a video's error verdict when unknown):
    duration_s: float | None = None  # from the container
    aggregation: str | None = None  # confident | mean: how face scores became `score`
    frames_judged: int | None = None  # sampled frames decoded and searched for faces
    faces_judged: int | None = None  # faces classified, over all those frames
    partial: bool | None = None  # True when sampling stopped early (time budget, bad frames)
    partial_reason: str | None = None  # time_budget | unreadable_frames, when partial
    coverage: float | None = None  # share of the video's duration the judged frames stand for
    frames: list[FrameScore] | None = None  # the timeline, one entry per judged frame
    timings_ms: dict[str, float] = field(default_factory=dict)
    scanned_at: str = field(
        default_factory=lambda: (
            datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        )
    )
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["faces"] = [_face(f) for f in d["faces"]]
        if self.media != "video":
            for key in VIDEO_FIELDS:
                del d[key]
        elif d["frames"] is not None:
            d["frames"] = [{**fr, "faces": [_face(f) for f in fr["faces"]]} for fr in d["frames"]]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)


VIDEO_FIELDS = (
    "duration_s",
    "aggregation",
    "frames_judged",
    "faces_judged",
    "partial",
    "partial_reason",
    "coverage",
    "frames",
)


def _face(f: dict[str, Any]) -> dict[str, Any]:
    return {**f, "box": list(f["box"])}


def label_for(score: float, threshold: float) -> str:
    return "fake" if score >= threshold else "real"
