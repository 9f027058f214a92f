"""Sniffing, header-only limits and decoding."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deepfake_scanner import errors
from deepfake_scanner.media import Limits, check_image, decode_image, image_size, sniff
from tests.conftest import jpeg_bytes, with_exif_orientation


def encode(ext: str, image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "ext,mime",
    [
        (".jpg", "image/jpeg"),
        (".png", "image/png"),
        (".webp", "image/webp"),
        (".bmp", "image/bmp"),
        (".tiff", "image/tiff"),
    ],
)
def test_each_format_is_sniffed_sized_and_decoded(picture, ext, mime):
    data = encode(ext, picture)
    assert sniff(data) == mime
    assert image_size(data, mime) == (80, 60)
    image, got = decode_image(data)
    assert got == mime
    assert image.shape == (60, 80, 3) and image.dtype == np.uint8


def test_lossless_webp_header_size_is_read(picture):
    _ok, buf = cv2.imencode(".webp", picture, [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert image_size(buf.tobytes(), "image/webp") == (80, 60)


def test_exif_orientation_is_applied():
    # Left half white, right half black, 40 wide x 20 high. Orientation 6 = rotate 90 CW.
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = 255
    decoded, _ = decode_image(with_exif_orientation(jpeg_bytes(img, 100), 6))
    assert decoded.shape[:2] == (40, 20)
    assert decoded[:20].mean() > 200 and decoded[20:].mean() < 50  # white half now on top


def test_grayscale_and_alpha_images_become_three_channel_bgr():
    gray = np.full((30, 30), 128, np.uint8)
    rgba = np.zeros((30, 30, 4), np.uint8)
    assert decode_image(encode(".png", gray))[0].shape == (30, 30, 3)
    assert decode_image(encode(".png", rgba))[0].shape == (30, 30, 3)


@pytest.mark.parametrize(
    "data,error",
    [
        (b"", errors.EmptyInputError),
        (b"hello, this is text, not an image", errors.UnsupportedMediaError),
        (b"%PDF-1.7\n...", errors.UnsupportedMediaError),
        (b"PK\x03\x04" + b"\x00" * 40, errors.UnsupportedMediaError),
        (b"\x7fELF" + b"\x00" * 40, errors.UnsupportedMediaError),
        (b"GIF89a" + b"\x00" * 40, errors.UnsupportedMediaError),
    ],
)
def test_non_images_are_refused_with_typed_errors(data, error):
    with pytest.raises(error):
        decode_image(data)


def test_truncated_jpeg_and_png_are_undecodable(picture):
    for ext in (".jpg", ".png"):
        data = encode(ext, picture)
        with pytest.raises(errors.UndecodableError):
            decode_image(data[: len(data) // 2])


def test_pixel_limit_is_checked_from_the_header_before_decoding():
    # A PNG header declaring 50000 x 50000 followed by garbage: refused without decoding.
    bomb = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (50000).to_bytes(4, "big") * 2
    bomb += b"\x08\x02\x00\x00\x00" + b"\x00" * 64
    with pytest.raises(errors.TooManyPixelsError):
        check_image(bomb, Limits())


def test_byte_limit(picture):
    data = encode(".png", picture)
    with pytest.raises(errors.TooLargeError):
        decode_image(data, Limits(max_bytes=len(data) - 1))
