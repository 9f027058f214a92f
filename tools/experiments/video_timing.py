"""How long does a 10-second 1080p clip take to judge? (README, Video section.)

Writes a 10 s, 30 fps, 1920x1080 clip with OpenCV's VideoWriter (MPEG-4 Part 2: the wheel has
no H.264 encoder): a real photo (Grace Hopper, a person the model never saw) panning across the
frame, one face in every frame. Then scans it with the default settings (32 frames, confident
aggregation, auto seek/grab) and one LiteRT thread, several times in one process (the model
loads once, as in a warm Lambda), and prints each wall time with the scanner's own breakdown,
and the same for forced seeking and forced decoding forward.

    taskset -c 0 .venv/bin/python tools/experiments/video_timing.py   # one core, like 1 vCPU
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from deepfake_scanner.scan import Scanner

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "assets" / "faces" / "eval" / "matplotlib" / "grace_hopper.jpg"


def make_clip(path: Path, seconds: int = 10, fps: int = 30, size=(1920, 1080)) -> Path:
    w, h = size
    photo = cv2.imread(str(PHOTO), cv2.IMREAD_COLOR)
    if photo is None:
        raise SystemExit(f"cannot read {PHOTO}: run make setup")
    photo = cv2.resize(photo, (h * photo.shape[1] // photo.shape[0], h))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    for i in range(seconds * fps):
        frame = np.zeros((h, w, 3), np.uint8)
        x0 = 200 + 2 * i  # moves 600 px over the clip
        frame[:, x0 : x0 + photo.shape[1]] = photo[:, : w - x0]
        writer.write(frame)
    writer.release()
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clip", type=Path, help="an existing clip instead of a made one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.clip or make_clip(Path(tmp) / "clip_1080p.mp4")
        print(f"clip: {clip.stat().st_size / 1e6:.1f} MB")
        for method in ("auto", "grab", "seek"):
            scanner = Scanner(threads=1, read_method=method)
            walls = []
            for _ in range(args.repeats if method == "auto" else 1):
                t = time.perf_counter()
                v = scanner.scan_file(clip)
                walls.append(time.perf_counter() - t)
                print(
                    f"{method}: {walls[-1]:.2f} s, {v.frames_judged} frames, "
                    f"{v.faces_judged} faces, score {v.score}, {v.timings_ms}"
                )
            print(f"{method}: median {statistics.median(walls):.2f} s over {len(walls)}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
