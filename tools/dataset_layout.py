"""Lay out a public deepfake dataset for converter.train and converter.export, split by person.

    python -m tools.dataset_layout celeb-df /data/Celeb-DF-v2 /data/celeb-df
    python -m tools.dataset_layout ffpp /data/FaceForensics++ /data/ffpp [--compression c23]

Makes DEST/{Train,Validation,Test}/{Real,Fake}/ of symbolic links to the dataset's videos (the
trainer reads every 25th frame and finds the faces itself), so that no person is on two sides:
a face swap shows two people, so it goes to a side only when both of them belong there, and is
left out otherwise. Splitting files at random instead puts a celebrity's real videos in training
and the same celebrity's swaps in validation, and the validation AUC then measures memory.

- celeb-df (Celeb-DF v2): Test is the dataset's List_of_testing_videos.txt (label 1 real, 0
  fake). The other videos are split by celebrity (idN in Celeb-real/idN_*.mp4 and
  Celeb-synthesis/idA_idB_*.mp4): --val-share of the celebrities go to Validation. YouTube-real
  videos have no person id; each is its own.
- ffpp (FaceForensics++): original_sequences/youtube/<compression>/videos/NNN.mp4 and
  manipulated_sequences/<method>/<compression>/videos/AAA_BBB.mp4. Its official split lists
  are not part of the download, so the 1,000 source ids are split 72/14/14 % at random (seeded),
  the proportions of the official split.

Nothing is copied; DEST must not exist yet (or be empty). Prints what went where.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

SIDES = ("Train", "Validation", "Test")
VIDEO = re.compile(r".*\.(mp4|avi|mov|mkv)$", re.IGNORECASE)


def videos(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if VIDEO.match(p.name)) if folder.is_dir() else []


def side_of(people: Iterable[str], sides: dict[str, str]) -> str | None:
    """The side every person of a video is on, or None when they are on different sides."""
    found = {sides[p] for p in people}
    return found.pop() if len(found) == 1 else None


def assign(people: list[str], shares: tuple[float, ...], seed: int) -> dict[str, str]:
    """People to sides at random (seeded): shares of Train, Validation[, Test]."""
    order = [str(p) for p in np.random.default_rng(seed).permutation(sorted(set(people)))]
    sides: dict[str, str] = {}
    start = 0
    for k, share in enumerate(shares):
        end = len(order) if k == len(shares) - 1 else start + round(share * len(order))
        sides |= {p: SIDES[k] for p in order[start:end]}
        start = end
    return sides


def celeb_df(src: Path, val_share: float, seed: int) -> list[tuple[Path, str, str]]:
    """(video, side, Real|Fake) for Celeb-DF v2."""
    listing = src / "List_of_testing_videos.txt"
    if not listing.exists():
        raise SystemExit(f"{listing} not found: is {src} a Celeb-DF v2 folder?")
    test = {}
    for line in listing.read_text().split("\n"):
        if line.strip():
            label, rel = line.split()
            test[rel] = "Real" if label == "1" else "Fake"
    entries, rest = [], []
    for folder, label in (
        ("Celeb-real", "Real"),
        ("YouTube-real", "Real"),
        ("Celeb-synthesis", "Fake"),
    ):
        for video in videos(src / folder):
            rel = f"{folder}/{video.name}"
            if rel in test:
                entries.append((video, "Test", test[rel]))
            else:
                ids = re.findall(r"id(\d+)", video.stem) if folder != "YouTube-real" else []
                rest.append((video, label, [f"id{i}" for i in ids] or [f"youtube-{video.stem}"]))
    sides = assign([p for *_, people in rest for p in people], (1 - val_share, val_share), seed)
    for video, label, people in rest:
        side = side_of(people, sides)
        if side is not None:
            entries.append((video, side, label))
    return entries


def ffpp(src: Path, compression: str, seed: int) -> list[tuple[Path, str, str]]:
    """(video, side, Real|Fake) for FaceForensics++."""
    real = videos(src / "original_sequences" / "youtube" / compression / "videos")
    if not real:
        raise SystemExit(f"no {compression} videos under {src}/original_sequences/youtube")
    sides = assign([v.stem for v in real], (0.72, 0.14, 0.14), seed)
    entries = [(v, sides[v.stem], "Real") for v in real]
    methods = src / "manipulated_sequences"
    for method in sorted(p for p in methods.iterdir() if p.is_dir()) if methods.is_dir() else []:
        for video in videos(method / compression / "videos"):
            people = video.stem.split("_")[:2]
            if all(p in sides for p in people) and (side := side_of(people, sides)) is not None:
                entries.append((video, side, "Fake"))
    return entries


def link(entries: list[tuple[Path, str, str]], src: Path, dest: Path) -> Counter:
    if dest.exists() and any(dest.iterdir()):
        raise SystemExit(f"{dest} is not empty")
    counts: Counter = Counter()
    for video, side, label in entries:
        folder = dest / side / label
        folder.mkdir(parents=True, exist_ok=True)
        name = "__".join(video.relative_to(src).parts)  # unique, and says where it came from
        os.symlink(video.resolve(), folder / name)
        counts[side, label] += 1
    return counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.dataset_layout", description=__doc__)
    p.add_argument("dataset", choices=["celeb-df", "ffpp"])
    p.add_argument("src", type=Path, help="the dataset as downloaded")
    p.add_argument("dest", type=Path, help="where the Train/Validation/Test links go")
    p.add_argument("--val-share", type=float, default=0.1, help="celeb-df: people to Validation")
    p.add_argument("--compression", default="c23", help="ffpp: raw, c23 or c40")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.dataset == "celeb-df":
        entries = celeb_df(a.src, a.val_share, a.seed)
    else:
        entries = ffpp(a.src, a.compression, a.seed)
    counts = link(entries, a.src, a.dest)
    for side in SIDES:
        print(f"{side:10s} real {counts[side, 'Real']:6d}  fake {counts[side, 'Fake']:6d}")
    left = sum(1 for _ in a.src.rglob("*") if VIDEO.match(_.name)) - sum(counts.values())
    print(f"left out (people on two sides, or outside the layout): {left}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
