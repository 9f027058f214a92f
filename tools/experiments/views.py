"""Teachers that see the face differently: the warp stage with a fixed first layer that shows
the network a grey image, or only its fine detail, as candidates for distillation.

Distillation gained most when its teachers erred differently: the cheap and the hires layouts
miss different blends, and their logit mean beat either alone by more than any two models of
one layout (docs/experiments.md, "Two layouts together", "One network taught by both layouts").
Another way to make a model err differently is to change what it sees. Here a fixed, untrained 1x1
or 5x5 convolution ("view") goes in front of the seed CNN:

- grey: every channel the luma (0.299 R + 0.587 G + 0.114 B), so colour mismatch, a strong
  cue of the blends, is hidden and the shape of the boundary has to carry the decision;
- detail: 0.5 + 4 (x - G x), G a 5x5 Gaussian (sigma 1) per channel: only fine detail, where
  a blend's blurred edge and its source's sharpness jitter show, and none of the face's shading;
- blur1.0, blur1.5: G x, a Gaussian of that sigma per channel: no fine detail. Blurring the test
  crops alone raised the reserved AUC of two trained models by up to 0.02 and left the tune AUC
  where it was (docs/experiments.md, "Seeing less"), so this asks whether a network that never sees
  the detail does better.

Each view model starts from `2026.11.27.0744`'s weights behind the view (the view's output has
the input's range, so the weights fit) and runs the recipe's warp stage (2,000 steps, --warp-share
0.7). The models take the same input as any other, so ensemble.py and converter.train --teachers
use them unchanged.

    taskset -c 0 .venv/bin/python tools/experiments/views.py --view grey --seed 2 \\
        --out runs/experiments/view-grey-s2
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import people_stage, pin_threads, stage_parser  # noqa: E402  (after the path set-up)

from converter.recipe import WARP_SHARE, WARPED  # noqa: E402  (after the path set-up)

LUMA = (0.299, 0.587, 0.114)  # RGB, the order the model sees (preprocess.SPEC.channels)


def view_kernel(view: str):
    """The fixed convolution's kernel (k x k x 3 x 3) and its bias, if any."""
    import numpy as np

    if view == "grey":
        k = np.zeros((1, 1, 3, 3), np.float32)
        k[0, 0, :, :] = np.asarray(LUMA, np.float32)[:, None]
        return k, None
    sigma = 1.0 if view == "detail" else float(view.removeprefix("blur"))
    r = max(2, math.ceil(2 * sigma))
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    g = np.outer(g, g) / np.outer(g, g).sum()
    k = np.zeros((2 * r + 1, 2 * r + 1, 3, 3), np.float32)
    for c in range(3):
        if view == "detail":
            k[:, :, c, c] = -4.0 * g
            k[r, r, c, c] += 4.0
        else:
            k[:, :, c, c] = g
    return k, (np.full(3, 0.5, np.float32) if view == "detail" else None)


def with_view(build, view: str):
    """build_model with the fixed view convolution in front of the network's layers."""
    import keras
    from keras import layers

    kernel, bias = view_kernel(view)

    def build_model(dtype_policy: str = "float32", name: str = "seed_cnn", **kwargs):
        base = build(dtype_policy, name, **kwargs)
        conv = layers.Conv2D(
            3, kernel.shape[0], padding="same", use_bias=bias is not None, name="view"
        )
        conv.trainable = False
        x = conv(base.input)
        conv.set_weights([kernel] if bias is None else [kernel, bias])
        for layer in base.layers[1:]:  # a chain: each layer takes the one before
            x = layer(x)
        return keras.Model(base.input, x, name=name)

    return build_model


def main() -> int:
    p = stage_parser(ROOT / "runs/m0744/seed_cnn.keras")
    p.add_argument("--view", choices=("grey", "detail", "blur1.0", "blur1.5"), required=True)
    a = p.parse_args()

    pin_threads()
    import keras

    import converter.model as cm

    cm.build_model = with_view(cm.build_model, a.view)
    init = keras.models.load_model(a.init, compile=False)
    start = cm.build_model()
    for layer in init.layers[1:]:
        start.get_layer(layer.name).set_weights(layer.get_weights())
    a.out.mkdir(parents=True, exist_ok=True)
    start.save(a.out / "init.keras")
    about = {"variant": f"view-{a.view}", "init": a.init, "warp_share": WARP_SHARE}
    people_stage(a.out, str(a.out / "init.keras"), a.steps, a.seed, about, tuple(WARPED))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
