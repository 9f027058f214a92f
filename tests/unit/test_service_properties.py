"""Property-based tests (hypothesis) of the serverless ring's parsing: arbitrary keys, records,
encodings and bodies never crash it and never change what they name."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepfake_service import api, events, storage

keys = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=300,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def s3_record(bucket: str, encoded_key: str, name: str = "ObjectCreated:Put") -> dict:
    return {
        "eventSource": "aws:s3",
        "eventName": name,
        "s3": {"bucket": {"name": bucket}, "object": {"key": encoded_key, "size": 1}},
    }


@given(st.lists(st.tuples(keys, st.sampled_from(["ObjectCreated:Put", "ObjectRemoved:Delete",
                                                  "ObjectCreated:CompleteMultipartUpload"])),
                min_size=1, max_size=8))  # fmt: skip
def test_every_record_key_is_decoded_as_s3_encodes_it(records):
    event = {"Records": [s3_record("b", quote_plus(k, safe="/"), n) for k, n in records]}
    refs = events.created_objects(event)
    assert [r.key for r in refs] == [k for k, n in records if n.startswith("ObjectCreated:")]
    assert all(r.bucket == "b" for r in refs)


@given(json_values)
def test_arbitrary_message_bodies_are_rejected_cleanly_or_parsed(body):
    try:
        refs = events.created_objects(body)
    except (ValueError, TypeError, KeyError, AttributeError):
        return
    assert isinstance(refs, list)


@given(json_values)
def test_event_kind_never_raises(event):
    assert events.event_kind(event) in {"sqs", "s3", "batch", "http", "unknown"}


@given(keys, st.text(alphabet="0123456789abcdef-", max_size=40))
def test_verdict_keys_are_deterministic_bounded_and_under_the_prefix(key, etag):
    a = storage.verdict_key("verdicts/", key, etag)
    assert a == storage.verdict_key("verdicts/", key, f'"{etag}"')
    assert a.startswith("verdicts/") and a.endswith(".json")
    assert len(a.encode()) <= storage.MAX_KEY_BYTES


@given(st.text(max_size=300))
def test_upload_file_names_stay_one_safe_segment(name):
    safe = api.safe_filename(name)
    assert safe and "/" not in safe and "\\" not in safe and not safe.startswith(".")
    assert len(safe) <= 100 and api.SAFE_NAME.search(safe) is None


@settings(max_examples=200)
@given(st.binary(max_size=2000), st.text(max_size=40))
def test_multipart_parsing_of_arbitrary_bodies_fails_only_with_bad_request(body, boundary):
    try:
        data, _ = api.form_file(body, f"multipart/form-data; boundary={boundary}")
    except api.ApiError as exc:
        assert exc.code == "BAD_REQUEST"
    else:
        assert isinstance(data, bytes)


@given(st.binary(max_size=500))
def test_base64_bodies_round_trip(data):
    event = {"body": base64.b64encode(data).decode(), "isBase64Encoded": True}
    assert api.raw_body(event) == data


def test_bad_base64_is_a_bad_request():
    with pytest.raises(api.ApiError) as exc:
        api.raw_body({"body": "not base64!!", "isBase64Encoded": True})
    assert exc.value.code == "BAD_REQUEST"


def test_sqs_test_event_is_recognised():
    assert events.is_test_event(json.loads('{"Event": "s3:TestEvent", "Service": "Amazon S3"}'))


def test_limits_come_from_the_environment(monkeypatch):
    from deepfake_scanner.media import DEFAULT_LIMITS
    from deepfake_service.settings import limits_from_env

    assert limits_from_env() == DEFAULT_LIMITS
    monkeypatch.setenv("LIMIT_MAX_DURATION_S", "30")
    monkeypatch.setenv("LIMIT_MAX_BYTES", "1048576")
    limits = limits_from_env()
    assert limits.max_duration_s == 30.0 and limits.max_bytes == 1048576
    assert isinstance(limits.max_bytes, int) and limits.max_pixels == DEFAULT_LIMITS.max_pixels
    monkeypatch.setenv("LIMIT_MAX_FRAMES", "-1")
    with pytest.raises(ValueError, match="LIMIT_MAX_FRAMES"):
        limits_from_env()
