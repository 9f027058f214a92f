"""scan: a file or bytes in, one Verdict out. Every entry point calls `Scanner.scan_file` or
`Scanner.scan_bytes`; an image and each sampled frame of a video go through the same detection,
cropping and classification (`_faces_and_crops`, `_predict`, and `full_frame_crop` when no face
is found)."""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from . import paths
from .artifacts import ModelInfo, resolve
from .classify import Classifier
from .errors import OutOfTimeError, ScanError, TooLargeError, UnreadableError
from .faces import Face, FaceDetector
from .heap import keep_freed_buffers
from .media import DEFAULT_LIMITS, SNIFF_BYTES, VIDEO_TYPES, Limits, decode_image, sniff
from .preprocess import SPEC, face_crops, full_frame_crop
from .verdict import ErrorInfo, FaceScore, FrameScore, Verdict, label_for
from .video import AGGREGATIONS, DEFAULT_FRAMES, READ_METHODS, Video, aggregate, sample_indices

BATCH = 16  # face crops per classifier call (from any frames); LiteRT on one thread gains little
# Time-budget estimates before anything was timed (then the measured costs take over). Measured
# here at one thread: 5 ms to classify a crop, 30-100 ms to decode and search a 1080p frame.
CROP_COST_PRIOR = 0.05
FRAME_COST_PRIOR = 0.1
SAFETY = 1.5  # estimated costs are multiplied by this before they are compared with the time left


@dataclass
class _Frame:
    """A sampled frame while it is being judged: its faces, their scores, its full-frame crop."""

    index: int
    t: float
    faces: list[Face]
    full: np.ndarray | None  # the whole frame as a crop, kept while no frame has had a face
    scores: list[float] = field(default_factory=list)
    full_score: float | None = None


class _Budget:
    """Whether one more frame (and the classification still owed) fits before the deadline."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.frame_cost = FRAME_COST_PRIOR
        self.crop_cost = CROP_COST_PRIOR
        self.frames = 0
        self.faces = 0
        self.total = 0.0  # seconds spent on frames so far

    def allows(self, pending_crops: int) -> bool:
        if self.deadline is None:
            return True
        per_frame = self.faces / self.frames if self.frames else 1.0
        owed = pending_crops + per_frame if self.faces else self.frames + 1  # full frames owed
        need = SAFETY * (self.frame_cost + owed * self.crop_cost)
        return time.monotonic() + need <= self.deadline

    def frame_done(self, seconds: float, faces: int) -> None:
        """The next frame is expected to cost the mean so far, or the last one if that was
        more (a slowdown persists; one slow seek long ago does not)."""
        self.total += seconds
        self.frames += 1
        self.faces += faces
        self.frame_cost = max(self.total / self.frames, seconds)

    def classified(self, seconds: float, crops: int) -> None:
        if crops:
            self.crop_cost = seconds / crops


class Scanner:
    """Holds the detector and classifier; build one per process and reuse it.

    frames: frames sampled from a video (capped by limits.max_frames and max_sample_fps);
    aggregation: how a video's face scores become its score (video.aggregate); read_method:
    how sampled frames are reached (video.FrameReader).
    """

    def __init__(
        self,
        model_dir: Path = paths.MODEL_DIR,
        detector: Path = paths.DETECTOR,
        threads: int | None = None,
        threshold: float | None = None,
        variant: str | None = None,
        limits: Limits = DEFAULT_LIMITS,
        frames: int = DEFAULT_FRAMES,
        aggregation: str = "confident",
        read_method: str = "auto",
    ) -> None:
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation {aggregation!r} is not one of {AGGREGATIONS}")
        if read_method not in READ_METHODS:
            raise ValueError(f"read method {read_method!r} is not one of {READ_METHODS}")
        if frames < 1:
            raise ValueError("frames must be at least 1")
        keep_freed_buffers()  # a scanning process reuses its image buffers (heap.py)
        self.model: ModelInfo = resolve(Path(model_dir), variant)
        self.classifier = Classifier(self.model.path, threads, self.model.sha256, self.model.output)
        self.detector = FaceDetector(Path(detector), threads)
        self.threshold = self.model.threshold if threshold is None else threshold
        self.limits = limits
        self.threads = threads
        self.frames = frames
        self.aggregation = aggregation
        self.read_method = read_method

    def _verdict(self, source: str, **kw) -> Verdict:
        return Verdict(source=source, threshold=self.threshold, model=self.model.describe(), **kw)

    def error_verdict(
        self, source: str, exc: ScanError, timings: dict[str, float], **kw
    ) -> Verdict:
        return self._verdict(
            source,
            label="unknown",
            score=None,
            error=ErrorInfo(exc.code, exc.message),
            timings_ms=timings,
            **kw,
        )

    def scan_file(
        self, path: Path, source: str | None = None, deadline: float | None = None
    ) -> Verdict:
        """Scan a local file (the S3 paths stream objects to /tmp first).

        Videos are read from the file, never into memory. `deadline` is a `time.monotonic()`
        value by which a verdict must be returned: a video's sampling stops early enough to
        return by then, and its verdict says `partial` with the `coverage` it reached. Images
        ignore it.
        """
        source = str(path) if source is None else source
        path = Path(path)
        try:
            size = path.stat().st_size
            with path.open("rb") as f:
                head = f.read(SNIFF_BYTES)
            mime = sniff(head)
            if mime in VIDEO_TYPES:
                return self._scan_video(path, source, deadline, mime, size)
            if size > self.limits.max_bytes:
                raise TooLargeError(f"{size} bytes is over the limit of {self.limits.max_bytes}")
            data = path.read_bytes()
        except OSError as exc:
            err = UnreadableError(f"{type(exc).__name__}: {exc.strerror or exc}")
            return self.error_verdict(source, err, {})
        except ScanError as exc:
            return self.error_verdict(source, exc, {})
        return self.scan_bytes(data, source, deadline)

    def scan_bytes(self, data: bytes, source: str, deadline: float | None = None) -> Verdict:
        """Scan bytes in memory. A video is written to a temporary file and scanned from there."""
        mime = sniff(data[:SNIFF_BYTES])
        if mime in VIDEO_TYPES:
            if len(data) > self.limits.max_video_bytes:
                return self._scan_video(Path(), source, deadline, mime, len(data))
            try:
                with tempfile.NamedTemporaryFile(
                    prefix="deepfake-scan-", suffix=".video", dir=tempfile.gettempdir()
                ) as tmp:
                    tmp.write(data)
                    tmp.flush()
                    return self._scan_video(Path(tmp.name), source, deadline, mime, len(data))
            except OSError as exc:  # /tmp full, say
                err = UnreadableError(f"cannot stage the video: {exc.strerror or exc}")
                return self.error_verdict(source, err, {}, media="video", content_type=mime)
        return self._scan_image(data, source)

    # ---- images ----

    def _scan_image(self, data: bytes, source: str) -> Verdict:
        t0 = time.perf_counter()
        timings: dict[str, float] = {}

        def lap(name: str, since: float) -> float:
            now = time.perf_counter()
            timings[name] = round((now - since) * 1000, 2)
            return now

        try:
            image, mime = decode_image(data, self.limits)
        except ScanError as exc:
            lap("decode", t0)
            timings["total"] = timings["decode"]
            return self.error_verdict(source, exc, timings)
        t = lap("decode", t0)
        faces, crops, seen = self._faces_and_crops(image)
        t = lap("detect", t)
        scores = self._predict(crops if faces else full_frame_crop(seen))
        lap("classify", t)
        timings["total"] = round((time.perf_counter() - t0) * 1000, 2)
        # The label follows the score as printed, so a verdict never reads 1.0 < 1.0.
        score = round(float(np.max(scores)), 4)
        return self._verdict(
            source,
            label=label_for(score, self.threshold),
            score=score,
            media="image",
            content_type=mime,
            region="faces" if faces else "full_frame",
            faces=_face_scores(faces, scores),
            timings_ms=timings,
        )

    def _faces_and_crops(self, image: np.ndarray) -> tuple[list[Face], np.ndarray, np.ndarray]:
        """Faces in an image (boxes in its pixels), their uint8 model crops, and the image they
        were found in (for the full-frame crop). One code path for images and frames.

        The detector and the full-frame crop pad the image to a square of its longer side; that
        square is held to the pixel limit too. An image whose square would exceed it (a 50000x1
        strip pads to 2.5 gigapixels, 7.5 GB) is shrunk first until the square fits, and the
        boxes are scaled back; images up to sqrt(max_pixels) on their longer side are untouched.
        """
        seen, scale = _fit(image, self.limits.max_pixels)
        faces = self.detector.detect(seen)
        crops = face_crops(seen, [f.box for f in faces])
        if scale != 1.0:
            faces = [_rescale(f, 1.0 / scale, image.shape[:2]) for f in faces]
        return faces, crops, seen

    def _predict(self, crops: np.ndarray) -> np.ndarray:
        """uint8 crops -> fake probabilities, at most BATCH crops a classifier call."""
        if len(crops) <= BATCH:
            return self.classifier.predict_crops(crops, SPEC)
        parts = [self._predict(crops[i : i + BATCH]) for i in range(0, len(crops), BATCH)]
        return np.concatenate(parts)

    # ---- videos ----

    def _scan_video(
        self, path: Path, source: str, deadline: float | None, mime: str, size: int
    ) -> Verdict:
        t0 = time.perf_counter()
        timings: dict[str, float] = {"open": 0.0, "decode": 0.0, "detect": 0.0, "classify": 0.0}

        def fail(exc: ScanError, **kw) -> Verdict:
            timings["total"] = _ms(time.perf_counter() - t0)
            for key, value in timings.items():
                timings[key] = round(value, 2)
            return self.error_verdict(source, exc, timings, media="video", content_type=mime, **kw)

        if size > self.limits.max_video_bytes:
            limit = self.limits.max_video_bytes
            return fail(TooLargeError(f"{size} bytes is over the video limit of {limit}"))
        try:
            video = Video(path, mime, self.limits, self.threads)
        except ScanError as exc:
            return fail(exc)
        timings["open"] = _ms(time.perf_counter() - t0)
        with video:
            info = video.info
            indices = sample_indices(info.frame_count, info.fps, self.frames, self.limits)
            judged, stopped = self._judge_frames(video, indices, deadline, timings)
            if not judged:
                if stopped == "time_budget":
                    err: ScanError = OutOfTimeError("the deadline came before a frame was judged")
                    return fail(err, duration_s=_s(info.duration_s), partial=True, coverage=0.0)
                why = f"none of the {len(indices)} sampled frames decodes"
                return fail(video.cannot_decode(why), duration_s=_s(info.duration_s))
        timings["total"] = _ms(time.perf_counter() - t0)
        return self._video_verdict(source, mime, info.duration_s, judged, indices, stopped, timings)

    def _judge_frames(
        self, video: Video, indices: list[int], deadline: float | None, timings: dict[str, float]
    ) -> tuple[list[_Frame], str | None]:
        """Detect faces in each sampled frame in time order and classify their crops in batches.

        Returns the judged frames (scores filled in) and why sampling stopped early, if it did.
        """
        reader = video.reader(self.read_method)
        budget = _Budget(deadline)
        judged: list[_Frame] = []
        pending: list[tuple[_Frame, np.ndarray]] = []  # (frame, its face crops) to classify
        stopped = None

        def flush() -> None:
            if not pending:
                return
            t = time.perf_counter()
            scores = self._predict(np.concatenate([c for _, c in pending]))
            k = 0
            for frame, crops in pending:
                frame.scores = [float(s) for s in scores[k : k + len(crops)]]
                k += len(crops)
            budget.classified(time.perf_counter() - t, len(scores))
            timings["classify"] += _ms(time.perf_counter() - t)
            pending.clear()

        for index in indices:
            if not budget.allows(sum(len(c) for _, c in pending)):
                stopped = "time_budget"
                break
            t = time.perf_counter()
            image = reader.read(index)
            timings["decode"] += _ms(time.perf_counter() - t)
            if image is None:
                if reader.ended:
                    break
                continue
            t1 = time.perf_counter()
            faces, crops, seen = self._faces_and_crops(image)
            # The full-frame fallback is only needed while no frame has had a face (and it costs
            # ~60 ms on a 1080p frame: a padded square resized by a non-integer factor).
            full = None if faces or budget.faces else full_frame_crop(seen)[0]
            frame = _Frame(index, index / video.info.fps, faces, full)
            timings["detect"] += _ms(time.perf_counter() - t1)
            budget.frame_done(time.perf_counter() - t, len(faces))
            judged.append(frame)
            first_faces = budget.faces == len(faces) > 0
            if faces:
                pending.append((frame, crops))
            if first_faces:  # the full-frame fallback will not be needed: drop its crops
                for f in judged:
                    f.full = None
            if first_faces or sum(len(c) for _, c in pending) >= BATCH:
                flush()  # the first faces (which time the classifier), or a full batch
        flush()
        if judged and not budget.faces:  # no face in any frame: score the whole frames
            t = time.perf_counter()
            fulls = np.stack([f.full for f in judged if f.full is not None])
            for frame, s in zip(judged, self._predict(fulls), strict=True):
                frame.full_score = float(s)
            timings["classify"] += _ms(time.perf_counter() - t)
        if stopped is None and len(judged) < len(indices):
            stopped = "unreadable_frames"
        return judged, stopped

    def _video_verdict(
        self,
        source: str,
        mime: str,
        duration: float,
        judged: list[_Frame],
        indices: list[int],
        stopped: str | None,
        timings: dict[str, float],
    ) -> Verdict:
        has_faces = any(f.faces for f in judged)
        if has_faces:
            values = np.array([s for f in judged for s in f.scores])
        else:
            values = np.array([f.full_score for f in judged])
        score = round(aggregate(values, self.aggregation), 4)
        timeline = [
            FrameScore(
                t=round(f.t, 3),
                index=f.index,
                score=_frame_score(f),
                faces=_face_scores(f.faces, np.asarray(f.scores)),
            )
            for f in judged
        ]
        for key, value in timings.items():
            timings[key] = round(value, 2)
        return self._verdict(
            source,
            label=label_for(score, self.threshold),
            score=score,
            media="video",
            content_type=mime,
            region="faces" if has_faces else "full_frame",
            duration_s=_s(duration),
            aggregation=self.aggregation,
            frames_judged=len(judged),
            faces_judged=sum(len(f.faces) for f in judged),
            partial=stopped is not None,
            partial_reason=stopped,
            coverage=round(len(judged) / len(indices), 4),
            frames=timeline,
            timings_ms=timings,
        )


def _fit(image: np.ndarray, max_pixels: int) -> tuple[np.ndarray, float]:
    """The image, shrunk (INTER_AREA) if the square of its longer side is over max_pixels, and
    the scale it was shrunk by (1.0: untouched)."""
    h, w = image.shape[:2]
    side = max(h, w)
    if side * side <= max_pixels:
        return image, 1.0
    scale = math.isqrt(max_pixels) / side
    size = (max(1, math.floor(w * scale)), max(1, math.floor(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def _rescale(face: Face, k: float, hw: tuple[int, ...]) -> Face:
    """A face found in a shrunk image, in the input's pixels (clipped to them)."""
    x, y, w, h = face.box
    x0, y0 = min(round(x * k), hw[1]), min(round(y * k), hw[0])
    box = (x0, y0, min(round(w * k), hw[1] - x0), min(round(h * k), hw[0] - y0))
    points = tuple((px * k, py * k) for px, py in face.keypoints)
    return Face(box=box, score=face.score, keypoints=points)


def _frame_score(f: _Frame) -> float | None:
    if f.scores:
        return round(max(f.scores), 4)
    return None if f.full_score is None else round(f.full_score, 4)


def _face_scores(faces: list[Face], scores: np.ndarray) -> list[FaceScore]:
    return [
        FaceScore(f.box, round(float(s), 4), f.score) for f, s in zip(faces, scores, strict=False)
    ]


def _ms(seconds: float) -> float:
    return seconds * 1000


def _s(seconds: float) -> float:
    return round(seconds, 3)
