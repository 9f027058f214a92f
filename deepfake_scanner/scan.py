"""scan: bytes in, one Verdict out. Every entry point calls `Scanner.scan_bytes`."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import paths
from .artifacts import ModelInfo, resolve
from .classify import Classifier
from .errors import ScanError, TooLargeError, UnreadableError
from .faces import Face, FaceDetector
from .media import DEFAULT_LIMITS, Limits, decode_image
from .preprocess import SPEC, face_crops, full_frame_crop, normalise
from .verdict import ErrorInfo, FaceScore, Verdict, label_for


class Scanner:
    """Holds the detector and classifier; build one per process and reuse it."""

    def __init__(
        self,
        model_dir: Path = paths.MODEL_DIR,
        detector: Path = paths.DETECTOR,
        threads: int | None = None,
        threshold: float | None = None,
        variant: str | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.model: ModelInfo = resolve(Path(model_dir), variant)
        self.classifier = Classifier(self.model.path, threads, self.model.sha256, self.model.output)
        self.detector = FaceDetector(Path(detector), threads)
        self.threshold = self.model.threshold if threshold is None else threshold
        self.limits = limits

    def _verdict(self, source: str, **kw) -> Verdict:
        return Verdict(source=source, threshold=self.threshold, model=self.model.describe(), **kw)

    def error_verdict(self, source: str, exc: ScanError, timings: dict[str, float]) -> Verdict:
        return self._verdict(
            source,
            label="unknown",
            score=None,
            error=ErrorInfo(exc.code, exc.message),
            timings_ms=timings,
        )

    def scan_file(
        self, path: Path, source: str | None = None, deadline: float | None = None
    ) -> Verdict:
        """Scan a local file (the S3 paths stream objects to /tmp first).

        `deadline` is a `time.monotonic()` value by which a verdict must be returned; work that
        cannot finish by then is cut short and the verdict says so (see video scanning).
        """
        source = str(path) if source is None else source
        path = Path(path)
        try:
            size = path.stat().st_size
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
        faces = self.detector.detect(image)
        t = lap("detect", t)
        scores = self._classify(image, faces)
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
            faces=[
                FaceScore(f.box, round(float(s), 4), f.score)
                for f, s in zip(faces, scores, strict=False)
            ],
            timings_ms=timings,
        )

    def _classify(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """Fake probability per face, or of the whole frame when there is no face."""
        crops = face_crops(image, [f.box for f in faces]) if faces else full_frame_crop(image)
        return self.classifier.predict(normalise(crops, SPEC))
