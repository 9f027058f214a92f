"""Does making a face's own colour uninformative help the seed CNN on new people?

Where the shipped model misses (tools/experiments/blend_strength.py): on the training people it
tells even the strongest colour shifts from reals (AUC 0.98), on new people it does worse on the
strongest third of the blends (0.82) than on the middle third (0.86). A strong shift on a known
face is "not this person's colour"; on a new face the network has only the blend's edge to go
on. The self-blend leaves that shortcut open: a fake's face interior is the base colour jittered
once more, a real's is the base colour, so the farther a face is from the colour a person had in
training, the likelier it is a fake.

Here every pair is made so that each region's colour says nothing: the real is the base with its
own colour jitter, and the fake's surroundings get an independent jitter of the same
distribution before the (unchanged) blend puts its jittered copy inside the mask. A region of a
real and the same region of a fake then have the same colour distribution; only whether inside
and outside agree differs.

The run is the recipe's people stage, seed 0 (from runs/reference/best.keras, the recipe's
arguments, its validation set unchanged), with these pairs; measured like the other experiments
(variants.measure) against the recipe's seed-0 weights measured the same way on today's crops.

    .venv/bin/python tools/experiments/symmetric_colour.py --out runs/experiments/symcolour
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import people_stage, stage_parser  # noqa: E402  (after the path set-up)


def symmetric_pair(context, keypoints, rng, difficulty, size, margin_ratio):
    """converter.selfblend.make_pair, with an independent colour jitter of the blend's own
    strength on the real and on the fake's surroundings."""
    from converter.selfblend import _colour, blend_and_mask, camera, delivery, frame

    strength = 1.0 + 2.0 * (1.0 - difficulty)  # the blend source's colour strength
    base = camera(context, rng)
    real = _colour(base, rng, strength)
    surround = _colour(base, rng, strength)
    blended, m = blend_and_mask(base, keypoints, rng, difficulty)
    # source * m + surround * (1 - m) = blended + (surround - base) * (1 - m)
    shift = (surround.astype(np.float32) - base.astype(np.float32)) * (1.0 - m)[..., None]
    fake = np.clip(blended.astype(np.float32) + shift, 0, 255).round().astype(np.uint8)
    real = delivery(frame(real, keypoints, size, margin_ratio, rng), rng)
    fake = delivery(frame(fake, keypoints, size, margin_ratio, rng), rng)
    return np.ascontiguousarray(real), np.ascontiguousarray(fake)


def main() -> int:
    p = stage_parser(ROOT / "runs/reference/best.keras")
    a = p.parse_args()

    import converter.train as ct

    # training batches only: eval_set keeps the plain pairs
    ct.make_batch = functools.partial(ct.make_batch, pair=symmetric_pair)
    people_stage(a.out, a.init, a.steps, a.seed, {"variant": "symmetric colour"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
