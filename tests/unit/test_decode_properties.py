"""Property-based tests (hypothesis) of the decode path: whatever the bytes (random, random
after each magic number, valid JPEG/PNG/MP4/WebM with flipped bits or cut anywhere), the
header parsers and container probes return instead of raising, and `Scanner.scan_bytes` returns
a Verdict: an error code from ERROR_CODES, or a label with a score in [0, 1], as valid JSON.

Example counts are bounded so the file runs in well under a minute on 2 cores; the atheris
target (tests/fuzz/fuzz_decode.py) runs the same path for longer.
"""

from __future__ import annotations

import io
import json
import struct

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepfake_scanner.containers import ContainerInfo, ebml_doctype, probe_stream
from deepfake_scanner.errors import ERROR_CODES, ModelError, ScanError
from deepfake_scanner.media import (
    DEFAULT_LIMITS,
    IMAGE_TYPES,
    VIDEO_TYPES,
    check_image,
    image_size,
    sniff,
)
from deepfake_scanner.verdict import Verdict
from tools.make_samples import write_clip

KNOWN_TYPES = {*IMAGE_TYPES, *VIDEO_TYPES, "image/gif"}
PROBED = ("video/mp4", "video/quicktime", "audio/mp4", "video/webm", "video/x-matroska",
          "video/x-msvideo")  # fmt: skip

MAGIC = {
    "jpeg": b"\xff\xd8\xff",
    "jpeg-sof": b"\xff\xd8\xff\xc0\x00\x11\x08",
    "png": b"\x89PNG\r\n\x1a\n",
    "png-ihdr": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "webp-vp8": b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    "webp-vp8l": b"RIFF\x00\x10\x00\x00WEBPVP8L",
    "webp-vp8x": b"RIFF\x00\x10\x00\x00WEBPVP8X",
    "bmp": b"BM" + struct.pack("<IHHII", 1000, 0, 0, 54, 40),
    "bmp-core": b"BM" + struct.pack("<IHHII", 1000, 0, 0, 26, 12),
    "tiff-le": b"II*\x00\x08\x00\x00\x00",
    "tiff-be": b"MM\x00*\x00\x00\x00\x08",
    "gif": b"GIF89a",
    "mp4": b"\x00\x00\x00\x18ftypisom",
    "m4a": b"\x00\x00\x00\x18ftypM4A ",
    "mov": b"\x00\x00\x00\x14ftypqt  ",
    "ebml": b"\x1a\x45\xdf\xa3",
    "webm": b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm",
    "avi": b"RIFF\x00\x10\x00\x00AVI LIST",
    "flv": b"FLV\x01",
    "mpeg-ps": b"\x00\x00\x01\xba",
}


def assert_verdict(v: Verdict) -> None:
    assert isinstance(v, Verdict)
    d = v.to_dict()
    json.dumps(d, allow_nan=False)  # a verdict is always valid JSON (no NaN or infinity)
    if d["error"] is not None:
        assert d["error"]["code"] in ERROR_CODES and d["error"]["code"] != ModelError.code
        assert d["label"] == "unknown" and d["score"] is None
    else:
        assert d["label"] in ("real", "fake") and 0.0 <= d["score"] <= 1.0
        assert d["region"] in ("faces", "full_frame")


# ---- the parsers alone: cheap, many examples ----


def check_parsers(data: bytes) -> None:
    mime = sniff(data)
    assert mime is None or mime in KNOWN_TYPES
    for m in IMAGE_TYPES:
        size = image_size(data, m)
        assert size is None or (len(size) == 2 and all(isinstance(x, int) and x >= 0 for x in size))
    doctype = ebml_doctype(data)
    assert doctype is None or isinstance(doctype, bytes)
    try:
        check_image(data, DEFAULT_LIMITS)
    except ScanError as exc:
        assert exc.code in ERROR_CODES
    for m in PROBED:
        info = probe_stream(io.BytesIO(data), m)
        assert isinstance(info, ContainerInfo)
        pixels = info.pixels()
        assert pixels is None or pixels > 0


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=512))
def test_parsers_never_raise_on_random_bytes(data):
    check_parsers(data)


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from(sorted(MAGIC)), st.binary(max_size=512))
def test_parsers_never_raise_after_each_magic_number(kind, tail):
    check_parsers(MAGIC[kind] + tail)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=187), st.binary(max_size=600))
def test_parsers_never_raise_on_transport_stream_lookalikes(packet, tail):
    data = (b"\x47" + packet.ljust(187, b"\x00")) * 3 + tail
    assert sniff(data) == "video/mp2t"
    check_parsers(data)


# ---- scan_bytes: the whole path ----


@pytest.fixture(scope="module")
def valid() -> dict[str, bytes]:
    """Small valid files to mutate: 64x48 images, 1 s clips."""
    import tempfile
    from pathlib import Path

    rng = np.random.default_rng(0)
    picture = cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (64, 48))
    out = {
        "jpeg": cv2.imencode(".jpg", picture)[1].tobytes(),
        "progressive-jpeg": cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[
            1
        ].tobytes(),
        "png": cv2.imencode(".png", picture)[1].tobytes(),
        "webp": cv2.imencode(".webp", picture)[1].tobytes(),
    }
    frames = [np.roll(picture, k, axis=1) for k in range(10)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, suffix, fourcc in (("mp4", ".mp4", "mp4v"), ("webm", ".webm", "VP80"),
                                     ("avi", ".avi", "MJPG")):  # fmt: skip
            out[name] = write_clip(Path(tmp) / f"clip{suffix}", frames, fourcc=fourcc).read_bytes()
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_scan_bytes_returns_a_verdict_for_random_bytes(scanner, data):
    assert_verdict(scanner.scan_bytes(data, "random"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(MAGIC)), st.binary(max_size=2048))
def test_scan_bytes_returns_a_verdict_after_each_magic_number(scanner, kind, tail):
    assert_verdict(scanner.scan_bytes(MAGIC[kind] + tail, kind))


def mutate(draw, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(draw(st.integers(0, 8))):
        i = draw(st.integers(0, len(buf) - 1))
        buf[i] ^= 1 << draw(st.integers(0, 7))
    for _ in range(draw(st.integers(0, 2))):  # a byte overwritten with a marker-like value
        i = draw(st.integers(0, len(buf) - 1))
        buf[i] = draw(st.sampled_from([0x00, 0xFF, 0xD9, 0xDA, 0x7F, 0x80]))
    if draw(st.booleans()):
        buf = buf[: draw(st.integers(0, len(buf)))]
    return bytes(buf)


@pytest.mark.parametrize(
    "kind,examples",
    [("jpeg", 150), ("progressive-jpeg", 80), ("png", 100), ("webp", 80), ("mp4", 60),
     ("webm", 50), ("avi", 50)],
)  # fmt: skip
def test_scan_bytes_returns_a_verdict_for_mutated_valid_files(scanner, valid, kind, examples):
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        mutated = mutate(data.draw, valid[kind])
        check_parsers(mutated)
        assert_verdict(scanner.scan_bytes(mutated, kind))

    run()


def test_the_unmutated_files_are_judged(scanner, valid):
    for kind, data in valid.items():
        v = scanner.scan_bytes(data, kind)
        assert v.error is None, (kind, v.error)
