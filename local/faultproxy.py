"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the moto server.

Point the function's `AWS_ENDPOINT_URL_S3` (or `_SQS`) at it and add rules: matching requests get
an S3-style error (503 SlowDown, 500 InternalError, ...), a delay past the client's read
timeout, or a dropped connection, for the first N matches or all of them. Everything else is
forwarded unchanged. Real faults on the wire, so the SDK's retries and our error mapping are
exercised as they would be against AWS.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .net import HOST

ERROR_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
    "<Message>injected by local/faultproxy.py</Message><RequestId>fault</RequestId></Error>"
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}


@dataclass
class Rule:
    method: str  # GET, PUT, HEAD, POST, or * for any
    path: str  # regex searched in the request path (with query)
    action: str = "error"  # error | delay | reset
    status: int = 503
    code: str = "SlowDown"
    delay_s: float = 0.0
    times: int | None = None  # how many matches to fault; None for all
    hits: int = field(default=0)

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method) or not re.search(self.path, path):
            return False
        return self.times is None or self.hits < self.times


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.rules: list[Rule] = []
        self.lock = threading.Lock()
        self.log: list[tuple[str, str, str]] = []  # (method, path, what happened)
        self.server = ThreadingHTTPServer((HOST, 0), self._handler())
        self.server.daemon_threads = True
        self.endpoint = f"http://{HOST}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add(self, rule: Rule) -> Rule:
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def _pick(self, method: str, path: str) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    return rule
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rule = proxy._pick(self.command, self.path)
                if rule is not None:
                    proxy.log.append((self.command, self.path, rule.action))
                    if rule.action == "reset":
                        self.close_connection = True
                        self.connection.close()
                        return
                    if rule.action == "delay":
                        time.sleep(rule.delay_s)
                    else:
                        data = ERROR_BODY.format(code=rule.code).encode()
                        self.send_response(rule.status)
                        self.send_header("Content-Type", "application/xml")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                else:
                    proxy.log.append((self.command, self.path, "forwarded"))
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                up = proxy.upstream
                conn = http.client.HTTPConnection(up.hostname or HOST, up.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                r = conn.getresponse()
                data = r.read()
                self.send_response(r.status, r.reason)
                for k, v in r.getheaders():
                    if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

            def log_message(self, fmt: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
