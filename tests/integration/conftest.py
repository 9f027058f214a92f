"""A real S3 + SQS server (moto) on 127.0.0.1 for the session, a fresh stack per test, and the
handler imported in-process with its environment pointing at that stack."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from local.moto import MotoServer, Stack, create_stack

EVENTS = Path(__file__).resolve().parents[2] / "events"
_names = itertools.count()


@pytest.fixture(scope="session")
def moto(tmp_path_factory) -> MotoServer:
    server = MotoServer(log=tmp_path_factory.mktemp("moto") / "moto.log").start()
    yield server
    server.stop()


@pytest.fixture
def stack(moto, monkeypatch) -> Stack:
    st = create_stack(moto, name=f"t{next(_names)}", max_receive_count=2, visibility_timeout_s=1)
    for k, v in {**moto.env(), **st.function_env()}.items():
        monkeypatch.setenv(k, v)
    from deepfake_service import settings, storage

    settings.get_settings.cache_clear()
    storage.client.cache_clear()
    yield st
    settings.get_settings.cache_clear()
    storage.client.cache_clear()


class FakeContext:
    """The few LambdaContext fields the handler reads (the e2e tests use the real runtime)."""

    function_name = "deepfake-scanner"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:deepfake-scanner"
    memory_limit_in_mb = 1024
    aws_request_id = "req-1"
    log_group_name = "/aws/lambda/deepfake-scanner"
    log_stream_name = "local"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())
