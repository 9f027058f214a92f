"""Function settings, read once from the environment (the SAM template sets every one)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from deepfake_scanner import paths
from deepfake_scanner.media import DEFAULT_LIMITS, Limits


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    return float(raw) if raw.strip() else default


@dataclass(frozen=True)
class Settings:
    input_bucket: str  # the only bucket the function reads from
    output_bucket: str  # verdicts go here, never into the input bucket's trigger
    output_prefix: str  # verdicts/<input key>/<etag>.json
    upload_prefix: str  # presigned uploads land under this prefix (the trigger's filter)
    dead_letter_queue_url: str  # where records that cannot be judged go, with the reason
    max_receive_count: int  # the queue's redrive maxReceiveCount: the last try dead-letters
    upload_url_ttl_s: int  # presigned PUT URLs expire after this
    max_upload_bytes: int  # presigned PUT URLs sign this exact Content-Length at most
    time_margin_s: float  # stop scanning this long before the Lambda timeout
    threads: int | None  # LiteRT threads (None: the library's default)
    model_dir: Path
    detector: Path
    limits: Limits  # each field from LIMIT_<FIELD NAME> (e.g. LIMIT_MAX_DURATION_S), else default

    @classmethod
    def from_env(cls) -> Settings:
        threads = _int("SCAN_THREADS", 0)
        return cls(
            input_bucket=os.environ.get("INPUT_BUCKET", ""),
            output_bucket=os.environ.get("OUTPUT_BUCKET", ""),
            output_prefix=os.environ.get("OUTPUT_PREFIX", "verdicts/"),
            upload_prefix=os.environ.get("UPLOAD_PREFIX", "uploads/"),
            dead_letter_queue_url=os.environ.get("DEAD_LETTER_QUEUE_URL", ""),
            max_receive_count=_int("MAX_RECEIVE_COUNT", 3),
            upload_url_ttl_s=_int("UPLOAD_URL_TTL_S", 300),
            max_upload_bytes=_int("MAX_UPLOAD_BYTES", DEFAULT_LIMITS.max_bytes),
            time_margin_s=_float("TIME_MARGIN_S", 5.0),
            threads=threads or None,
            model_dir=Path(os.environ.get("MODEL_DIR", str(paths.MODEL_DIR))),
            detector=Path(os.environ.get("DETECTOR_PATH", str(paths.DETECTOR))),
            limits=limits_from_env(),
        )


def limits_from_env() -> Limits:
    """The scanner's limits, each overridable by an environment variable LIMIT_<NAME>."""
    changes: dict[str, Any] = {}
    for f in fields(Limits):
        raw = os.environ.get(f"LIMIT_{f.name.upper()}", "").strip()
        if raw:
            default = getattr(DEFAULT_LIMITS, f.name)
            value = type(default)(float(raw)) if isinstance(default, int) else float(raw)
            if value <= 0:
                raise ValueError(f"LIMIT_{f.name.upper()} must be positive, not {raw!r}")
            changes[f.name] = value
    return replace(DEFAULT_LIMITS, **changes)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
