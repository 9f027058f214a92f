"""Do self-blends of photos that are not faces help the seed CNN see blends on new people?

The reserved AUC is bound by the few real identities the registries hold (docs/experiments.md, "What
we tried"): the network learns the blend on about 55 people, mostly video frames, and tells blends
of new people from their own reals less well (0.86 within a face, 0.97 on the training people). A
blend's traces (a soft closed edge where colour and sharpness change) do not need a face, and the
registries hold many sharp photographs without people. Here a share of each batch's pairs is made
from square patches of such photos, blended by the very same code inside a face-shaped mask: each
patch borrows the keypoints of a random training face (every stored crop has the face at the same
place and scale, so any face's keypoints fit any crop).

The run is the recipe's people stage, seed 0 (from runs/reference/best.keras, the recipe's
arguments), with the generic patches added to the training faces; measured like the other
experiments (variants.measure: self-blends of the tune and reserved people, eval_set seed 1)
against the recipe's seed-0 weights measured the same way on today's crops (tune 0.810,
reserved 0.812, reserved paired 0.867; benchmarks/results/generic_and_symmetric.json).

    .venv/bin/python tools/experiments/generic_blends.py --photos DIR --share 0.3 \\
        --out runs/experiments/generic-s30
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))


def patches(photos: list[Path], keypoints: np.ndarray, per_photo: int, seed: int):
    """FaceSet of per_photo square patches from each photo (side 20-70 % of its short side,
    at CONTEXT_SIZE), each with the keypoints of a random training face; source: the photo."""
    import cv2

    from converter.data import CONTEXT_SIZE, FaceSet

    rng = np.random.default_rng(seed)
    crops, kps, sources = [], [], []
    for path in photos:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f"not an image: {path}")
        h, w = img.shape[:2]
        for _ in range(per_photo):
            side = int(min(h, w) * rng.uniform(0.2, 0.7))
            y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            crop = cv2.resize(
                img[y : y + side, x : x + side],
                (CONTEXT_SIZE, CONTEXT_SIZE),
                interpolation=cv2.INTER_AREA,
            )
            crops.append(crop)
            kps.append(keypoints[rng.integers(len(keypoints))])
            sources.append(f"generic/{path.name}")
    n = len(crops)
    return FaceSet(np.stack(crops), np.stack(kps), np.array(sources), np.zeros(n, np.int8))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--photos", type=Path, required=True, help="folder of photos without faces")
    p.add_argument("--share", type=float, default=0.3, help="share of pairs from the photos")
    p.add_argument("--per-photo", type=int, default=40)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--init", default=str(ROOT / "runs/reference/best.keras"))
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    from variants import people_stage

    import converter.train as ct
    from converter.data import FaceSet

    photos = sorted(q for q in a.photos.iterdir() if q.is_file())
    face_weights = ct.source_weights
    split = ct.split

    def split_with_photos(args):
        train, val = split(args)
        generic = patches(photos, train.keypoints, a.per_photo, a.seed)
        crops = np.concatenate([np.stack(list(train.crops)), generic.crops])
        both = FaceSet(
            crops,
            np.concatenate([train.keypoints, generic.keypoints]),
            np.concatenate([train.sources, generic.sources]),
            np.concatenate([train.labels, generic.labels]),
        )
        return both, val

    def weights(faces, power=ct.SOURCE_POWER):
        is_generic = np.char.startswith(faces.sources.astype(str), "generic/")
        w = np.zeros(len(faces))
        w[~is_generic] = face_weights(faces.subset(~is_generic), power) * (1 - a.share)
        w[is_generic] = face_weights(faces.subset(is_generic), 1.0) * a.share
        return w / w.sum()

    ct.split, ct.source_weights = split_with_photos, weights
    about = {"share": a.share, "photos": len(photos), "per_photo": a.per_photo}
    people_stage(a.out, a.init, a.steps, a.seed, about)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
