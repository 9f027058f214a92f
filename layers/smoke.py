"""Import-and-run check of a built layer, as Lambda would load it (run by layers/build.py).

    PYTHONPATH=<project>:<out>/x86_64/python:<boto3 dir> python3.12 -S layers/smoke.py \
        --layer <out>/x86_64/python --runtime <boto3 dir> --project <project>

Started with -S, so nothing comes from any site-packages: every third-party module must come
from the layer, except boto3/botocore (the runtime's, here the stand-in directory). Prints one
JSON line; any failure raises (non-zero exit).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

LAYER_MODULES = (
    "numpy",
    "cv2",
    "ai_edge_litert",
    "aws_lambda_powertools",
    "aws_xray_sdk",
    "jmespath",
    "wrapt",
    "typing_extensions",
)
RUNTIME_MODULES = ("botocore",)


def _under(module: str, root: Path) -> bool:
    path = Path(sys.modules[module].__file__ or "").resolve()
    return path.is_relative_to(root)


def run_model(path: Path) -> dict:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=1)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    rng = np.random.default_rng(0)
    x = rng.random(tuple(inp["shape"]), dtype=np.float32).astype(inp["dtype"])
    interp.set_tensor(inp["index"], x)
    t = time.perf_counter()
    interp.invoke()
    ms = (time.perf_counter() - t) * 1000
    outs = [interp.get_tensor(o["index"]) for o in interp.get_output_details()]
    if not all(np.isfinite(o.astype(np.float64)).all() for o in outs):
        raise AssertionError(f"{path.name}: non-finite output")
    return {
        "input": [int(d) for d in inp["shape"]],
        "outputs": [list(map(int, o.shape)) for o in outs],
        "first": float(outs[0].ravel()[0]),
        "ms": round(ms, 1),
    }


def check_powertools() -> dict:
    from aws_lambda_powertools import Logger, Metrics, Tracer
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
    from aws_lambda_powertools.utilities.data_classes import S3Event, SQSEvent
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from aws_xray_sdk.core import patch, xray_recorder

    Logger(service="layer-check", level="WARNING").info("not shown")
    tracer = Tracer(service="layer-check")  # disabled outside Lambda, but imports X-Ray

    @tracer.capture_method
    def traced() -> int:
        return 1

    patch(("botocore",))  # wrapt (a C extension from the layer) around the runtime's botocore
    metrics = Metrics(namespace="LayerCheck", service="layer-check")
    metrics.add_metric(name="Checks", unit=MetricUnit.Count, value=1)
    emf = metrics.serialize_metric_set()
    app = APIGatewayHttpResolver()

    @app.get("/v1/health")
    def health() -> dict:
        return {"ok": True}

    event = {
        "version": "2.0",
        "routeKey": "GET /v1/health",
        "rawPath": "/v1/health",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": "/v1/health"}, "stage": "$default"},
        "isBase64Encoded": False,
    }
    response = app.resolve(event, LambdaContext())
    if response["statusCode"] != 200 or json.loads(response["body"]) != {"ok": True}:
        raise AssertionError(f"HTTP resolver answered {response}")
    BatchProcessor(event_type=EventType.SQS)
    s3 = S3Event({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "a+b.jpg"}}}]})
    SQSEvent({"Records": []})
    return {
        "traced": traced(),
        "xray_recorder": type(xray_recorder).__name__,
        "emf_metrics": [m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]],
        "http": response["statusCode"],
        "s3_key": s3.object_key,
    }


def pick_image(project: Path) -> Path | None:
    for pattern in (
        "samples/real/*.jpg",
        "assets/faces/train/face-api/*.jpg",
        "assets/faces/**/*.jpg",
    ):
        found = sorted(project.glob(pattern))
        if found:
            return found[0]
    return None


def decode_video(project: Path) -> dict | None:
    """One frame through OpenCV's FFmpeg backend (the bundled libav* libraries)."""
    import cv2

    videos = sorted(project.glob("samples/**/*.mp4")) + sorted(project.glob("assets/**/*.mp4"))
    if not videos:
        return None
    cap = cv2.VideoCapture(str(videos[0]), cv2.CAP_FFMPEG)
    ok, frame = cap.read()
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    if not ok or frame is None:
        raise AssertionError(f"OpenCV could not decode {videos[0]}")
    return {"file": videos[0].name, "frame": list(frame.shape), "frames": frames}


def scan(project: Path, image: Path) -> dict:
    """The whole pipeline (decode, BlazeFace, crops, classifier) on one photo."""
    from deepfake_scanner.scan import Scanner

    if not _under("deepfake_scanner", project):
        raise AssertionError("deepfake_scanner is not the project's")
    verdict = Scanner(threads=1).scan_file(image)
    if verdict.error is not None or verdict.score is None or not verdict.faces:
        raise AssertionError(f"scan of {image} went wrong: {verdict.to_json()}")
    return {
        "image": str(image.relative_to(project) if image.is_relative_to(project) else image),
        "label": verdict.label,
        "score": verdict.score,
        "faces": len(verdict.faces),
        "timings_ms": verdict.timings_ms,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layer", type=Path, required=True)
    ap.add_argument("--runtime", type=Path, required=True)
    ap.add_argument("--project", type=Path, required=True)
    ap.add_argument("--image", type=Path, help="photo to scan (default: one from samples/)")
    args = ap.parse_args()
    layer, runtime, project = (p.resolve() for p in (args.layer, args.runtime, args.project))
    if "site" in sys.modules:
        raise AssertionError("run me with python -S")

    t = time.perf_counter()
    import ai_edge_litert.interpreter  # noqa: F401
    import cv2
    import numpy as np

    import_ms = (time.perf_counter() - t) * 1000
    report: dict = {"python": sys.version.split()[0], "import_ms": round(import_ms)}
    report["powertools"] = check_powertools()
    report["versions"] = {"numpy": np.__version__, "cv2": cv2.__version__}
    report["ffmpeg"] = bool(re.search(r"FFMPEG:\s+YES", cv2.getBuildInformation()))

    misplaced = [m for m in LAYER_MODULES if not _under(m, layer)]
    misplaced += [m for m in RUNTIME_MODULES if not _under(m, runtime)]
    if misplaced:
        raise AssertionError(
            f"not loaded from where expected: {[(m, sys.modules[m].__file__) for m in misplaced]}"
        )

    report["video"] = decode_video(project)
    from deepfake_scanner.artifacts import resolve  # the file serving loads (parity gate's pick)

    report["seed_cnn"] = run_model(resolve(project / "models/reference").path)
    detector = project / "assets/models/face_detection_full_range.tflite"
    image = args.image or pick_image(project)
    report["blazeface"] = run_model(detector) if detector.exists() else None
    report["scan"] = scan(project, image) if detector.exists() and image else None
    missing = [] if detector.exists() else [str(detector.relative_to(project))]
    missing += [] if image else ["photo under samples/ or assets/faces/"]
    report["skipped"] = (
        f"BlazeFace and the scan: no {' and no '.join(missing)} (make setup)" if missing else None
    )
    report["summary"] = {
        "python": report["python"],
        "import_ms": report["import_ms"],
        "seed_cnn_ms": report["seed_cnn"]["ms"],
        "blazeface_ms": report["blazeface"] and report["blazeface"]["ms"],
        "scan": report["scan"]
        and f"{report['scan']['image']}: {report['scan']['label']} {report['scan']['score']} "
        f"({report['scan']['faces']} faces)",
        "video": report["video"] and f"{report['video']['file']} {report['video']['frame']}",
        "skipped": report["skipped"],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
