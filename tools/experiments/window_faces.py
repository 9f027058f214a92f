"""Cut the small faces of a large image (a grid of face thumbnails, a group photo) into one file
per face, so the trainer's detector, which sees the whole image at 192x192, finds them.

BlazeFace full-range looks at a letterboxed 192x192 copy, so a 1920-pixel screenshot with a
hundred 60-90 pixel faces yields none. This runs the same detector over overlapping windows
(384 pixels, stride 192), keeps each face once (the most confident detection wins), and writes a
square crop of 2.2x the face box around each face at least MIN_FACE pixels wide. Each file then
holds one main face; as separate files they are separate sources for the trainer's sampling
weights, so the experiment is "many new people, one photo each".

    .venv/bin/python -m tools.experiments.window_faces IMAGE... --out DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from converter.data import MIN_FACE
from deepfake_scanner import paths
from deepfake_scanner.faces import FaceDetector
from tools.make_samples import read_image

WINDOW, STRIDE, CONTEXT = 384, 192, 2.2


def window_boxes(detector: FaceDetector, image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Face boxes (x, y, w, h) found in overlapping windows, each face once."""
    h, w = image.shape[:2]
    found = []
    for y in range(0, max(1, h - WINDOW + STRIDE), STRIDE):
        for x in range(0, max(1, w - WINDOW + STRIDE), STRIDE):
            for face in detector.detect(image[y : y + WINDOW, x : x + WINDOW]):
                bx, by, bw, bh = face.box
                found.append((face.score, bx + x, by + y, bw, bh))
    kept: list[tuple[int, int, int, int]] = []
    for _, x, y, bw, bh in sorted(found, reverse=True):
        cx, cy = x + bw / 2, y + bh / 2
        if all(
            abs(cx - kx - kw / 2) > kw / 2 or abs(cy - ky - kh / 2) > kh / 2
            for kx, ky, kw, kh in kept
        ):
            kept.append((x, y, bw, bh))
    return [b for b in kept if min(b[2], b[3]) >= MIN_FACE]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("images", type=Path, nargs="+")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    detector = FaceDetector(paths.DETECTOR, threads=1)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.images:
        image = read_image(path)
        boxes = window_boxes(detector, image)
        h, w = image.shape[:2]
        for k, (x, y, bw, bh) in enumerate(boxes):
            half = CONTEXT * max(bw, bh) / 2
            cx, cy = x + bw / 2, y + bh / 2
            x0, y0 = max(0, round(cx - half)), max(0, round(cy - half))
            x1, y1 = min(w, round(cx + half)), min(h, round(cy + half))
            cv2.imwrite(str(args.out / f"{path.stem}-{k:03d}.png"), image[y0:y1, x0:x1])
        print(f"{path}: {len(boxes)} faces of at least {MIN_FACE} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
