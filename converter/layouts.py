"""The seed CNN's convolution layouts, apart from converter.model so that the trainer's
command line can list them without importing Keras (which picks its backend on import).

Each layout is (filters, kernel, stride, dilation, pool after) per convolution; the README's
layer table comes from these. Both have the same 649,537 parameters: conv1 and conv2 5x5/64,
then 48 and 32 filters, dilation 2 in the last three convolutions, a 7x7x32 map into the
dense layer. They differ in where the face is pooled:
- "cheap": conv1 (stride 2) pooled 4x4 at once, so every layer after the first sees the face
  at 28x28 or less: about 150 training images/s on this 2-core machine;
- "hires": conv1 pooled 2x2, so conv2 runs at 56x56, conv3/conv4 at 28, the dilated layers at
  14, and conv8 is pooled to 7x7: 466 M multiply-adds a face against 162 M, and 29 training
  images/s against 72 in real runs here, for twice the resolution where a blend's edge and
  colour step are compared (tools/experiments/layout.py, docs/experiments.md, "Resolution").
"""

from __future__ import annotations

Layout = list[tuple[int, int, int, int, int]]

CHEAP: Layout = [
    (64, 5, 2, 1, 4),
    (64, 5, 1, 1, 2),
    (48, 5, 1, 1, 0),
    (48, 3, 1, 1, 2),
    (32, 3, 1, 1, 0),
    (32, 3, 1, 2, 0),
    (32, 3, 1, 2, 0),
    (32, 3, 1, 2, 0),
]
# the same convolutions: only conv1's pool (4 -> 2) and one more after conv8 (0 -> 2) differ
HIRES: Layout = [(*CHEAP[0][:4], 2), *CHEAP[1:-1], (*CHEAP[-1][:4], 2)]
LAYOUTS: dict[str, Layout] = {"cheap": CHEAP, "hires": HIRES}
DEFAULT = "cheap"
