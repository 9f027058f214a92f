"""The HTTP API on 127.0.0.1: `python -m local.serve [--port 3000]`.

Each request becomes an API Gateway HTTP API payload-2.0 event for the built function under the
runtime interface emulator, as API Gateway would send it (binary bodies base64-encoded); the
function's response becomes the HTTP response. The bucket stack runs beside it, so a presigned
upload from POST /v1/uploads is scanned and its verdict appears at GET /v1/verdicts/{key}.
Locally there is no IAM: requests are not signed. Stop with Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import tempfile
import threading
import uuid
from contextlib import ExitStack, suppress
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .demo import Pollers
from .emulator import Emulator
from .moto import MotoServer, create_stack
from .net import HOST

MAX_BODY = 6 * 1024 * 1024  # API Gateway's (and Lambda's synchronous) payload limit
TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")


def http_event(method: str, target: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """A payload-2.0 event for one request."""
    url = urlsplit(target)
    lower = {k.lower(): v for k, v in headers.items()}
    ctype = lower.get("content-type", "")
    is_text = bool(body) and any(ctype.startswith(t) for t in TEXT_TYPES)
    now = datetime.now(UTC)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": url.path,
        "rawQueryString": url.query,
        "headers": lower,
        "queryStringParameters": dict(parse_qsl(url.query)) or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("Host", HOST),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": url.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lower.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": (body.decode() if is_text else base64.b64encode(body).decode()) if body else None,
        "isBase64Encoded": bool(body) and not is_text,
    }


def make_handler(instance: Emulator, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._reply(413, {"content-type": "application/json"},
                            b'{"message":"Request Entity Too Large"}')  # fmt: skip
                return
            body = self.rfile.read(length) if length else b""
            event = http_event(self.command, self.path, dict(self.headers.items()), body)
            with lock:  # one execution environment: one request at a time
                result = instance.invoke(event)
            if not isinstance(result, dict) or "statusCode" not in result:
                self._reply(502, {"content-type": "application/json"},
                            b'{"message":"Internal Server Error"}')  # fmt: skip
                return
            payload = result.get("body") or ""
            data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
            self._reply(int(result["statusCode"]), result.get("headers") or {}, data)

        def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, fmt: str, *args: Any) -> None:
            print(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", flush=True)

    return Handler


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m local.serve", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=3000)
    ap.add_argument("--for-seconds", type=float, default=None, help="stop after this long")
    args = ap.parse_args(argv)
    logs = Path(tempfile.mkdtemp(prefix="deepfake-serve-"))
    with ExitStack() as ctx:
        server = ctx.enter_context(MotoServer(log=logs / "moto.log"))
        stack = create_stack(server)
        instance = ctx.enter_context(
            Emulator({**server.env(), **stack.function_env()}, log=logs / "function.log")
        )
        # Uploads are scanned by a second instance, as Lambda would run them separately.
        scanner = ctx.enter_context(
            Emulator({**server.env(), **stack.function_env()}, log=logs / "function-sqs.log")
        )
        ctx.enter_context(Pollers(server.client("sqs"), stack, [scanner], 10))
        httpd = ThreadingHTTPServer((HOST, args.port), make_handler(instance, threading.Lock()))
        ctx.callback(httpd.server_close)
        print(
            f"HTTP API on http://{HOST}:{httpd.server_address[1]} (POST /v1/scan, POST /v1/uploads,"
            f" GET /v1/verdicts/KEY, GET /v1/health); S3 at {server.endpoint}; logs in {logs}",
            flush=True,
        )
        if args.for_seconds is not None:
            timer = threading.Timer(args.for_seconds, httpd.shutdown)
            timer.daemon = True
            timer.start()
        with suppress(KeyboardInterrupt):
            httpd.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
