"""End to end: the `sam build` output under the Lambda runtime interface emulator (python3.12,
the layer on the path), with a real moto S3+SQS server, the emulated SQS event source, the
HTTP shim and the demo command. Needs `make build` (the test target runs it)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from local.emulator import Emulator, built
from local.moto import MotoServer, create_stack
from local.net import free_port, wait_http
from local.sqs import poll_once
from tests.integration.conftest import load_event

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def build_ready():
    try:
        built()
    except FileNotFoundError as exc:
        pytest.fail(f"{exc} (make test builds it)")


@pytest.fixture(scope="module")
def live(build_ready, tmp_path_factory):
    logs = tmp_path_factory.mktemp("e2e")
    with MotoServer(log=logs / "moto.log") as server:
        stack = create_stack(server, name="e2e")
        env = {**server.env(), **stack.function_env()}
        with Emulator(env, log=logs / "function.log") as fn:
            yield server, stack, fn, logs


def test_bucket_upload_to_verdict_under_the_runtime_interface(live, face_photos):
    server, stack, fn, logs = live
    s3, sqs = server.client("s3"), server.client("sqs")
    uploads = {
        "uploads/e2e/ünïcode name+1.jpg": face_photos[0].read_bytes(),
        "uploads/e2e/not-an-image.png": b"<html>hello</html>",
    }
    for key, body in uploads.items():
        s3.put_object(Bucket=stack.input_bucket, Key=key, Body=body)
    found: dict[str, dict] = {}
    end = time.monotonic() + 60
    while len(found) < len(uploads) and time.monotonic() < end:
        poll_once(sqs, stack.queue_url, stack.queue_arn, fn.invoke)
        for obj in s3.list_objects_v2(Bucket=stack.output_bucket).get("Contents", []):
            doc = json.loads(
                s3.get_object(Bucket=stack.output_bucket, Key=obj["Key"])["Body"].read()
            )
            found[doc["object"]["key"]] = doc
    assert set(found) == set(uploads), (logs / "function.log").read_text()[-3000:]
    good = found["uploads/e2e/ünïcode name+1.jpg"]
    assert good["label"] in ("real", "fake") and good["faces"] and good["error"] is None
    assert found["uploads/e2e/not-an-image.png"]["error"]["code"] == "UNSUPPORTED_MEDIA"
    dlq = sqs.receive_message(QueueUrl=stack.dead_letter_queue_url, WaitTimeSeconds=0)
    assert "Messages" not in dlq


def test_http_events_under_the_runtime_interface(live, face_photos):
    _, _, fn, _ = live
    health = load_event("http-health.json")
    r = fn.invoke(health)
    body = json.loads(r["body"])
    assert r["statusCode"] == 200
    assert body["runtime"]["python"].startswith("3.12"), body["runtime"]  # the template's runtime
    assert body["runtime"]["ai_edge_litert"] == "2.3.0"
    scan = load_event("http-health.json")
    scan["rawPath"] = scan["requestContext"]["http"]["path"] = "/v1/scan"
    scan["requestContext"]["http"]["method"] = "POST"
    scan["body"] = base64.b64encode(face_photos[0].read_bytes()).decode()
    r = fn.invoke(scan)
    verdict = json.loads(r["body"])
    assert r["statusCode"] == 200 and verdict["faces"] and verdict["media"] == "image"


def test_demo_command_accounts_for_every_upload(build_ready, tmp_path, face_photos):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "face.jpg").write_bytes(face_photos[1].read_bytes())
    (folder / "empty.jpg").write_bytes(b"")
    out = subprocess.run(
        [sys.executable, "-m", "local.demo", str(folder), "--timeout", "120"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 uploaded, 2 verdicts" in out.stdout and "0 unaccounted" in out.stdout
    assert "[EMPTY_INPUT]" in out.stdout


def test_serve_answers_post_scan(build_ready, face_photos):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.serve", "--port", str(port), "--for-seconds", "90"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/health", timeout_s=60, proc=proc)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/scan",
            data=face_photos[0].read_bytes(),
            headers={"Content-Type": "image/jpeg"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            verdict = json.loads(r.read())
        assert r.status == 200 and verdict["schema"] == "deepfake-verdict/1" and verdict["faces"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_crash_mid_batch_loses_nothing(build_ready, tmp_path, face_photos):
    """The function instance is killed (SIGKILL) while it judges a batch: nothing is deleted
    from the queue, the messages come back after the visibility timeout, a fresh instance
    judges them, and every upload ends with exactly one verdict."""
    import threading

    with MotoServer(log=tmp_path / "moto.log") as server:
        stack = create_stack(server, name="crash", visibility_timeout_s=2)
        s3, sqs = server.client("s3"), server.client("sqs")
        keys = [f"uploads/crash/{i}.jpg" for i in range(12)]
        for i, key in enumerate(keys):
            s3.put_object(Bucket=stack.input_bucket, Key=key, Body=face_photos[i % 3].read_bytes())
        env = {**server.env(), **stack.function_env()}
        victim = Emulator(env, log=tmp_path / "victim.log").start()
        outcome: list = []

        def invoke(event):
            try:
                return victim.invoke(event)
            except OSError as exc:  # the connection dies with the instance
                outcome.append(exc)
                return None

        killer = threading.Timer(0.15, victim.kill)
        killer.start()
        received, deleted = poll_once(sqs, stack.queue_url, stack.queue_arn, invoke, batch_size=10)
        killer.join()
        assert received > 0 and deleted == 0 and outcome, "the batch was not cut short"
        with Emulator(env, log=tmp_path / "survivor.log") as survivor:
            end = time.monotonic() + 60
            while time.monotonic() < end:
                poll_once(sqs, stack.queue_url, stack.queue_arn, survivor.invoke, wait_s=1)
                listed = s3.list_objects_v2(Bucket=stack.output_bucket).get("Contents", [])
                if len(listed) >= len(keys):
                    break
        listed = s3.list_objects_v2(Bucket=stack.output_bucket).get("Contents", [])
        judged = sorted(o["Key"].split("/", 1)[1].rsplit("/", 1)[0] for o in listed)
        assert judged == sorted(keys)  # each exactly once


def test_load_through_the_local_stack_accounts_for_every_upload(build_ready):
    """A small run of the load test (the README quotes a 2,000-upload run)."""
    from local.loadtest import main as loadtest

    assert loadtest(["--uploads", "80", "--instances", "2", "--phantoms", "4",
                     "--timeout", "180"]) == 0  # fmt: skip
