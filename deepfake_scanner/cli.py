"""deepfake-scan PATH...: one JSON verdict per line per input file (image or video).

A video's verdict carries a timeline: each sampled frame's time, faces and scores.
A file that cannot be judged gets an error line and the scan goes on. Exit status: 0 when
every input was scanned (whatever the verdicts), 2 for usage errors (bad options, a path that
does not exist), 3 when the model or detector cannot be loaded.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from . import paths
from .errors import ModelError
from .media import DEFAULT_LIMITS
from .video import AGGREGATIONS, DEFAULT_FRAMES


def iter_files(path: Path) -> Iterator[Path]:
    """A file itself, or every non-hidden file under a folder (linked folders followed), in a
    stable order."""
    if path.is_dir():
        yield from paths.files_under(path)
    else:
        yield path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deepfake-scan", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="image or video files, or folders")
    parser.add_argument(
        "--model",
        type=Path,
        default=paths.MODEL_DIR,
        help="model folder with metadata.json (default: the reference model)",
    )
    parser.add_argument("--variant", help="TFLite variant to serve (default: the model's own)")
    parser.add_argument(
        "--detector",
        type=Path,
        default=paths.DETECTOR,
        help="BlazeFace full-range .tflite (fetched at set-up)",
    )
    parser.add_argument(
        "--threshold", type=float, help="fake if score >= this (default: the model's threshold)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="LiteRT (and video decoding) threads"
    )
    parser.add_argument(
        "--frames",
        type=int,
        default=DEFAULT_FRAMES,
        help=f"frames sampled from a video, spread evenly (default {DEFAULT_FRAMES}; at most "
        f"{DEFAULT_LIMITS.max_frames} and {DEFAULT_LIMITS.max_sample_fps:g} per second)",
    )
    parser.add_argument(
        "--aggregation",
        choices=AGGREGATIONS,
        default="confident",
        help="how a video's face scores become its score: confident (DFDC winner: the mean of "
        "the confidently fake faces when more than 40%% are, else the mean) or mean",
    )
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error("--frames must be at least 1")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        parser.error("--threshold must be between 0 and 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from .scan import Scanner  # after argument checks, so --help stays instant

    try:
        scanner = Scanner(
            args.model,
            args.detector,
            threads=args.threads,
            threshold=args.threshold,
            variant=args.variant,
            frames=args.frames,
            aggregation=args.aggregation,
        )
    except ModelError as exc:
        print(f"deepfake-scan: {exc}", file=sys.stderr)
        return 3
    for root in args.paths:
        for path in iter_files(root):
            print(scanner.scan_file(path).to_json(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
