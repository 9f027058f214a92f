"""S3 and SQS: fetch inputs to /tmp, write and read verdict documents, dead-letter records.

Endpoints come from the standard AWS variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, ...),
so the same code talks to AWS in the cloud and to the moto server in tests and the local stack.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

MAX_KEY_BYTES = 1024  # S3's limit on a key
CHUNK = 1 << 20

# The SDK retries these itself (standard mode); what still fails after that is transient to us:
# the record is retried by the queue and dead-lettered after the last receive.
TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
}
GONE_CODES = {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}
DENIED_CODES = {"AccessDenied", "403", "AllAccessDisabled", "InvalidObjectState"}


class StorageError(Exception):
    """A storage call failed. `transient` says whether trying again may help."""

    def __init__(self, code: str, message: str, transient: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.transient = transient


def classify(exc: Exception) -> StorageError:
    """Map a boto3 failure to our two kinds: retry it, or dead-letter it now with its code."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        msg = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
        if code in GONE_CODES:
            return StorageError("OBJECT_NOT_FOUND", msg, transient=False)
        if code in DENIED_CODES:
            return StorageError("ACCESS_DENIED", msg, transient=False)
        if code in TRANSIENT_CODES or status >= 500 or status == 429:
            return StorageError("STORAGE_UNAVAILABLE", f"{code}: {msg}", transient=True)
        return StorageError("STORAGE_ERROR", f"{code}: {msg}", transient=False)
    if isinstance(exc, BotoCoreError):  # connection errors, read timeouts
        return StorageError("STORAGE_UNAVAILABLE", f"{type(exc).__name__}: {exc}", True)
    raise exc


@lru_cache(maxsize=4)
def client(service: str) -> Any:
    """One client per service per process (reused across warm invocations). boto3 is imported
    here, not at module level: it costs about 0.15 s at cold start and POST /v1/scan and
    /v1/health never need it."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=3,
        read_timeout=float(os.environ.get("AWS_READ_TIMEOUT_S") or 20),
        signature_version="s3v4" if service == "s3" else None,
    )
    return boto3.client(service, config=config)


def verdict_key(prefix: str, key: str, etag: str) -> str:
    """Where the verdict of one version of one object lives: deterministic, so a redelivered
    event rewrites the same document. Keys too long to extend are hashed."""
    tag = etag.strip('"') or "no-etag"
    candidate = f"{prefix}{key}/{tag}.json"
    if len(candidate.encode()) <= MAX_KEY_BYTES:
        return candidate
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{prefix}_hashed/{digest}/{tag}.json"


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    etag: str
    version_id: str | None
    size: int
    content_type: str | None  # as stored with the object; the verdict's own is sniffed

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def head(bucket: str, key: str) -> ObjectInfo:
    try:
        r = client("s3").head_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from exc
    return _info(bucket, key, r)


def _info(bucket: str, key: str, r: dict[str, Any]) -> ObjectInfo:
    return ObjectInfo(
        bucket=bucket,
        key=key,
        etag=str(r.get("ETag", "")).strip('"'),
        version_id=r.get("VersionId"),
        size=int(r.get("ContentLength", 0)),
        content_type=r.get("ContentType"),
    )


@contextmanager
def fetched(
    bucket: str, key: str, max_bytes: int, version_id: str | None = None
) -> Iterator[tuple[ObjectInfo, Path | None]]:
    """Stream an object into a private temporary file under /tmp, removed afterwards.

    Yields (info, path); path is None when the object is over `max_bytes` (it is not
    downloaded at all: the caller writes a TOO_LARGE verdict from the size alone).
    """
    try:
        extra = {"VersionId": version_id} if version_id else {}
        r = client("s3").get_object(Bucket=bucket, Key=key, **extra)
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from exc
    info = _info(bucket, key, r)
    if info.size > max_bytes:
        r["Body"].close()
        yield info, None
        return
    fd, name = tempfile.mkstemp(prefix="scan-", dir=tempfile.gettempdir())
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                for chunk in r["Body"].iter_chunks(CHUNK):
                    out.write(chunk)
            except (ClientError, BotoCoreError) as exc:
                raise classify(exc) from exc
        yield info, Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def put_json(bucket: str, key: str, doc: dict[str, Any]) -> None:
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from exc


def get_json(bucket: str, key: str) -> dict[str, Any] | None:
    """A stored JSON document, or None when there is none (yet)."""
    try:
        r = client("s3").get_object(Bucket=bucket, Key=key)
        return json.loads(r["Body"].read())
    except (ClientError, BotoCoreError) as exc:
        err = classify(exc)
        if err.code == "OBJECT_NOT_FOUND":
            return None
        raise err from exc


def presign_put(bucket: str, key: str, size: int, content_type: str, ttl_s: int) -> str:
    """A PUT URL that accepts exactly `size` bytes (the length is signed) for `ttl_s` seconds."""
    return client("s3").generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": key, "ContentLength": size, "ContentType": content_type},
        ExpiresIn=ttl_s,
    )


def dead_letter(queue_url: str, reason: dict[str, str], record: Any, attempts: int) -> None:
    """Send a record that cannot be judged to the dead-letter queue, saying why."""
    body = {
        "schema": "deepfake-deadletter/1",
        "reason": reason,
        "attempts": attempts,
        "record": record,
        "failed_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    try:
        client("sqs").send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(body, ensure_ascii=False),
            MessageAttributes={
                "error_code": {"DataType": "String", "StringValue": reason["code"]},
            },
        )
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from exc
