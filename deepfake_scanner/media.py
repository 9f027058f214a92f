"""Media sniffing, header-only size checks and image decoding.

The type comes from the bytes, never from a file name or a Content-Type header. Byte and pixel
limits are enforced before any decoder runs, so a decompression bomb costs a header parse.
Videos are sniffed here too; `video.py` opens and samples them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

from .containers import ebml_doctype
from .errors import (
    EmptyInputError,
    TooLargeError,
    TooManyPixelsError,
    UndecodableError,
    UnsupportedMediaError,
)

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp", "image/tiff")
# Containers OpenCV's bundled FFmpeg opens. audio/mp4 (an M4A brand) is here so that it gets
# the precise NO_VIDEO_STREAM rather than UNSUPPORTED_MEDIA: many MP4s carry only audio.
VIDEO_TYPES = (
    "video/mp4",
    "video/quicktime",
    "video/3gpp",
    "video/x-m4v",
    "audio/mp4",
    "video/webm",
    "video/x-matroska",
    "video/x-msvideo",
    "video/mp2t",
    "video/mpeg",
    "video/x-flv",
)
SNIFF_BYTES = 4096  # enough of a file's head for `sniff` (an EBML header's DocType included)


@dataclass(frozen=True)
class Limits:
    """What the scanner accepts. Defaults fit a 1 GB function with room to spare.

    Every video limit is checked from the file size or the container's header before a frame
    is decoded."""

    max_bytes: int = 30 * 1024 * 1024  # images: they are read into memory
    max_pixels: int = 50_000_000  # a 50 MP image decodes to 150 MB of BGR; also per video frame
    # Videos stream to disk (/tmp on Lambda, 512 MB by default) and are read from there.
    max_video_bytes: int = 400 * 1024 * 1024
    max_duration_s: float = 600.0  # longer videos get VIDEO_TOO_LONG
    max_frames: int = 128  # sampled frames per video, whatever a caller asks for
    max_sample_fps: float = 4.0  # sampled frames per second of video: short clips get fewer


DEFAULT_LIMITS = Limits()


def sniff(data: bytes) -> str | None:
    """MIME type from magic numbers, or None for anything we do not recognise."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head.startswith(b"BM") and len(data) > 26:
        return "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[4:8] == b"ftyp":
        return _ftyp_type(head[8:12])
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if ebml_doctype(data) == b"webm" else "video/x-matroska"
    if len(data) > 376 and data[0] == data[188] == data[376] == 0x47:
        return "video/mp2t"  # MPEG transport stream: a sync byte every 188 bytes
    if head.startswith(b"\x00\x00\x01\xba"):
        return "video/mpeg"  # MPEG program stream pack header
    if head.startswith(b"FLV\x01"):
        return "video/x-flv"
    return None


def _ftyp_type(brand: bytes) -> str:
    """ISO base media file: the major brand says which flavour (the container is the same)."""
    if brand == b"qt  ":
        return "video/quicktime"
    if brand[:3] in (b"3gp", b"3g2"):
        return "video/3gpp"
    if brand == b"M4V ":
        return "video/x-m4v"
    if brand in (b"M4A ", b"M4B ", b"M4P "):
        return "audio/mp4"
    return "video/mp4"


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8 " and len(data) >= 30:
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", data[4:8])
    if ifd + 2 > len(data):
        return None
    (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    dims: dict[int, int] = {}
    for k in range(count):
        entry = data[ifd + 2 + 12 * k : ifd + 14 + 12 * k]
        if len(entry) < 12:
            return None
        tag, typ = struct.unpack(order + "HH", entry[:4])
        if tag in (256, 257):
            fmt = "H" if typ == 3 else "I"
            dims[tag] = struct.unpack(order + fmt, entry[8 : 8 + struct.calcsize(fmt)])[0]
    return (dims[256], dims[257]) if len(dims) == 2 else None


def image_size(data: bytes, mime: str) -> tuple[int, int] | None:
    """(width, height) declared by the header, without decoding; None if unreadable."""
    try:
        if mime == "image/png" and len(data) >= 24:
            return struct.unpack(">II", data[16:24])
        if mime == "image/jpeg":
            return _jpeg_size(data)
        if mime == "image/webp":
            return _webp_size(data)
        if mime == "image/bmp":
            w, h = struct.unpack("<ii", data[18:26])
            return abs(w), abs(h)
        if mime == "image/tiff":
            return _tiff_size(data)
    except struct.error:
        return None
    return None


def _jpeg_complete(data: bytes) -> bool:
    """libjpeg pads a truncated scan with grey and only warns; an EOI marker says it ended."""
    return data.rfind(b"\xff\xd9") > data.find(b"\xff\xda") > 0


def check_image(data: bytes, limits: Limits) -> tuple[str, tuple[int, int]]:
    """Type and declared size of an image, or the ScanError that stops it before decoding."""
    if not data:
        raise EmptyInputError("the input is empty")
    if len(data) > limits.max_bytes:
        raise TooLargeError(f"{len(data)} bytes is over the limit of {limits.max_bytes}")
    mime = sniff(data)
    if mime not in IMAGE_TYPES:
        what = mime or "not a recognised image or video format"
        raise UnsupportedMediaError(f"unsupported media: {what}")
    size = image_size(data, mime)
    if size is None or min(size) <= 0:
        raise UndecodableError(f"{mime} header is unreadable")
    if size[0] * size[1] > limits.max_pixels:
        raise TooManyPixelsError(
            f"{size[0]}x{size[1]} is over the limit of {limits.max_pixels} pixels"
        )
    return mime, size


def decode_image(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[np.ndarray, str]:
    """Decode to 8-bit BGR, EXIF orientation applied (IMREAD_COLOR does it). Returns (img, mime)."""
    mime, _ = check_image(data, limits)
    if mime == "image/jpeg" and not _jpeg_complete(data):
        raise UndecodableError("JPEG data is truncated (no end-of-image marker)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise UndecodableError(f"{mime} data does not decode")
    return image, mime
