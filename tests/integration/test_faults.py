"""Storage faults on the wire: a proxy on 127.0.0.1 in front of the moto server injects S3
errors, throttling, timeouts and dropped connections into the function's requests."""

from __future__ import annotations

import pytest

from deepfake_service import storage
from local.faultproxy import FaultProxy, Rule
from tests.integration.test_handler import dead_letters, s3_put_event, sqs_wrap, verdicts

KEY = "uploads/faulty.jpg"


@pytest.fixture(scope="module")
def handler():
    import handler as module

    return module


@pytest.fixture
def proxy(moto, stack, monkeypatch, face_photos):
    moto.client("s3").put_object(
        Bucket=stack.input_bucket, Key=KEY, Body=face_photos[0].read_bytes()
    )
    with FaultProxy(moto.endpoint) as p:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", p.endpoint)
        monkeypatch.setenv("AWS_READ_TIMEOUT_S", "0.5")
        storage.client.cache_clear()
        yield p
    storage.client.cache_clear()


def deliver(handler, context, stack, receive_count):
    event = sqs_wrap(s3_put_event(stack.input_bucket, KEY), stack, receive_count)
    return handler.lambda_handler(event, context)["batchItemFailures"]


def test_throttling_that_clears_is_absorbed_by_the_sdk_retries(
    moto, stack, proxy, handler, context
):
    proxy.add(Rule("GET", r"/faulty\.jpg", status=503, code="SlowDown", times=2))
    assert deliver(handler, context, stack, 1) == []
    assert len(verdicts(moto, stack)) == 1 and dead_letters(moto, stack) == []
    assert [a for _, _, a in proxy.log[:3]] == ["error", "error", "forwarded"]


@pytest.mark.parametrize(
    "rule",
    [
        Rule("GET", r"/faulty\.jpg", status=503, code="SlowDown"),
        Rule("GET", r"/faulty\.jpg", status=500, code="InternalError"),
        Rule("PUT", r"/verdicts/", status=503, code="ServiceUnavailable"),
        Rule("GET", r"/faulty\.jpg", action="delay", delay_s=1.0),
        Rule("GET", r"/faulty\.jpg", action="reset"),
    ],
    ids=["get-throttled", "get-500", "put-503", "get-timeout", "get-reset"],
)
def test_persistent_faults_are_retried_then_dead_lettered(
    moto, stack, proxy, handler, context, rule
):
    proxy.add(rule)
    assert deliver(handler, context, stack, 1) == [{"itemIdentifier": "m-1"}]  # retried by SQS
    assert dead_letters(moto, stack) == []
    assert deliver(handler, context, stack, 2) == []  # the last receive: dead-lettered, acked
    (letter,) = dead_letters(moto, stack)
    assert letter["reason"]["code"] == "STORAGE_UNAVAILABLE" and letter["attempts"] == 2
    assert verdicts(moto, stack) == {}
    assert rule.hits >= 3  # the SDK tried three times on each delivery


def test_access_denied_is_dead_lettered_at_once(moto, stack, proxy, handler, context):
    proxy.add(Rule("GET", r"/faulty\.jpg", status=403, code="AccessDenied"))
    assert deliver(handler, context, stack, 1) == []
    (letter,) = dead_letters(moto, stack)
    assert letter["reason"]["code"] == "ACCESS_DENIED" and letter["attempts"] == 1
