"""Lambda entry point: one function for S3 notifications (direct or through SQS), S3 Batch
Operations and the HTTP API. Thin on purpose: dispatch, logging, metrics and error mapping; the
judging is `deepfake_scanner`, the storage and routes are `deepfake_service`.

The model loads during the init phase (at import), once per execution environment.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes import S3BatchOperationEvent
from aws_lambda_powertools.utilities.data_classes.s3_batch_operation_event import (
    S3BatchOperationResponse,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from deepfake_scanner.errors import ModelError
from deepfake_scanner.scan import Scanner
from deepfake_service import events, jobs, storage
from deepfake_service.api import build_app
from deepfake_service.settings import get_settings

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "deepfake-scanner")
logger = Logger(service=SERVICE)
# X-Ray tracing costs about 0.2 s of cold start (the X-Ray SDK import): the Tracer is built only
# when tracing is on (the template's XRayTracing parameter sets POWERTOOLS_TRACE_DISABLED).
TRACING = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() not in ("1", "true")
F = TypeVar("F", bound=Callable[..., Any])


def _untraced(fn: F) -> F:
    return fn


capture_method: Callable[[F], F] = _untraced
capture_lambda_handler: Callable[[F], F] = _untraced
if TRACING:
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=SERVICE)
    capture_method = tracer.capture_method
    capture_lambda_handler = tracer.capture_lambda_handler  # type: ignore[assignment]
metrics = Metrics(
    service=SERVICE, namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "DeepfakeScanner")
)
# Report every failed record, even when all failed, so only those are retried.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

_scanner: Scanner | None = None
_context: LambdaContext | None = None


def get_scanner() -> Scanner:
    """The process's one Scanner. A model that fails to load is a deployment fault: raised."""
    global _scanner
    if _scanner is None:
        s = get_settings()
        _scanner = Scanner(s.model_dir, s.detector, threads=s.threads, limits=s.limits)
    return _scanner


try:  # init phase: load now so the first request does not pay for it
    get_scanner()
except ModelError:
    logger.exception("model failed to load; every invocation will report MODEL_LOAD_FAILED")


def deadline() -> float | None:
    """When this invocation must stop scanning, in time.monotonic() terms."""
    if _context is None:
        return None
    remaining = _context.get_remaining_time_in_millis() / 1000
    return time.monotonic() + remaining - get_settings().time_margin_s


app = build_app(get_scanner, get_settings, deadline)


def faces_found(doc: dict[str, Any]) -> int:
    """Faces judged: an image's `faces`; a video keeps its faces in `frames`."""
    if doc.get("media") == "video":
        return int(doc.get("faces_judged") or 0)
    return len(doc.get("faces", []))


def record_metrics(doc: dict[str, Any]) -> None:
    metrics.add_metric(name="FilesScanned", unit=MetricUnit.Count, value=1)
    if doc.get("label") == "fake":
        metrics.add_metric(name="FakesFound", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="FacesFound", unit=MetricUnit.Count, value=faces_found(doc))
    if doc.get("error"):
        with_code = f"ScanErrors_{doc['error']['code']}"
        metrics.add_metric(name=with_code, unit=MetricUnit.Count, value=1)
    total = doc.get("timings_ms", {}).get("total")
    if total is not None:
        metrics.add_metric(name="ScanLatency", unit=MetricUnit.Milliseconds, value=total)


@capture_method
def scan_and_store(ref: events.ObjectRef) -> jobs.Stored:
    stored = jobs.scan_object(get_scanner(), get_settings(), ref, deadline())
    record_metrics(stored.doc)
    logger.info(
        "verdict stored",
        source=ref.source,
        verdict_key=stored.key,
        label=stored.doc["label"],
        score=stored.doc["score"],
        error=stored.doc["error"],
    )
    return stored


def dead_letter(reason: dict[str, str], record: Any, attempts: int) -> None:
    settings = get_settings()
    logger.error("dead-lettering a record", reason=reason, attempts=attempts)
    metrics.add_metric(name=f"DeadLettered_{reason['code']}", unit=MetricUnit.Count, value=1)
    if not settings.dead_letter_queue_url:
        raise RuntimeError(f"no DEAD_LETTER_QUEUE_URL for {reason}")
    storage.dead_letter(settings.dead_letter_queue_url, reason, record, attempts)


def sqs_record(record: SQSRecord) -> None:
    """One SQS message (an S3 notification). Raising makes it a batch item failure: retried."""
    attempts = int(record.attributes.approximate_receive_count or 1)
    logger.set_correlation_id(record.message_id)
    try:
        body = record.json_body
        if events.is_test_event(body):
            logger.info("acknowledged s3:TestEvent")
            return
        refs = events.created_objects(body)
    except (ValueError, TypeError, KeyError) as exc:
        dead_letter({"code": "MALFORMED_MESSAGE", "message": str(exc)}, record.body, attempts)
        return
    for ref in refs:
        try:
            scan_and_store(ref)
        except jobs.Rejected as exc:
            dead_letter(exc.reason(), body, attempts)
        except jobs.Transient as exc:
            if attempts < get_settings().max_receive_count:
                logger.warning("transient failure, will retry", error=str(exc), attempts=attempts)
                raise
            dead_letter(exc.reason(), body, attempts)


def s3_event(event: dict[str, Any]) -> dict[str, Any]:
    """A direct S3 notification (asynchronous invoke). Transient failures raise, so Lambda's
    asynchronous retries and on-failure destination take over."""
    stored, transient = [], []
    for ref in events.created_objects(event):
        try:
            stored.append(scan_and_store(ref).key)
        except jobs.Rejected as exc:
            dead_letter(exc.reason(), {"Records": event["Records"]}, 1)
        except jobs.Transient as exc:
            transient.append(str(exc))
    if transient:
        raise RuntimeError(f"{len(transient)} object(s) failed transiently: {transient}")
    return {"verdicts": stored}


def batch_operation(event: dict[str, Any]) -> dict[str, Any]:
    """S3 Batch Operations (schema 1.0 and 2.0): one task per invocation, a result code each."""
    batch = S3BatchOperationEvent(event)
    logger.set_correlation_id(batch.invocation_id)
    response = S3BatchOperationResponse(
        batch.invocation_schema_version, batch.invocation_id, "PermanentFailure"
    )
    for task in batch.tasks:
        ref = events.ObjectRef(task.s3_bucket, task.s3_key, task.s3_version_id)
        try:
            s = scan_and_store(ref)
            result = task.build_task_batch_response("Succeeded", f"{s.doc['label']} {s.key}")
        except jobs.Rejected as exc:
            result = task.build_task_batch_response("PermanentFailure", str(exc))
        except jobs.Transient as exc:
            result = task.build_task_batch_response("TemporaryFailure", str(exc))
        response.add_result(result)
    return response.asdict()


@logger.inject_lambda_context
@capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    global _context
    _context = context
    kind = events.event_kind(event)
    logger.append_keys(event_kind=kind)
    if kind == "http":
        logger.set_correlation_id(event["requestContext"].get("requestId"))
        return app.resolve(event, context)
    get_scanner()  # a model that cannot load fails the invocation: records are retried
    if kind == "sqs":
        return dict(
            process_partial_response(
                event=event, record_handler=sqs_record, processor=processor, context=context
            )
        )
    if kind == "s3":
        return s3_event(event)
    if kind == "batch":
        return batch_operation(event)
    raise ValueError(f"unrecognised event with keys {sorted(event)[:10]}")
