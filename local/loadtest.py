"""Load test through the local stack: `python -m local.loadtest [--uploads 2000] [--instances 3]`.

Uploads a mix of valid and bad files into the local input bucket, injects duplicate deliveries
(the same S3 notification sent to the queue again, as S3 and SQS may do) and notifications for
objects that do not exist (they must be dead-lettered with OBJECT_NOT_FOUND), runs several
function instances under the runtime interface emulator from the emulated SQS event source, and
checks that every upload and phantom ended with exactly one verdict document or a dead-letter
record. Prints throughput and the dead letters by reason; exit status 1 if anything is
unaccounted for or duplicated. Everything runs on 127.0.0.1 and stops after --timeout seconds
at most.
"""

from __future__ import annotations

import argparse
import json
import random
import struct
import tempfile
import time
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import cv2

from .demo import Pollers
from .emulator import Emulator
from .moto import MotoServer, Stack, create_stack, take_dead_letters

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "assets" / "faces" / "train" / "face-api"


def png_bomb_header(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG whose header declares width x height pixels (refused before decoding)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    crc = struct.pack(">I", zlib.crc32(chunk))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + crc


def corpus() -> tuple[list[bytes], list[bytes]]:
    """(valid files, bad files): small face photos, and inputs that cannot be judged."""
    valid = []
    for path in sorted(FACES.glob("sample*.jpg")):
        image = cv2.imread(str(path))
        if image is None:
            raise FileNotFoundError(f"{path} does not decode")
        scale = 480 / max(image.shape[:2])
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        valid.append(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
    if not valid:
        raise FileNotFoundError(f"no face photos in {FACES}: run `make setup`")
    bad = [
        b"",
        b"hello, this is text named .jpg",
        valid[0][: len(valid[0]) // 2],  # truncated JPEG
        png_bomb_header(),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"PK\x03\x04" + b"\x00" * 40,
    ]
    return valid, bad


def notification(stack: Stack, key: str) -> str:
    """The body S3 sends for an upload, re-sent to inject a duplicate delivery."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": stack.input_bucket}, "object": {"key": quote_plus(key, "/")}},
    }
    return json.dumps({"Records": [record]})


def queue_empty(sqs: Any, stack: Stack) -> bool:
    attrs = sqs.get_queue_attributes(
        QueueUrl=stack.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(v) == 0 for v in attrs.values())


def account(s3: Any, sqs: Any, stack: Stack, dead: list[dict]) -> Counter:
    """Verdict documents per input key; new dead letters are moved into `dead`."""
    per_key: Counter = Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.output_bucket):
        for obj in page.get("Contents", []):
            key = obj["Key"][len("verdicts/") :].rsplit("/", 1)[0]
            per_key[key] += 1
    dead.extend(take_dead_letters(sqs, stack))
    return per_key


def dead_key(letter: dict) -> str:
    return unquote_plus(letter["record"]["Records"][0]["s3"]["object"]["key"])


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)  # nosec B311: picks test files, not secrets
    valid, bad = corpus()
    logs = Path(tempfile.mkdtemp(prefix="deepfake-load-"))
    with ExitStack() as ctx:
        server = ctx.enter_context(MotoServer(log=logs / "moto.log"))
        stack = create_stack(server, visibility_timeout_s=args.visibility_timeout)
        env = {**server.env(), **stack.function_env()}
        instances = [
            ctx.enter_context(Emulator(env, log=logs / f"function-{i}.log"))
            for i in range(args.instances)
        ]
        s3, sqs = server.client("s3"), server.client("sqs")
        plan = []
        for i in range(args.uploads):
            is_bad = rng.random() < args.bad_fraction
            body = rng.choice(bad) if is_bad else rng.choice(valid)
            plan.append((f"{stack.upload_prefix}load/{i:05d} file+{i % 7}.jpg", body, is_bad))
        t0 = time.monotonic()
        ctx.enter_context(Pollers(sqs, stack, instances, args.batch_size))
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda p: s3.put_object(Bucket=stack.input_bucket, Key=p[0], Body=p[1]), plan
                )
            )
        uploaded_s = time.monotonic() - t0
        dupes = rng.sample(plan, int(len(plan) * args.duplicates))
        for key, _, _ in dupes:
            sqs.send_message(QueueUrl=stack.queue_url, MessageBody=notification(stack, key))
        phantoms = [
            f"{stack.upload_prefix}load/never-uploaded-{i}.jpg" for i in range(args.phantoms)
        ]
        for key in phantoms:
            sqs.send_message(QueueUrl=stack.queue_url, MessageBody=notification(stack, key))
        dead: list[dict] = []
        deadline = time.monotonic() + args.timeout
        keys = {k for k, _, _ in plan} | set(phantoms)
        while time.monotonic() < deadline:
            per_key = account(s3, sqs, stack, dead)
            if keys <= set(per_key) | {dead_key(d) for d in dead} and queue_empty(sqs, stack):
                break
            time.sleep(1)
        elapsed = time.monotonic() - t0
        per_key = account(s3, sqs, stack, dead)
    reasons = Counter(d["reason"]["code"] for d in dead)
    dead_keys = {dead_key(d) for d in dead}
    unaccounted = sorted(k for k in keys if per_key[k] == 0 and k not in dead_keys)
    duplicated = sorted(k for k, n in per_key.items() if n > 1)
    report = {
        "uploads": len(plan),
        "valid": sum(not b for _, _, b in plan),
        "bad": sum(b for _, _, b in plan),
        "duplicate_deliveries_injected": len(dupes),
        "phantom_notifications_injected": len(phantoms),
        "instances": args.instances,
        "verdict_documents": sum(per_key.values()),
        "objects_with_a_verdict": len(per_key),
        "dead_letters": len(dead),
        "dead_letters_by_reason": dict(reasons),
        "unaccounted": len(unaccounted),
        "duplicated_verdicts": len(duplicated),
        "upload_seconds": round(uploaded_s, 1),
        "elapsed_seconds": round(elapsed, 1),
        "verdicts_per_second": round(len(per_key) / elapsed, 1),
        "logs": str(logs),
        "examples_unaccounted": unaccounted[:5],
    }
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m local.loadtest", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--uploads", type=int, default=2000)
    ap.add_argument("--instances", type=int, default=3, help="function instances at once")
    ap.add_argument("--bad-fraction", type=float, default=0.2)
    ap.add_argument("--duplicates", type=float, default=0.1, help="fraction re-delivered")
    ap.add_argument(
        "--phantoms", type=int, default=10, help="notifications for objects never uploaded"
    )
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--visibility-timeout", type=int, default=30)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the report here")
    args = ap.parse_args(argv)
    report = run(args)
    width = max(len(k) for k in report)
    for k, v in report.items():
        print(f"{k:<{width}}  {v}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    ok = report["unaccounted"] == 0 and report["duplicated_verdicts"] == 0
    print(
        "OK: uploads = objects with a verdict + dead-lettered, none duplicated" if ok else "FAILED"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
