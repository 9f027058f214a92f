"""The HTTP API (API Gateway HTTP API, payload 2.0), on Powertools' event handler.

Routes:
  POST /v1/scan              image or video bytes as the body, or a multipart form file -> verdict
  POST /v1/uploads           {"filename", "size", "content_type"} -> presigned PUT URL
  GET  /v1/verdicts/{key+}   the stored verdict of an uploaded object (404 while there is none)
  GET  /v1/health            model, runtime and limits

Every error response is `{"error": {"code", "message"}}` with the status from `STATUS`; a scan
whose input cannot be judged returns its verdict (which carries the same `error` object).
"""

from __future__ import annotations

import base64
import binascii
import json
import platform
import re
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from email.parser import BytesParser
from email.policy import HTTP
from importlib import metadata
from typing import Any
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from deepfake_scanner.errors import ModelError
from deepfake_scanner.scan import Scanner
from deepfake_scanner.verdict import Verdict

from . import storage
from .settings import Settings

# One place maps error codes to HTTP statuses. Scan error codes not listed are 422.
STATUS = {
    "BAD_REQUEST": 400,
    "EMPTY_INPUT": 400,
    "NOT_FOUND": 404,
    "VERDICT_PENDING": 404,
    "TOO_LARGE": 413,
    "TOO_MANY_PIXELS": 413,
    "VIDEO_TOO_LONG": 413,
    "UNSUPPORTED_MEDIA": 415,
    "UNSUPPORTED_CODEC": 415,
    "UNDECODABLE": 422,
    "NO_VIDEO_STREAM": 422,
    "ZERO_FRAMES": 422,
    "OUT_OF_TIME": 503,
    "ACCESS_DENIED": 403,
    "STORAGE_ERROR": 502,
    "MODEL_LOAD_FAILED": 503,
    "STORAGE_UNAVAILABLE": 503,
}
UPLOAD_TYPES = re.compile(r"^(image|video)/[\w.+-]+$|^application/octet-stream$")
SAFE_NAME = re.compile(r"[^\w.\-]+")
VERDICTS_ROUTE = "/v1/verdicts/"


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_response(code: str, message: str) -> Response:
    body = {"error": {"code": code, "message": message}}
    return json_response(STATUS.get(code, 500), body)


def json_response(status: int, body: dict[str, Any]) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
    )


def verdict_response(verdict: Verdict) -> Response:
    status = 200 if verdict.error is None else STATUS.get(verdict.error.code, 422)
    return json_response(status, verdict.to_dict())


def raw_body(event: dict[str, Any]) -> bytes:
    """The request body as bytes (API Gateway base64-encodes binary bodies)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError("BAD_REQUEST", "body is not valid base64") from exc
    return body.encode("utf-8", "surrogateescape")


def form_file(body: bytes, content_type: str) -> tuple[bytes, str | None]:
    """The first file part of a multipart/form-data body: (bytes, filename)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ApiError("BAD_REQUEST", "multipart body has no parts (check the boundary)")
    for part in message.iter_parts():
        if part.get_filename() is not None or part.get_param("name", header="content-disposition"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload, part.get_filename()
    raise ApiError("BAD_REQUEST", "multipart body has no file part")


def safe_filename(name: str) -> str:
    """The last path segment of a client's file name, in safe characters: it becomes part of
    a key under a fresh random folder, so it can never escape the upload prefix."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return SAFE_NAME.sub("_", base).lstrip("._")[-100:] or "upload"


def build_app(
    get_scanner: Callable[[], Scanner],
    get_settings: Callable[[], Settings],
    deadline: Callable[[], float | None],
) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.code, exc.message)

    @app.exception_handler(storage.StorageError)
    def _storage_error(exc: storage.StorageError) -> Response:
        return error_response(exc.code, exc.message)

    @app.exception_handler(ModelError)
    def _model_error(exc: ModelError) -> Response:
        return error_response(exc.code, str(exc))

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return error_response("NOT_FOUND", f"no route {app.current_event.path}")

    @app.get("/v1/health")
    def health() -> Response:
        scanner = get_scanner()
        return json_response(
            200,
            {
                "status": "ok",
                "model": scanner.model.describe(),
                "threshold": scanner.threshold,
                "limits": asdict(scanner.limits),
                "runtime": {
                    "python": sys.version.split()[0],
                    "machine": platform.machine(),
                    "ai_edge_litert": _version("ai-edge-litert"),
                    "opencv": _version("opencv-python-headless"),
                },
            },
        )

    @app.post("/v1/scan")
    def scan() -> Response:
        event = app.current_event
        body = raw_body(event.raw_event)
        content_type = (event.headers.get("content-type") or "").strip()
        name = None
        if content_type.lower().startswith("multipart/form-data"):
            body, name = form_file(body, content_type)
        request_id = event.request_context.request_id or uuid.uuid4().hex
        source = f"http:{request_id}" + (f"/{SAFE_NAME.sub('_', name)}" if name else "")
        return verdict_response(get_scanner().scan_bytes(body, source, deadline()))

    @app.post("/v1/uploads")
    def uploads() -> Response:
        settings = get_settings()
        try:
            req = json.loads(raw_body(app.current_event.raw_event) or b"{}")
        except ValueError as exc:
            raise ApiError("BAD_REQUEST", "body must be JSON") from exc
        if not isinstance(req, dict):
            raise ApiError("BAD_REQUEST", "body must be a JSON object")
        size = req.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ApiError("BAD_REQUEST", "size (bytes, a positive integer) is required")
        if size > settings.max_upload_bytes:
            raise ApiError("TOO_LARGE", f"{size} bytes is over {settings.max_upload_bytes}")
        content_type = str(req.get("content_type") or "application/octet-stream")
        if not UPLOAD_TYPES.match(content_type):
            raise ApiError("BAD_REQUEST", f"content_type {content_type!r} is not image/*, video/*")
        filename = safe_filename(str(req.get("filename") or ""))
        key = f"{settings.upload_prefix}{uuid.uuid4().hex}/{filename}"
        url = storage.presign_put(
            settings.input_bucket, key, size, content_type, settings.upload_url_ttl_s
        )
        return json_response(
            201,
            {
                "key": key,
                "upload_url": url,
                "method": "PUT",
                "headers": {"Content-Type": content_type, "Content-Length": str(size)},
                "expires_in": settings.upload_url_ttl_s,
                "expires_at": int(time.time()) + settings.upload_url_ttl_s,
                "verdict_path": VERDICTS_ROUTE + quote(key),
            },
        )

    @app.get(VERDICTS_ROUTE + ".+")
    def verdict() -> Response:
        settings = get_settings()
        key = unquote(app.current_event.path[len(VERDICTS_ROUTE) :])
        if not key or len(key.encode()) > storage.MAX_KEY_BYTES:
            raise ApiError("BAD_REQUEST", "a key is required")
        try:
            info = storage.head(settings.input_bucket, key)
        except storage.StorageError as exc:
            if exc.code == "OBJECT_NOT_FOUND":
                raise ApiError("NOT_FOUND", f"no object {key!r} in the input bucket") from exc
            raise
        doc = storage.get_json(
            settings.output_bucket, storage.verdict_key(settings.output_prefix, key, info.etag)
        )
        if doc is None:
            raise ApiError("VERDICT_PENDING", f"{key!r} has no verdict yet; try again shortly")
        return json_response(200, doc)

    return app


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
