"""Judge one stored object and store its verdict: the unit of work behind every S3 door.

Outcomes, and what each door does with them:
- a verdict document written (a file that cannot be judged gets one too, with its error code);
- `Rejected`: judging will never work (not our bucket, object gone, access denied): the record
  goes to the dead-letter queue now, with the code;
- `Transient`: S3 throttled or timed out after the SDK's own retries, or this invocation ran out
  of time before the object could be judged: the record is retried (in a fresh invocation), and
  dead-lettered with the reason after the queue's last receive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from deepfake_scanner.errors import OutOfTimeError, TooLargeError
from deepfake_scanner.scan import Scanner

from . import storage
from .events import ObjectRef
from .settings import Settings


class RecordError(Exception):
    """A record that was not judged, with a stable code for logs and dead letters."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def reason(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class Transient(RecordError):
    """Trying again later may work; the record is retried."""


class Rejected(RecordError):
    """A record that must not or cannot be judged; dead-lettered with `code`."""


@dataclass(frozen=True)
class Stored:
    key: str  # of the verdict document in the output bucket
    doc: dict[str, Any]


def check_ref(ref: ObjectRef, settings: Settings) -> None:
    """The function reads only its own input bucket, and only sane keys."""
    if not settings.input_bucket or ref.bucket != settings.input_bucket:
        raise Rejected("FORBIDDEN_BUCKET", f"{ref.bucket!r} is not this function's input bucket")
    if not ref.key or len(ref.key.encode()) > storage.MAX_KEY_BYTES or "\x00" in ref.key:
        raise Rejected("INVALID_KEY", f"key {ref.key[:80]!r} is empty, too long or has NUL")


def max_input_bytes(scanner: Scanner) -> int:
    return max(scanner.limits.max_bytes, scanner.limits.max_video_bytes)


def scan_object(
    scanner: Scanner, settings: Settings, ref: ObjectRef, deadline: float | None
) -> Stored:
    check_ref(ref, settings)
    if deadline is not None and time.monotonic() >= deadline:
        raise Transient("OUT_OF_TIME", "the invocation ran out of time before this object")
    limit = max_input_bytes(scanner)
    t0 = time.perf_counter()
    try:
        with storage.fetched(ref.bucket, ref.key, limit, ref.version_id) as (info, path):
            fetch_ms = round((time.perf_counter() - t0) * 1000, 2)
            if path is None:
                too_big = TooLargeError(f"{info.size} bytes is over the limit of {limit}")
                verdict = scanner.error_verdict(ref.source, too_big, {})
            else:
                verdict = scanner.scan_file(path, ref.source, deadline)
        if verdict.error is not None and verdict.error.code == OutOfTimeError.code:
            # Earlier records of the batch used the time: a fresh invocation gets it all.
            raise Transient(verdict.error.code, verdict.error.message)
        doc = verdict.to_dict()
        doc["object"] = info.as_dict()
        doc["timings_ms"] = {"fetch": fetch_ms, **doc["timings_ms"]}
        key = storage.verdict_key(settings.output_prefix, info.key, info.etag)
        storage.put_json(settings.output_bucket, key, doc)
    except storage.StorageError as exc:
        if exc.transient:
            raise Transient(exc.code, exc.message) from exc
        raise Rejected(exc.code, exc.message) from exc
    return Stored(key, doc)
