"""Do new faces, made by morphing two training people into one, help the seed CNN on new people?

Warping the training faces into other proportions (identity_warps.py) is the one change to the
training pairs that raised the reserved AUC in every seed: the network had learned what its ~55
training people look like when real, and new shapes made that harder. This is the appearance
counterpart: before a pair is made, a share of the base images is mixed with another training
person's face, aligned to it by a similarity transform fitted on the eyes, nose and mouth
keypoints, so the base is a face nobody in the set has (skin, eyes, mouth, texture of two
people) with the first face's keypoints. Real and fake share the mix, and the self-blend is
then made on the mixed image as on any other, so the mix says nothing about the label. Its
ghosting (hair and background of two images) is in both classes alike.

Each run is the shipped model's last stage (people-stage arguments, --warp-share 0.7, 2,000
steps from `2026.11.27.0744`) with the mix on top, compared with identity_warps.py's warp run of
the same seed (the same start and seed; the mix draws change the batches after the first mixed
pair); measured by variants.measure.

Result (2026-11-28 00:58-01:16 UTC, benchmarks/results/identity_morph.json, docs/experiments.md
"Mixed faces"): seeds 0 / 2 scored tune 0.820 / 0.810 against 0.805 / 0.813 for their twins and
reserved 0.828 / 0.826 against 0.824 / 0.835 (-0.003 on average): not adopted.

    git show 554c55d:models/reference/seed_cnn.keras > runs/m0744/seed_cnn.keras
    taskset -c 0 .venv/bin/python tools/experiments/identity_morph.py --seed 2 \\
        --out runs/experiments/morph-s2 &
    taskset -c 1 .venv/bin/python tools/experiments/identity_morph.py --seed 0 \\
        --out runs/experiments/morph-s0
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import people_stage, pin_threads, stage_parser  # noqa: E402  (after the path set-up)

from converter.recipe import WARP_SHARE, WARPED  # noqa: E402  (after the path set-up)

SHARE = 0.5  # pairs whose base is a mix of two people
MIX = (0.15, 0.4)  # the other person's weight in the mix
INNER = slice(0, 4)  # BlazeFace's eyes, nose tip and mouth: the ear points are less reliable


def similarity(src, dst):
    """The least-squares similarity transform (2x3) taking points src onto dst (Umeyama)."""
    import numpy as np

    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    u, sing, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ d @ vt
    scale = float(np.trace(np.diag(sing) @ d) / a.var(0).sum())
    m = np.empty((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = md - m[:, :2] @ ms
    return m


def morph(faces, i: int, rng, mix=MIX):
    """faces.crops[i] mixed with another source's face, aligned to it on the keypoints."""
    import cv2
    import numpy as np

    others = np.flatnonzero(faces.sources != faces.sources[i])
    j = int(rng.choice(others))
    m = similarity(faces.keypoints[j][INNER], faces.keypoints[i][INNER])
    base = np.asarray(faces.crops[i])
    h, w = base.shape[:2]
    other = cv2.warpAffine(np.asarray(faces.crops[j]), m, (w, h), borderMode=cv2.BORDER_REFLECT)
    lam = rng.uniform(*mix)
    return cv2.addWeighted(base, 1 - lam, other, lam, 0.0)


def morphing_batch(share: float, mix=MIX):
    """converter.train.make_batch for real-only faces, with `share` of the bases morphed."""
    import numpy as np

    from converter.data import MARGIN_RATIO
    from converter.selfblend import make_pair
    from deepfake_scanner.preprocess import SPEC

    def make_batch(faces, rng, batch, difficulty, weights=None, pair=make_pair, warp=0.0):
        if faces.labels.any():
            raise SystemExit("identity_morph: real-only training faces expected")
        if warp:
            pair = functools.partial(pair, warp=warp)
        xs, ys = [], []
        for i in rng.choice(len(faces), batch // 2, p=weights):
            base = morph(faces, int(i), rng, mix) if rng.random() < share else faces.crops[i]
            real, fake = pair(base, faces.keypoints[i], rng, difficulty, SPEC.size, MARGIN_RATIO)
            xs += [real, fake]
            ys += [0.0, 1.0]
        return np.stack(xs), np.array(ys, np.float32)

    return make_batch


def main() -> int:
    p = stage_parser(ROOT / "runs/m0744/seed_cnn.keras")
    p.add_argument("--share", type=float, default=SHARE, help="pairs whose base is morphed")
    p.add_argument("--mix", type=float, nargs=2, default=list(MIX), help="the other face's weight")
    a = p.parse_args()

    pin_threads()
    import converter.train as ct

    ct.make_batch = morphing_batch(a.share, tuple(a.mix))  # step_batch looks it up at each step
    about = {"variant": "identity morphs", "init": a.init, "share": a.share, "mix": a.mix}
    about["warp_share"] = WARP_SHARE
    people_stage(a.out, a.init, a.steps, a.seed, about, tuple(WARPED))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
