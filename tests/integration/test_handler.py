"""handler.lambda_handler in-process, against a real moto S3/SQS server on 127.0.0.1.

S3 notifications are the ones moto itself sends to the queue on upload; they reach the handler
the way Lambda's SQS event source delivers them (local/sqs.py).
"""

from __future__ import annotations

import base64
import copy
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from deepfake_service import storage
from local.sqs import lambda_event, poll_once
from tests.integration.conftest import load_event

FACE_KEY = "uploads/a b+c%d é.jpg"  # space, plus, percent, non-ASCII


@pytest.fixture(scope="module")
def handler():
    import handler as module

    return module


@pytest.fixture(scope="module")
def face_jpeg(face_photos) -> bytes:
    return face_photos[0].read_bytes()


def drain(moto, stack, handler, context) -> list[Any]:
    """Deliver everything on the queue to the handler; return the handler's responses."""
    sqs, results = moto.client("sqs"), []

    def invoke(event):
        results.append(handler.lambda_handler(event, context))
        return results[-1]

    while poll_once(sqs, stack.queue_url, stack.queue_arn, invoke, wait_s=0)[0]:
        pass
    return results


def verdicts(moto, stack) -> dict[str, dict]:
    s3 = moto.client("s3")
    listed = s3.list_objects_v2(Bucket=stack.output_bucket).get("Contents", [])
    return {
        o["Key"]: json.loads(s3.get_object(Bucket=stack.output_bucket, Key=o["Key"])["Body"].read())
        for o in listed
    }


def dead_letters(moto, stack) -> list[dict]:
    r = moto.client("sqs").receive_message(
        QueueUrl=stack.dead_letter_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    )
    return [json.loads(m["Body"]) for m in r.get("Messages", [])]


def sqs_wrap(s3_event: dict, stack, receive_count: int = 1) -> dict:
    msg = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": json.dumps(s3_event),
        "Attributes": {"ApproximateReceiveCount": str(receive_count)},
    }
    return lambda_event([msg], stack.queue_arn)


def s3_put_event(bucket: str, encoded_key: str) -> dict:
    event = load_event("s3-put.json")
    event["Records"][0]["s3"]["bucket"]["name"] = bucket
    event["Records"][0]["s3"]["object"]["key"] = encoded_key
    return event


# --- S3 -> SQS -> Lambda ---------------------------------------------------------------------


def test_upload_gets_one_verdict_at_a_deterministic_key(moto, stack, handler, context, face_jpeg):
    s3 = moto.client("s3")
    s3.put_object(Bucket=stack.input_bucket, Key=FACE_KEY, Body=face_jpeg)
    results = drain(moto, stack, handler, context)
    assert results and all(r == {"batchItemFailures": []} for r in results)  # incl. s3:TestEvent
    etag = s3.head_object(Bucket=stack.input_bucket, Key=FACE_KEY)["ETag"].strip('"')
    found = verdicts(moto, stack)
    assert list(found) == [f"verdicts/{FACE_KEY}/{etag}.json"]
    doc = found[f"verdicts/{FACE_KEY}/{etag}.json"]
    assert doc["schema"] == "deepfake-verdict/1"
    assert doc["source"] == f"s3://{stack.input_bucket}/{FACE_KEY}"
    assert doc["object"]["key"] == FACE_KEY and doc["object"]["etag"] == etag
    assert doc["object"]["size"] == len(face_jpeg)
    assert doc["label"] in ("real", "fake") and doc["faces"] and doc["error"] is None
    assert doc["timings_ms"]["fetch"] >= 0 and doc["timings_ms"]["total"] > 0
    assert dead_letters(moto, stack) == []


def test_redelivery_rewrites_the_same_verdict(moto, stack, handler, context, face_jpeg):
    s3 = moto.client("s3")
    s3.put_object(Bucket=stack.input_bucket, Key="uploads/twice.jpg", Body=face_jpeg)
    event = sqs_wrap(s3_put_event(stack.input_bucket, "uploads/twice.jpg"), stack)
    first = handler.lambda_handler(event, context)
    second = handler.lambda_handler(copy.deepcopy(event), context)
    assert first == second == {"batchItemFailures": []}
    assert len(verdicts(moto, stack)) == 1


def test_a_file_that_cannot_be_judged_gets_an_error_verdict(moto, stack, handler, context):
    moto.client("s3").put_object(
        Bucket=stack.input_bucket, Key="uploads/notes.jpg", Body=b"just some text, not a JPEG"
    )
    drain(moto, stack, handler, context)
    (doc,) = verdicts(moto, stack).values()
    assert doc["label"] == "unknown" and doc["score"] is None
    assert doc["error"]["code"] == "UNSUPPORTED_MEDIA"


def test_uploads_outside_the_prefix_do_not_trigger(moto, stack, handler, context, face_jpeg):
    moto.client("s3").put_object(Bucket=stack.input_bucket, Key="elsewhere/x.jpg", Body=face_jpeg)
    drain(moto, stack, handler, context)
    assert verdicts(moto, stack) == {}


def test_delete_events_are_ignored(moto, stack, handler, context):
    event = load_event("s3-delete.json")
    event["Records"][0]["s3"]["bucket"]["name"] = stack.input_bucket
    assert handler.lambda_handler(sqs_wrap(event, stack), context) == {"batchItemFailures": []}
    assert verdicts(moto, stack) == {} and dead_letters(moto, stack) == []


@pytest.mark.parametrize(
    ("make_event", "code"),
    [
        (lambda st: s3_put_event("someone-elses-bucket", "uploads/x.jpg"), "FORBIDDEN_BUCKET"),
        (
            lambda st: s3_put_event(st.input_bucket, "uploads/never-uploaded.jpg"),
            "OBJECT_NOT_FOUND",
        ),
        (lambda st: "this is not JSON", "MALFORMED_MESSAGE"),
        (lambda st: {"Records": "not a list"}, "MALFORMED_MESSAGE"),
    ],
)
def test_records_that_cannot_be_judged_are_dead_lettered_with_the_reason(
    moto, stack, handler, context, make_event, code
):
    event = make_event(stack)
    message = sqs_wrap(event, stack)
    if isinstance(event, str):
        message["Records"][0]["body"] = event
    assert handler.lambda_handler(message, context) == {"batchItemFailures": []}
    (letter,) = dead_letters(moto, stack)
    assert letter["schema"] == "deepfake-deadletter/1" and letter["reason"]["code"] == code
    assert letter["reason"]["message"] and letter["attempts"] == 1
    assert verdicts(moto, stack) == {}


def test_storage_outage_is_retried_then_dead_lettered(
    moto, stack, handler, context, face_jpeg, monkeypatch
):
    """A real fault: S3 calls go to a closed port on 127.0.0.1 (SQS still works)."""
    from local.net import free_port

    moto.client("s3").put_object(Bucket=stack.input_bucket, Key="uploads/o.jpg", Body=face_jpeg)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")
    storage.client.cache_clear()
    event = s3_put_event(stack.input_bucket, "uploads/o.jpg")
    first = handler.lambda_handler(sqs_wrap(event, stack, receive_count=1), context)
    assert first == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert dead_letters(moto, stack) == []
    last = handler.lambda_handler(sqs_wrap(event, stack, receive_count=2), context)
    assert last == {"batchItemFailures": []}
    (letter,) = dead_letters(moto, stack)
    assert letter["reason"]["code"] == "STORAGE_UNAVAILABLE" and letter["attempts"] == 2


def test_one_bad_record_does_not_fail_the_batch(moto, stack, handler, context, face_jpeg):
    s3 = moto.client("s3")
    for i in range(3):
        s3.put_object(Bucket=stack.input_bucket, Key=f"uploads/{i}.jpg", Body=face_jpeg)
    s3.put_object(Bucket=stack.input_bucket, Key="uploads/empty.jpg", Body=b"")
    drain(moto, stack, handler, context)
    codes = sorted(str((d["error"] or {}).get("code")) for d in verdicts(moto, stack).values())
    assert codes == ["EMPTY_INPUT", "None", "None", "None"]


def test_long_keys_get_a_hashed_verdict_key(moto, stack, handler, context, face_jpeg):
    key = "uploads/" + "k" * 1000 + ".jpg"
    moto.client("s3").put_object(Bucket=stack.input_bucket, Key=key, Body=face_jpeg)
    drain(moto, stack, handler, context)
    (vkey,) = verdicts(moto, stack)
    assert vkey.startswith("verdicts/_hashed/") and len(vkey.encode()) <= 1024


# --- direct S3 and S3 Batch Operations -------------------------------------------------------


def test_direct_s3_notification(moto, stack, handler, context, face_jpeg):
    moto.client("s3").put_object(
        Bucket=stack.input_bucket, Key="uploads/photo+one.jpg", Body=face_jpeg
    )
    result = handler.lambda_handler(
        s3_put_event(stack.input_bucket, "uploads/photo%2Bone.jpg"), context
    )
    assert len(result["verdicts"]) == 1 and "photo+one.jpg" in result["verdicts"][0]


@pytest.mark.parametrize("schema", ["1.0", "2.0"])
def test_batch_operations(moto, stack, handler, context, face_jpeg, schema):
    moto.client("s3").put_object(Bucket=stack.input_bucket, Key="old/photo+one.jpg", Body=face_jpeg)
    event = load_event("s3-batch-invocation.json")
    task = event["tasks"][0]
    task["s3Key"] = "old/photo%2Bone.jpg"
    task["s3VersionId"] = None
    if schema == "2.0":
        event["invocationSchemaVersion"] = "2.0"
        event["job"]["userArguments"] = {}
        del task["s3BucketArn"]
        task["s3Bucket"] = stack.input_bucket
    else:
        task["s3BucketArn"] = f"arn:aws:s3:::{stack.input_bucket}"
    missing = copy.deepcopy(event)
    missing["tasks"][0]["s3Key"] = "old/missing.jpg"
    ok = handler.lambda_handler(event, context)
    gone = handler.lambda_handler(missing, context)
    assert (
        ok["invocationSchemaVersion"] == schema and ok["treatMissingKeysAs"] == "PermanentFailure"
    )
    (result,) = ok["results"]
    assert result["taskId"] == task["taskId"] and result["resultCode"] == "Succeeded"
    assert "verdicts/old/photo+one.jpg/" in result["resultString"]
    assert gone["results"][0]["resultCode"] == "PermanentFailure"
    assert "OBJECT_NOT_FOUND" in gone["results"][0]["resultString"]


# --- HTTP API (payload 2.0) ------------------------------------------------------------------


def http_event(method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    event = load_event("http-health.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["rawQueryString"], event["queryStringParameters"] = "", {}
    event["headers"] = headers or {}
    event["body"] = base64.b64encode(body).decode() if body is not None else None
    event["isBase64Encoded"] = body is not None
    return event


def call(handler, context, method, path, body=None, headers=None) -> tuple[int, dict]:
    r = handler.lambda_handler(http_event(method, path, body, headers), context)
    return r["statusCode"], json.loads(r["body"])


def test_http_health(stack, handler, context):
    status, body = call(handler, context, "GET", "/v1/health")
    assert status == 200 and body["status"] == "ok"
    assert body["model"]["sha256"] and body["runtime"]["ai_edge_litert"] == "2.3.0"


def test_http_scan_raw_body_and_multipart(stack, handler, context, face_jpeg):
    status, raw = call(
        handler, context, "POST", "/v1/scan", face_jpeg, {"content-type": "image/jpeg"}
    )
    assert status == 200 and raw["faces"] and raw["source"].startswith("http:")
    boundary = "xYzZY"
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="me.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + face_jpeg
        + f"\r\n--{boundary}--\r\n".encode()
    )
    ct = {"content-type": f"multipart/form-data; boundary={boundary}"}
    status, multi = call(handler, context, "POST", "/v1/scan", form, ct)
    assert status == 200 and multi["source"].endswith("/me.jpg")
    assert multi["score"] == raw["score"] and multi["faces"] == raw["faces"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [(b"", 400, "EMPTY_INPUT"), (b"%PDF-1.7 not an image", 415, "UNSUPPORTED_MEDIA")],
)
def test_http_scan_errors_carry_the_code(stack, handler, context, body, status, code):
    got, doc = call(handler, context, "POST", "/v1/scan", body)
    assert got == status and doc["error"]["code"] == code


def test_http_unknown_route_and_bad_requests(stack, handler, context):
    assert call(handler, context, "GET", "/v1/nothing")[0] == 404
    status, doc = call(handler, context, "POST", "/v1/uploads", b"not json")
    assert status == 400 and doc["error"]["code"] == "BAD_REQUEST"
    status, doc = call(
        handler, context, "POST", "/v1/uploads", json.dumps({"size": 10**12}).encode()
    )
    assert status == 413 and doc["error"]["code"] == "TOO_LARGE"
    status, doc = call(
        handler,
        context,
        "POST",
        "/v1/uploads",
        json.dumps({"size": 10, "content_type": "text/html"}).encode(),
    )
    assert status == 400


def test_http_presigned_upload_then_verdict(moto, stack, handler, context, face_jpeg):
    req = {"filename": "../../big photo.jpg", "size": len(face_jpeg), "content_type": "image/jpeg"}
    status, up = call(handler, context, "POST", "/v1/uploads", json.dumps(req).encode())
    assert status == 201 and up["key"].startswith("uploads/") and ".." not in up["key"]
    assert up["key"].endswith("big_photo.jpg") and up["expires_in"] == 300
    put = urllib.request.Request(
        up["upload_url"], data=face_jpeg, method="PUT", headers=up["headers"]
    )
    with urllib.request.urlopen(put) as r:
        assert r.status == 200
    status, pending = call(handler, context, "GET", up["verdict_path"])
    assert status == 404 and pending["error"]["code"] == "VERDICT_PENDING"
    drain(moto, stack, handler, context)
    status, doc = call(handler, context, "GET", up["verdict_path"])
    assert status == 200 and doc["object"]["key"] == up["key"] and doc["faces"]
    status, doc = call(handler, context, "GET", "/v1/verdicts/uploads/no-such-thing.jpg")
    assert status == 404 and doc["error"]["code"] == "NOT_FOUND"


def test_unknown_events_fail_loudly(stack, handler, context):
    with pytest.raises(ValueError, match="unrecognised event"):
        handler.lambda_handler({"hello": "world"}, context)


def test_records_without_time_left_are_deferred_to_a_fresh_invocation(
    moto, stack, handler, face_jpeg
):
    from tests.integration.conftest import FakeContext

    moto.client("s3").put_object(Bucket=stack.input_bucket, Key="uploads/late.jpg", Body=face_jpeg)
    event = s3_put_event(stack.input_bucket, "uploads/late.jpg")
    short = FakeContext(remaining_ms=1000)  # less than the 5 s margin
    first = handler.lambda_handler(sqs_wrap(event, stack, 1), short)
    assert first == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert verdicts(moto, stack) == {}
    assert handler.lambda_handler(sqs_wrap(event, stack, 1), FakeContext()) == {
        "batchItemFailures": []
    }
    assert len(verdicts(moto, stack)) == 1


def test_a_video_upload_gets_a_timeline(moto, stack, handler, context, tmp_path, face_photos):
    import cv2

    from tools.make_samples import pan, write_clip

    clip = write_clip(tmp_path / "clip.mp4", pan(cv2.imread(str(face_photos[0])), 20))
    moto.client("s3").upload_file(str(clip), stack.input_bucket, "uploads/clips/a clip.mp4")
    drain(moto, stack, handler, context)
    (doc,) = verdicts(moto, stack).values()
    assert doc["media"] == "video" and doc["error"] is None and doc["frames"]
    assert doc["frames_judged"] == len(doc["frames"]) and doc["partial"] is False
    assert doc["object"]["key"] == "uploads/clips/a clip.mp4"
    # the FacesFound metric counts a video's faces from its timeline, not the empty `faces`
    assert (
        handler.faces_found(doc)
        == doc["faces_judged"]
        == sum(len(f["faces"]) for f in doc["frames"])
        > 0
    )


def test_the_tracer_path_loads_and_serves(stack):
    """X-Ray tracing on (the template's XRayTracing=Active): the Tracer wraps the handler."""
    import subprocess
    import sys

    code = (
        "import json, handler; from tests.integration.conftest import FakeContext, load_event;"
        "r = handler.lambda_handler(load_event('http-health.json'), FakeContext());"
        "print(handler.TRACING, r['statusCode'])"
    )
    env = {**__import__("os").environ, "POWERTOOLS_TRACE_DISABLED": "false"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split()[-2:] == ["True", "200"], out.stderr[-2000:]
