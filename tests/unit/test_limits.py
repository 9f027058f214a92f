"""Limits: bytes, pixels, JPEG scans, video bytes, duration and sampled frames are all set
through `Limits` (and `Scanner(limits=...)`), and each is enforced before the work it guards.

"Before" is proved by stubs that fail the test if the guarded work starts: cv2.imdecode for
images, cv2.VideoCapture (or its frame reads) for videos, Path.read_bytes for a file that is
too large to read. The stubs only check that something is not called; what is called is real.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepfake_scanner import media, scan
from deepfake_scanner.containers import probe
from deepfake_scanner.media import DEFAULT_LIMITS, Limits, check_image, decode_image
from deepfake_scanner.scan import Scanner
from tests import corpus
from tests.conftest import require
from tools.make_samples import write_clip

REAL_IMDECODE = cv2.imdecode
REAL_CAPTURE = cv2.VideoCapture


def test_every_limit_is_a_field_of_limits_and_reaches_the_scanner():
    fields = {f.name for f in dataclasses.fields(Limits)}
    assert {"max_bytes", "max_pixels", "max_frames", "max_duration_s"} <= fields
    assert {"max_video_bytes", "max_sample_fps", "max_jpeg_scans"} <= fields
    mine = Limits(max_bytes=1, max_pixels=2, max_frames=3, max_duration_s=4.0)
    assert Scanner(threads=1, limits=mine).limits is mine


@pytest.fixture
def no_decode(monkeypatch):
    """cv2.imdecode fails the test if it is called; .calls counts calls once allowed."""

    class Guard:
        allowed = False
        calls = 0

    def imdecode(*args, **kwargs):
        if not Guard.allowed:
            raise AssertionError("cv2.imdecode ran before the limit refused the input")
        Guard.calls += 1
        return REAL_IMDECODE(*args, **kwargs)

    monkeypatch.setattr(cv2, "imdecode", imdecode)
    return Guard


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)


def encodings(picture: np.ndarray) -> dict[str, bytes]:
    def enc(ext: str, *params: int) -> bytes:
        ok, buf = cv2.imencode(ext, picture, list(params))
        assert ok
        return buf.tobytes()

    return {
        "jpeg": enc(".jpg"),
        "progressive-jpeg": enc(".jpg", cv2.IMWRITE_JPEG_PROGRESSIVE, 1),
        "png": enc(".png"),
        "webp-lossy": enc(".webp", cv2.IMWRITE_WEBP_QUALITY, 80),
        "webp-lossless": enc(".webp", cv2.IMWRITE_WEBP_QUALITY, 101),
        "bmp": enc(".bmp"),
        "bmp-core": corpus.bmp_core(picture),
        "tiff": enc(".tiff"),
    }


@pytest.mark.parametrize(
    "fmt",
    ["jpeg", "progressive-jpeg", "png", "webp-lossy", "webp-lossless", "bmp", "bmp-core", "tiff"],
)
def test_the_pixel_limit_is_read_from_the_header_before_decoding(
    picture, no_decode, scanner, monkeypatch, fmt
):
    data = encodings(picture)[fmt]
    monkeypatch.setattr(scanner, "limits", Limits(max_pixels=80 * 60 - 1))
    v = scanner.scan_bytes(data, fmt)
    assert v.error is not None and v.error.code == "TOO_MANY_PIXELS", v.error
    assert "80x60" in v.error.message
    no_decode.allowed = True  # exactly at the limit: decoded, once
    image, _ = decode_image(data, Limits(max_pixels=80 * 60))
    assert image.shape == (60, 80, 3) and no_decode.calls == 1


def test_the_byte_limit_is_checked_before_reading_or_decoding(
    tmp_path, picture, no_decode, scanner, monkeypatch
):
    data = encodings(picture)["png"]
    monkeypatch.setattr(scanner, "limits", Limits(max_bytes=len(data) - 1))
    assert scanner.scan_bytes(data, "x").error.code == "TOO_LARGE"
    path = tmp_path / "big.png"
    path.write_bytes(data)

    def read_bytes(self):
        raise AssertionError(f"{self} was read although it is over the byte limit")

    with monkeypatch.context() as m:
        m.setattr(pathlib.Path, "read_bytes", read_bytes)
        v = scanner.scan_file(path)
    assert v.error.code == "TOO_LARGE" and str(len(data)) in v.error.message
    monkeypatch.setattr(scanner, "limits", Limits(max_bytes=len(data)))
    no_decode.allowed = True
    assert scanner.scan_file(path).error is None and no_decode.calls == 1


def test_the_jpeg_scan_limit_counts_scans_before_decoding(picture, no_decode):
    data = encodings(picture)["progressive-jpeg"]
    scans = data.count(b"\xff\xda")  # cv2 writes no APP segment that could hold these bytes
    assert scans >= 6  # libjpeg's progressive script
    with pytest.raises(media.UndecodableError, match="scans"):
        decode_image(data, Limits(max_jpeg_scans=scans - 1))
    no_decode.allowed = True
    decode_image(data, Limits(max_jpeg_scans=scans))
    assert no_decode.calls == 1
    baseline = encodings(picture)["jpeg"]
    decode_image(baseline, Limits(max_jpeg_scans=1))  # one scan


def test_a_scan_bomb_is_refused_in_milliseconds(no_decode):
    bomb = corpus.scan_bomb(1024, 5000)
    start = time.perf_counter()
    with pytest.raises(media.UndecodableError, match="scans"):
        check_image(bomb, DEFAULT_LIMITS)
    assert time.perf_counter() - start < 0.1


def test_thousands_of_segments_are_refused_without_walking_them_all(no_decode):
    jpeg = encodings(np.zeros((8, 8, 3), np.uint8))["jpeg"]
    fine = jpeg[:2] + b"\xff\xfe\x00\x02" * 1000 + jpeg[2:]
    assert check_image(fine, DEFAULT_LIMITS)[1] == (8, 8)
    bomb = jpeg[:2] + b"\xff\xfe\x00\x02" * (media.MAX_JPEG_SEGMENTS + 1) + jpeg[2:]
    start = time.perf_counter()
    with pytest.raises(media.UndecodableError):
        check_image(bomb, DEFAULT_LIMITS)
    assert time.perf_counter() - start < 1.0


def test_header_parsers_agree_with_the_decoder_on_odd_headers(picture):
    """Where the header check and OpenCV read different fields, a bomb slips through: an OS/2
    BMP's 16-bit sizes, a TIFF naming its width twice (libtiff keeps the first), a PNG whose
    first chunk is not IHDR."""
    assert media.image_size(corpus.bmp_core(picture), "image/bmp") == (80, 60)
    assert media.image_size(corpus.bmp_core_header(65535, 65535), "image/bmp") == (65535, 65535)
    tiff = corpus.tiff_header(30000, 30000, widths=(1,))
    assert media.image_size(tiff, "image/tiff") == (30000, 30000)
    png = encodings(picture)["png"]
    assert media.image_size(png[:12] + b"IHDX" + png[16:], "image/png") is None


def test_opencv_refusing_an_image_is_a_verdict_not_an_exception(scanner, no_decode):
    """A 2,000,000 x 1 BMP is under the pixel limit but over OpenCV's width limit (2^20):
    cv2.imdecode raises rather than returning None."""
    no_decode.allowed = True
    v = scanner.scan_bytes(corpus.bmp_header(2_000_000, 1), "wide.bmp")
    assert v.error is not None and v.error.code == "UNDECODABLE" and no_decode.calls == 1


# ---- the padded square is held to the pixel limit ----


def watch_detector(scanner, monkeypatch) -> list[tuple[int, ...]]:
    """The shapes of the images the detector is given, from now on."""
    seen: list[tuple[int, ...]] = []
    detect = scanner.detector.detect

    def watched(image):
        seen.append(image.shape)
        return detect(image)

    monkeypatch.setattr(scanner.detector, "detect", watched)
    return seen


def test_a_wide_image_is_shrunk_before_it_is_padded_to_a_square(scanner, monkeypatch):
    """A face photo on a wide canvas: at the default limit it is judged as it is; with a limit
    that the canvas fits but its padded square does not, the detector gets a shrunk copy whose
    square fits, and the face comes back in the input's pixels, where it was."""
    photo = cv2.imread(str(require(corpus.PHOTO)), cv2.IMREAD_COLOR)
    assert photo is not None
    h, w = photo.shape[:2]
    canvas = np.full((h, 4 * w, 3), 90, np.uint8)
    canvas[:, w : 2 * w] = photo
    ok, png = cv2.imencode(".png", canvas)
    assert ok
    full = scanner.scan_bytes(png.tobytes(), "wide")
    seen = watch_detector(scanner, monkeypatch)
    limit = canvas.shape[0] * canvas.shape[1]  # the canvas fits, its square (16x) does not
    monkeypatch.setattr(scanner, "limits", Limits(max_pixels=limit))
    small = scanner.scan_bytes(png.tobytes(), "wide")
    assert small.error is None and len(seen) == 1 and max(seen[0][:2]) ** 2 <= limit
    assert len(full.faces) == len(small.faces) == 1
    a, b = full.faces[0].box, small.faces[0].box
    assert max(abs(p - q) for p, q in zip(a, b, strict=True)) <= 0.1 * a[2]
    assert w <= b[0] and b[0] + b[2] <= 2 * w  # on the photo, in canvas pixels


def test_images_whose_square_fits_are_not_shrunk(scanner, monkeypatch):
    seen = watch_detector(scanner, monkeypatch)
    img = np.full((300, 700, 3), 90, np.uint8)
    _ok, png = cv2.imencode(".png", img)
    monkeypatch.setattr(scanner, "limits", Limits(max_pixels=700 * 700))
    assert scanner.scan_bytes(png.tobytes(), "x").error is None and seen == [(300, 700, 3)]
    assert scan._fit(img, 700 * 700 - 1)[0].shape[1] < 700


# ---- videos ----


def frames(n: int, size: tuple[int, int] = (64, 48)) -> list[np.ndarray]:
    w, h = size
    return [np.full((h, w, 3), 40 + 3 * k, np.uint8) for k in range(n)]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """2 s at 10 fps, 64x48, in each container whose header the probe reads, and in two whose
    header says no frame size (MPEG-TS, FLV)."""
    out = tmp_path_factory.mktemp("limit-clips")
    made = {}
    for suffix, fourcc in ((".mp4", "mp4v"), (".mkv", "mp4v"), (".webm", "VP80"),
                           (".avi", "MJPG"), (".ts", "mp4v"), (".flv", "FLV1")):  # fmt: skip
        made[suffix] = write_clip(out / f"clip{suffix}", frames(20), fourcc=fourcc)
    return made


class Capture:
    """cv2.VideoCapture, watched: opening fails the test unless `open_ok`; reading frames
    fails it unless `read_ok`; reads and grabs are counted."""

    open_ok = True
    read_ok = True
    opened = 0
    reads = 0
    grabs = 0

    def __init__(self, *args) -> None:
        if not Capture.open_ok:
            raise AssertionError("cv2.VideoCapture opened a file the limits should have refused")
        Capture.opened += 1
        self._cap = REAL_CAPTURE(*args)

    def _frame(self) -> None:
        if not Capture.read_ok:
            raise AssertionError("a frame was decoded before the limits were checked")

    def read(self, *args):
        self._frame()
        Capture.reads += 1
        return self._cap.read(*args)

    def grab(self):
        self._frame()
        Capture.grabs += 1
        return self._cap.grab()

    def retrieve(self, *args):
        self._frame()
        return self._cap.retrieve(*args)

    def __getattr__(self, name: str):
        return getattr(self._cap, name)


@pytest.fixture
def capture(monkeypatch):
    Capture.open_ok = Capture.read_ok = True
    Capture.opened = Capture.reads = Capture.grabs = 0
    monkeypatch.setattr(cv2, "VideoCapture", Capture)
    return Capture


def code(scanner, monkeypatch, path: Path, **limits) -> str | None:
    monkeypatch.setattr(scanner, "limits", replace(DEFAULT_LIMITS, **limits))
    v = scanner.scan_file(path)
    return v.error.code if v.error else None


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm", ".avi"])
def test_video_frame_size_and_duration_are_checked_from_the_header_before_opening(
    scanner, monkeypatch, clips, capture, suffix
):
    clip = clips[suffix]
    info = probe(clip, media.sniff(clip.read_bytes()[:4096]) or "")
    assert (info.width, info.height) == (64, 48)
    capture.open_ok = False
    assert code(scanner, monkeypatch, clip, max_pixels=64 * 48 - 1) == "TOO_MANY_PIXELS"
    assert code(scanner, monkeypatch, clip, max_duration_s=1.9) == "VIDEO_TOO_LONG"
    assert code(scanner, monkeypatch, clip, max_video_bytes=clip.stat().st_size - 1) == "TOO_LARGE"
    capture.open_ok = True
    assert code(scanner, monkeypatch, clip, max_pixels=64 * 48, max_duration_s=2.0) is None


@pytest.mark.parametrize("suffix", [".ts", ".flv"])
def test_without_a_size_in_the_header_frames_are_checked_after_opening_before_reading(
    scanner, monkeypatch, clips, capture, suffix
):
    capture.read_ok = False
    assert code(scanner, monkeypatch, clips[suffix], max_pixels=64 * 48 - 1) == "TOO_MANY_PIXELS"
    assert capture.opened == 1


def test_video_bytes_over_the_limit_are_neither_staged_nor_probed(
    scanner, monkeypatch, clips, capture, tmp_path
):
    data = clips[".mp4"].read_bytes()
    capture.open_ok = False
    monkeypatch.setattr("deepfake_scanner.video.probe", pytest.fail)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(scanner, "limits", replace(DEFAULT_LIMITS, max_video_bytes=len(data) - 1))
    assert scanner.scan_bytes(data, "clip").error.code == "TOO_LARGE"
    assert list(tmp_path.iterdir()) == []


def test_max_frames_caps_the_frames_decoded(scanner, monkeypatch, clips, capture):
    monkeypatch.setattr(scanner, "limits", replace(DEFAULT_LIMITS, max_frames=3))
    v = scanner.scan_file(clips[".mp4"])
    assert v.error is None and v.frames_judged == 3 and len(v.frames) == 3
    assert capture.reads == 3  # one decoded frame returned per sample; gaps are grabbed
    assert capture.grabs < 20


def test_counting_frames_without_a_duration_stops_at_the_limit(
    scanner, monkeypatch, tmp_path, capture
):
    """A 700 s clip at 1 fps whose Duration says nothing: frames are counted by decoding, and
    the count stops one past what the duration limit allows."""
    (tmp_path / "long.mkv").write_bytes(corpus.long_mkv(tmp_path, 700, drop_duration=True))
    assert code(scanner, monkeypatch, tmp_path / "long.mkv", max_duration_s=30) == "VIDEO_TOO_LONG"
    assert capture.grabs <= 32


def test_a_declared_duration_over_the_limit_is_refused_before_opening(
    scanner, monkeypatch, tmp_path, capture
):
    path = tmp_path / "hours.mp4"
    path.write_bytes(corpus.declared_hours_mp4(3))
    capture.open_ok = False
    assert code(scanner, monkeypatch, path) == "VIDEO_TOO_LONG"


def test_a_container_declaring_huge_frames_is_refused_before_opening(
    scanner, monkeypatch, tmp_path, capture
):
    path = tmp_path / "huge.mp4"
    path.write_bytes(corpus.video_with_size(20000, 20000))
    capture.open_ok = False
    assert code(scanner, monkeypatch, path) == "TOO_MANY_PIXELS"
    avi = tmp_path / "huge.avi"
    avi.write_bytes(corpus.huge_frames_avi(tmp_path, 16000, 16000))
    assert code(scanner, monkeypatch, avi) == "TOO_MANY_PIXELS"
    info = probe(avi, "video/x-msvideo")
    assert (info.width, info.height) == (16000, 16000)


def test_ffmpeg_opens_only_the_demuxers_of_the_sniffed_containers(clips, tmp_path, monkeypatch):
    """An HLS playlist that names a local file opens with a protocol whitelist alone (FFmpeg
    probes content itself and reads the file it names); with the demuxer whitelist it does not,
    and every container the scanner sniffs still opens."""
    playlist = tmp_path / "list.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n{clips['.ts']}\n#EXT-X-ENDLIST\n"
    )
    ours = os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"]
    assert "format_whitelist;" in ours
    for suffix, clip in clips.items():
        assert REAL_CAPTURE(str(clip), cv2.CAP_FFMPEG).isOpened(), suffix
    assert not REAL_CAPTURE(str(playlist), cv2.CAP_FFMPEG).isOpened()
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "protocol_whitelist;file")
    assert REAL_CAPTURE(str(playlist), cv2.CAP_FFMPEG).isOpened()
