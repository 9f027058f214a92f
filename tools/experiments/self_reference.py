"""Does a face's own self-blend tell its reals from its fakes? A test-time self-reference.

Most of the reserved people's error is that a new person's real crops sit nearer the blends
(per_face.py, blend_strength.py: reserved reals' median 0.34 against 0.08 for the training
people). Here each test crop is scored next to K self-blends of itself (made at test time from
the crop and its keypoints, the way training makes fakes). A real crop's score should jump when
it is blended; a crop that is already blended should move less. The candidate score is

    logit(x) - w * mean_k logit(self_blend_k(x))

with w chosen on the tune people, reported on the reserved people (the issue's measure: the
export's self-blend sets, eval_set seed 12 reserved / 11 tune, 600 pairs). The pairs are made
exactly as eval_set makes them (checked below), with the serving crop's keypoints carried
through `frame`'s transform.

    taskset -c 0 .venv/bin/python tools/experiments/self_reference.py [MODEL.keras] [--k 4]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools/experiments"))

SWAP = [1, 0, 2, 3, 5, 4]  # a mirror image swaps right and left eyes and ears


def crop_keypoints(kp, h: int, size: int, margin_ratio: float, rng) -> np.ndarray:
    """Where `frame(img, kp, size, margin_ratio, rng)` puts the keypoints: its transform, drawn
    from a copy of the generator as it was before frame was called."""
    from converter.selfblend import frame_transform

    m, flip, _ = frame_transform(h, size, margin_ratio, rng)
    out = np.c_[kp, np.ones(len(kp))] @ m.T
    if flip:
        out[:, 0] = size - 1 - out[:, 0]
        out = out[SWAP]
    return out.astype(np.float32)


def pairs(faces, n: int, seed: int):
    """eval_set's self-blend pairs, and each crop's keypoints."""
    from converter.data import MARGIN_RATIO
    from converter.selfblend import camera, delivery, frame, self_blend
    from deepfake_scanner.preprocess import SPEC

    rng = np.random.default_rng(seed)
    xs, kps, ys = [], [], []
    for k in range(n):
        i = k % len(faces)
        ctx, kp = faces.crops[i], faces.keypoints[i]
        base = camera(ctx, rng)
        fake = self_blend(base, kp, rng, 1.0)
        for img, y in ((base, 0.0), (fake, 1.0)):
            before = copy.deepcopy(rng)
            crop = delivery(frame(img, kp, SPEC.size, MARGIN_RATIO, rng), rng)
            xs.append(np.ascontiguousarray(crop))
            kps.append(crop_keypoints(kp, ctx.shape[0], SPEC.size, MARGIN_RATIO, before))
            ys.append(y)
    return np.stack(xs), np.stack(kps), np.array(ys, np.float32)


def main() -> int:
    import variants

    p = argparse.ArgumentParser()
    p.add_argument("model", nargs="?", default=str(ROOT / "models/reference/seed_cnn.keras"))
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    variants.pin_threads(1)
    from converter.data import load_faces
    from converter.metrics import auc
    from converter.selfblend import self_blend
    from converter.train import eval_set, keras_module, predict

    keras = keras_module()
    model = keras.models.load_model(args.model, compile=False)
    report: dict = {"model": args.model, "k": args.k}
    weights = [-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0]
    for name, seed in (("tune", 11), ("eval", 12)):
        faces = load_faces(ROOT / "assets/faces" / name, ROOT / ".cache")
        x, kp, y = pairs(faces, 600, seed)
        x0, y0 = eval_set(faces, 600, seed)
        if not (np.array_equal(x, x0) and np.array_equal(y, y0)):
            raise SystemExit("the pairs differ from eval_set's")
        s = predict(model, x)
        logit = variants.logit(s)
        row: dict = {"plain": round(auc(y, s), 4)}
        for difficulty in (0.0, 1.0):
            rng = np.random.default_rng(100 + seed)
            ref = np.zeros(len(x))
            for _ in range(args.k):  # one set of blends in memory at a time (180 MB)
                blends = np.stack([self_blend(x[j], kp[j], rng, difficulty) for j in range(len(x))])
                ref += variants.logit(predict(model, blends)) / args.k
            row[f"difficulty {difficulty}"] = {
                f"w {w}": round(auc(y, logit - w * ref), 4) for w in weights
            }
            row[f"difficulty {difficulty}"]["ref alone (negated)"] = round(auc(y, -ref), 4)
            real, fake = y == 0, y == 1
            row[f"difficulty {difficulty}"]["median jump real / fake"] = [
                round(float(np.median(ref[real] - logit[real])), 3),
                round(float(np.median(ref[fake] - logit[fake])), 3),
            ]
        report[name] = row
        print(name, json.dumps(row, indent=1), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
