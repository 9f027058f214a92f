"""The shared preprocessing: crop geometry, shapes, dtypes, colour order, spec checks."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_scanner.errors import ModelError
from deepfake_scanner.preprocess import (
    SPEC,
    crop_square,
    face_crops,
    full_frame_crop,
    normalise,
    square_region,
)


def test_square_region_is_centred_with_margin():
    x0, y0, side = square_region((100, 50, 40, 80), 1.3)
    assert side == 104
    assert (x0 + side / 2, y0 + side / 2) == (120, 90)


def test_crop_outside_the_image_is_padded_black():
    img = np.full((50, 50, 3), 200, np.uint8)
    crop = crop_square(img, (-10, -10, 30, 30), 1.0)
    assert crop.shape == (30, 30, 3)
    assert crop[:10, :10].max() == 0 and crop[15:, 15:].min() == 200


def test_face_crops_and_input_shapes_and_dtypes():
    img = np.zeros((300, 400, 3), np.uint8)
    crops = face_crops(img, [(10, 10, 50, 60), (200, 100, 120, 120)])
    assert crops.shape == (2, SPEC.size, SPEC.size, 3) and crops.dtype == np.uint8
    x = normalise(crops)
    assert x.dtype == np.float32 and x.shape == crops.shape
    assert full_frame_crop(img).shape == (1, SPEC.size, SPEC.size, 3)


def test_normalise_converts_bgr_to_rgb_in_unit_range():
    px = np.zeros((1, 2, 2, 3), np.uint8)
    px[..., 0] = 255  # blue in BGR
    x = normalise(px)
    assert x[..., 2].min() == pytest.approx(1.0) and x[..., 0].max() == 0.0


def test_spec_check_refuses_any_difference():
    SPEC.check(SPEC.to_dict())
    with pytest.raises(ModelError):
        SPEC.check({**SPEC.to_dict(), "margin": 1.5})
    with pytest.raises(ModelError):
        SPEC.check({**SPEC.to_dict(), "extra": 1})
