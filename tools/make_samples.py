"""Make the demo's sample set under samples/ (git-ignored) from photos fetched at set-up.

    samples/real/   real photos of people the reference model never saw (reserved sources)
    samples/fake/   the same photos with every face self-blended in place (a pseudo-fake:
                    the kind of blend boundary a face swap leaves)
    samples/bad/    inputs that cannot be judged: empty, truncated, text named .jpg

Deterministic: the same seed gives the same files.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import cv2
import numpy as np

from converter.data import CONTEXT_MARGIN
from converter.selfblend import self_blend
from deepfake_scanner import paths
from deepfake_scanner.faces import FaceDetector
from deepfake_scanner.preprocess import square_region

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = [
    "faces/eval/matplotlib/grace_hopper.jpg",
    "faces/eval/scikit-image/astronaut.png",
    "faces/eval/face_recognition/biden.jpg",
    "faces/eval/tracking/faces.jpg",
    "faces/eval/facetorch/test2.jpg",
]


def blend_faces(image: np.ndarray, detector: FaceDetector, rng: np.random.Generator) -> np.ndarray:
    """Every face that lies wholly inside the image, replaced by a self-blend of itself."""
    out = image.copy()
    h, w = image.shape[:2]
    for face in detector.detect(image):
        x0, y0, side = square_region(face.box, CONTEXT_MARGIN)
        if x0 < 0 or y0 < 0 or x0 + side > w or y0 + side > h:
            continue
        region = out[y0 : y0 + side, x0 : x0 + side]
        kps = np.asarray(face.keypoints, np.float32) - (x0, y0)
        out[y0 : y0 + side, x0 : x0 + side] = self_blend(region, kps, rng, difficulty=0.6)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "samples")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    detector = FaceDetector(paths.DETECTOR)
    for sub in ("real", "fake", "bad"):
        shutil.rmtree(args.out / sub, ignore_errors=True)
        (args.out / sub).mkdir(parents=True)
    for rel in PHOTOS:
        src = ROOT / "assets" / rel
        name = f"{src.parent.name}-{src.stem}.jpg"
        image = cv2.imread(str(src), cv2.IMREAD_COLOR)
        shutil.copy(src, args.out / "real" / f"{src.parent.name}-{src.name}")
        cv2.imwrite(
            str(args.out / "fake" / name),
            blend_faces(image, detector, rng),
            [cv2.IMWRITE_JPEG_QUALITY, 92],
        )
    good = args.out / "fake" / f"{Path(PHOTOS[0]).parent.name}-{Path(PHOTOS[0]).stem}.jpg"
    data = good.read_bytes()
    (args.out / "bad" / "empty.jpg").write_bytes(b"")
    (args.out / "bad" / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (args.out / "bad" / "notes.jpg").write_text("this is text, not a photo\n")
    print(f"samples: {sum(1 for _ in args.out.rglob('*') if _.is_file())} files in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
