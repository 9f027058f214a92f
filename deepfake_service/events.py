"""Which objects an event is about. Parsing is Powertools' data classes; what is ours is the
rules: only ObjectCreated records count, test events are acknowledged, and every key is
URL-decoded (S3 encodes keys in notifications; Powertools decodes only the first record's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event


@dataclass(frozen=True)
class ObjectRef:
    bucket: str
    key: str  # decoded
    version_id: str | None = None

    @property
    def source(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def is_test_event(body: Any) -> bool:
    """S3 sends `{"Event": "s3:TestEvent", ...}` when a notification is configured."""
    return isinstance(body, dict) and body.get("Event") == "s3:TestEvent"


def created_objects(body: Any) -> list[ObjectRef]:
    """The objects an S3 notification says were created; deletes and others are ignored."""
    if not isinstance(body, dict) or not isinstance(body.get("Records"), list):
        raise ValueError("not an S3 notification: no Records list")
    refs = []
    for record in S3Event(body).records:
        if not record.event_name.startswith("ObjectCreated:"):
            continue
        obj = record.s3.get_object
        refs.append(
            ObjectRef(
                bucket=record.s3.bucket.name,
                key=unquote_plus(obj.key),
                version_id=obj.get("versionId") or None,
            )
        )
    return refs


def event_kind(event: Any) -> str:
    """sqs | s3 | batch | http | unknown, from the shape of the event."""
    if not isinstance(event, dict):
        return "unknown"
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        source = records[0].get("eventSource")
        if source == "aws:sqs":
            return "sqs"
        if source == "aws:s3":
            return "s3"
    if "invocationSchemaVersion" in event and "tasks" in event:
        return "batch"
    if isinstance(event.get("requestContext"), dict) and "http" in event["requestContext"]:
        return "http"
    return "unknown"
