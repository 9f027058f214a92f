"""One fresh process: import, load, scan files, report. Run by benchmarks/run.py for the cold
start and peak-memory figures; it imports nothing it does not need, so its timings are the
program's own.

    python benchmarks/probe.py {scanner|handler|tf} FILE [FILE ...] [--video FILE]

scanner: `from deepfake_scanner.scan import Scanner; Scanner().scan_file(path)`.
handler: `import handler` (the model loads at import), then `handler.lambda_handler` with an API
         Gateway HTTP API (payload 2.0) `POST /v1/scan` event carrying the image base64-encoded.
tf:      the TensorFlow way to do the same: import keras on TensorFlow, load the float .keras
         model, then the same decoding, face detection and crops, classified by Keras.
Prints one line `BENCH {json}` with time.time() marks; the parent reads peak RSS from wait4().
"""

import time

T_MAIN = time.time()

import sys  # noqa: E402


def _files_and_video(argv):
    files, video, i = [], None, 0
    while i < len(argv):
        if argv[i] == "--video":
            video = argv[i + 1]
            i += 2
        else:
            files.append(argv[i])
            i += 1
    return files, video


def _read(path):
    """A file's bytes, read when it is scanned and not kept: a Lambda invocation holds one
    input, so the peak RSS is measured with one in memory at a time (until 2026-11-27 all were
    read first, 4.6 MB for the benchmark's 20 photos; a page-cached read is well under 1 ms)."""
    with open(path, "rb") as f:
        return f.read()


def _status_mb(field):
    """VmHWM (peak resident set) or VmRSS (now) of this process, in MB."""
    for line in open("/proc/self/status"):  # noqa: SIM115
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return None


class Marks(dict):
    """time.time() at each step, and the resident set size (MB) right then."""

    def __init__(self):
        super().__init__(main=T_MAIN)
        self.rss = {"main": _status_mb("VmRSS")}

    def mark(self, name, once=False):
        if once and name in self:
            return
        self[name] = time.time()
        self.rss[name] = _status_mb("VmRSS")


class _Context:
    """What Powertools reads from a Lambda context object."""

    function_name = "deepfake-scanner-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 30_000


def http_event(data: bytes, request_id: str) -> dict:
    import base64

    http = {
        "method": "POST",
        "path": "/v1/scan",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "bench",
    }
    return {
        "version": "2.0",
        "routeKey": "POST /v1/scan",
        "rawPath": "/v1/scan",
        "rawQueryString": "",
        "headers": {"content-type": "application/octet-stream"},
        "requestContext": {
            "http": http,
            "requestId": request_id,
            "routeKey": "POST /v1/scan",
            "stage": "$default",
            "accountId": "000000000000",
            "apiId": "bench",
            "domainName": "localhost",
            "timeEpoch": 0,
        },
        "body": base64.b64encode(data).decode("ascii"),
        "isBase64Encoded": True,
    }


def main(mode, argv):
    inputs, video = _files_and_video(argv)
    marks = Marks()
    marks.mark("inputs")
    results = []
    if mode == "scanner":
        from deepfake_scanner.scan import Scanner

        marks.mark("imported")
        scanner = Scanner()
        marks.mark("loaded")
        for name in inputs:
            v = scanner.scan_bytes(_read(name), name)
            marks.mark("first_verdict", once=True)
            results.append({"label": v.label, "faces": len(v.faces), "error": v.error})
        if video:
            from pathlib import Path

            v = scanner.scan_file(Path(video))
            marks.mark("video_done")
            err = v.error.code if v.error else None
            results.append({"video": video, "media": v.media, "label": v.label, "error": err})
    elif mode == "handler":
        import handler

        marks.mark("imported")
        marks.mark("loaded")  # the model loads at import
        ctx = _Context()
        for k, name in enumerate(inputs):
            r = handler.lambda_handler(http_event(_read(name), f"bench-{k}"), ctx)
            marks.mark("first_verdict", once=True)
            results.append({"status": r.get("statusCode"), "bytes": len(r.get("body", ""))})
    elif mode == "tf":
        import keras  # on TensorFlow: imports tensorflow

        from deepfake_scanner import paths
        from deepfake_scanner.artifacts import read_metadata
        from deepfake_scanner.faces import FaceDetector
        from deepfake_scanner.media import decode_image
        from deepfake_scanner.preprocess import face_crops, full_frame_crop, normalise

        marks.mark("imported")
        meta = read_metadata(paths.MODEL_DIR)
        model = keras.models.load_model(
            paths.MODEL_DIR / meta["files"]["keras"]["path"], compile=False
        )
        detector = FaceDetector(paths.DETECTOR)
        marks.mark("loaded")
        for name in inputs:
            image, _ = decode_image(_read(name))
            faces = detector.detect(image)
            crops = face_crops(image, [f.box for f in faces]) if faces else full_frame_crop(image)
            scores = model(normalise(crops), training=False)
            score = float(max(float(s) for s in list(scores.numpy().reshape(-1))))
            marks.mark("first_verdict", once=True)
            label = "fake" if score >= meta["threshold"] else "real"
            results.append({"label": label, "faces": len(faces)})
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    marks.mark("done")
    import json

    for r in results:
        if r.get("error") is not None and not isinstance(r["error"], str):
            r["error"] = getattr(r["error"], "code", str(r["error"]))
    out = {
        "mode": mode,
        "marks": dict(marks),
        "rss_mb": marks.rss,
        "results": results,
        "vmhwm_mb": _status_mb("VmHWM"),
    }
    sys.stdout.write("BENCH " + json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
