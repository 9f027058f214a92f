"""The local bucket stack, end to end: `python -m local.demo [FILES or FOLDERS]`.

Starts a moto S3+SQS server on 127.0.0.1 shaped like template.yaml, runs the `sam build` output
under the Lambda runtime interface emulator, drives it from the queue the way Lambda's SQS
event source does, uploads the files into the input bucket, prints each verdict as it lands in
the output bucket, then stops everything it started. Exit status 0 when every upload ended with
a verdict or a dead-letter record, 1 when some did not within --timeout.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .emulator import Emulator
from .moto import MotoServer, Stack, create_stack, take_dead_letters
from .sqs import poll_once

ROOT = Path(__file__).resolve().parent.parent


def iter_files(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """(file, key suffix) for files and the non-hidden files under folders."""
    for root in paths:
        if root.is_file():
            yield root, root.name
            continue
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root)
            if p.is_file() and not any(part.startswith(".") for part in rel.parts):
                yield p, rel.as_posix()


class Pollers:
    """One SQS event-source loop per function instance, until stopped."""

    def __init__(self, sqs: Any, stack: Stack, instances: list[Emulator], batch_size: int) -> None:
        self.stop_event = threading.Event()
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._run, args=(sqs, stack, e, batch_size), daemon=True)
            for e in instances
        ]

    def _run(self, sqs: Any, stack: Stack, instance: Emulator, batch_size: int) -> None:
        while not self.stop_event.is_set():
            try:
                poll_once(sqs, stack.queue_url, stack.queue_arn, instance.invoke, batch_size)
            except Exception as exc:  # keep polling; report at the end
                self.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.5)

    def __enter__(self) -> Pollers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(10)


def summary_line(doc: dict[str, Any]) -> str:
    key = doc["object"]["key"]
    if doc.get("error"):
        return f"{'unknown':7} {'':>6}  {key}  [{doc['error']['code']}] {doc['error']['message']}"
    if doc.get("media") == "video":
        extra = f"video frames={doc.get('frames_judged')} faces={doc.get('faces_judged')}"
        if doc.get("partial"):
            extra += f" partial coverage={doc.get('coverage')}"
    elif doc.get("faces"):
        extra = f"faces={len(doc['faces'])}"
    else:
        extra = f"region={doc.get('region')}"
    score = f"{doc['score']:.4f}"
    return (
        f"{doc['label']:7} {score:>6}  {key}  {extra}  {doc['timings_ms'].get('total', 0):.0f} ms"
    )


def run(args: argparse.Namespace) -> int:
    logs = Path(tempfile.mkdtemp(prefix="deepfake-local-"))
    with ExitStack() as stack_ctx:
        server = stack_ctx.enter_context(MotoServer(log=logs / "moto.log"))
        stack = create_stack(server, visibility_timeout_s=args.visibility_timeout)
        env = {**server.env(), **stack.function_env()}
        t0 = time.monotonic()
        instances = [
            stack_ctx.enter_context(Emulator(env, log=logs / f"function-{i}.log"))
            for i in range(args.instances)
        ]
        print(
            f"local stack up: moto {server.endpoint}, {len(instances)} function instance(s) "
            f"under the Lambda runtime interface emulator ({time.monotonic() - t0:.1f} s); "
            f"logs in {logs}",
            flush=True,
        )
        s3, sqs = server.client("s3"), server.client("sqs")
        stack_ctx.enter_context(Pollers(sqs, stack, instances, args.batch_size))
        uploaded: dict[str, Path] = {}
        for path, suffix in iter_files(args.paths):
            key = stack.upload_prefix + suffix
            s3.upload_file(str(path), stack.input_bucket, key)
            uploaded[key] = path
        print(
            f"uploaded {len(uploaded)} file(s) to s3://{stack.input_bucket}/{stack.upload_prefix}",
            flush=True,
        )
        seen: set[str] = set()
        dead: list[dict[str, Any]] = []
        deadline = time.monotonic() + args.timeout
        while len(seen) + len(dead) < len(uploaded) and time.monotonic() < deadline:
            listed = s3.list_objects_v2(Bucket=stack.output_bucket).get("Contents", [])
            for obj in sorted(listed, key=lambda o: o["LastModified"]):
                if obj["Key"] in seen:
                    continue
                seen.add(obj["Key"])
                body = s3.get_object(Bucket=stack.output_bucket, Key=obj["Key"])["Body"].read()
                doc = json.loads(body)
                print(json.dumps(doc, ensure_ascii=False) if args.json else summary_line(doc))
                sys.stdout.flush()
            for letter in take_dead_letters(sqs, stack):
                dead.append(letter)
                print(f"DEAD-LETTER  {letter.get('reason')}", flush=True)
            time.sleep(0.2)
        missing = len(uploaded) - len(seen) - len(dead)
        print(
            f"{len(uploaded)} uploaded, {len(seen)} verdicts in s3://{stack.output_bucket}/"
            f"verdicts/, {len(dead)} dead-lettered, {missing} unaccounted "
            f"({time.monotonic() - t0:.1f} s)",
            flush=True,
        )
        return 0 if missing == 0 else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path, default=[ROOT / "samples"])
    ap.add_argument("--instances", type=int, default=1, help="function instances (default 1)")
    ap.add_argument("--batch-size", type=int, default=10, help="SQS batch size (default 10)")
    ap.add_argument("--visibility-timeout", type=int, default=30)
    ap.add_argument("--timeout", type=float, default=300, help="give up after this many seconds")
    ap.add_argument("--json", action="store_true", help="print whole verdict documents")
    args = ap.parse_args(argv)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        ap.error(f"no such file or folder: {', '.join(missing)}")
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
