"""Media sniffing, header-only size checks and image decoding.

The type comes from the bytes, never from a file name or a Content-Type header. Byte and pixel
limits are enforced before any decoder runs, so a decompression bomb costs a header parse.
Videos are sniffed here too; `video.py` opens and samples them.
"""

from __future__ import annotations

import re
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
# A JPEG's segments are walked in Python: beyond this many (cameras write a few dozen) the file
# is refused rather than walked (30 MB of 4-byte segments would take 15 s here).
MAX_JPEG_SEGMENTS = 65536
# OpenCV's PNG reader allocates each chunk's declared length before reading it: a 100-byte PNG
# whose chunk claims 4 GB made it allocate (and zero) 4 GB. Chunks are checked against the data
# first; a PNG has a few (libpng writes 8 KB IDAT chunks): beyond this many it is refused.
MAX_PNG_CHUNKS = 1 << 20
# Sizes of the BMP info headers (BITMAPCOREHEADER, BITMAPINFOHEADER and its later versions).
BMP_HEADERS = (12, 16, 40, 52, 56, 64, 108, 124)


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
    # Each scan of a progressive JPEG is a pass over the whole image, and an empty scan costs
    # 10 bytes: 1,000 of them kept a 4 MP image decoding for a second here. libjpeg's
    # progressive script writes 10 scans for colour (6 for grey); mozjpeg's stay near that.
    max_jpeg_scans: int = 100


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
    if head.startswith(b"BM") and len(data) > 26 and _u32le(data, 14) in BMP_HEADERS:
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


def _u32le(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "little")


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first frame header (SOF), walking the segments before it."""
    i = 2
    for _ in range(MAX_JPEG_SEGMENTS):
        if i + 9 >= len(data) or data[i] != 0xFF:
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


# A marker as libjpeg finds one: 0xFF then a code that is not a stuffed zero (0xFF00 inside
# entropy-coded data), a restart marker (RST0-7, inside it too) or a fill byte (0xFF: the
# search moves on to it). One literal byte first keeps the search fast (20 ms for 17 MB).
_JPEG_MARKER = re.compile(rb"\xff([^\x00\xd0-\xd7\xff])")


def _jpeg_scans(data: bytes, most: int) -> tuple[int, bool]:
    """(scans, ended): the start-of-scan markers before the end-of-image marker (counting
    stops past `most`), and whether that end marker comes after a scan. Entropy-coded data and
    stray bytes between segments are skipped as libjpeg skips them; segments by their length.
    Raises UndecodableError past MAX_JPEG_SEGMENTS markers."""
    scans, pos = 0, 2
    for _ in range(MAX_JPEG_SEGMENTS):
        m = _JPEG_MARKER.search(data, pos)
        if m is None:
            return scans, False
        marker, at = m.group(1)[0], m.start()
        if marker == 0xD9:
            return scans, scans > 0
        if marker in (0xD8, 0x01):
            pos = at + 2
            continue
        if marker == 0xDA:
            scans += 1
            if scans > most:
                return scans, False
        pos = at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    raise UndecodableError(f"JPEG has more than {MAX_JPEG_SEGMENTS} segments")


def _png_chunks_fit(data: bytes) -> str | None:
    """Why the PNG's chunks cannot be read as declared (a length past the end of the data, or
    far too many chunks), or None. Stops at IEND: what follows it is not the image's."""
    pos, end = 8, len(data)
    for _ in range(MAX_PNG_CHUNKS):
        if pos + 8 > end:
            return None  # no IEND: libpng says whether the image data was complete
        length, typ = struct.unpack(">I4s", data[pos : pos + 8])
        if pos + 12 + length > end:
            return f"PNG chunk {typ!r} at byte {pos} declares {length} bytes, past the end"
        if typ == b"IEND":
            return None
        pos += 12 + length
    return f"PNG has more than {MAX_PNG_CHUNKS} chunks"


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
        if tag in (256, 257) and tag not in dims:  # libtiff keeps the first of duplicates
            fmt = "H" if typ == 3 else "I"
            dims[tag] = struct.unpack(order + fmt, entry[8 : 8 + struct.calcsize(fmt)])[0]
    return (dims[256], dims[257]) if len(dims) == 2 else None


def _bmp_size(data: bytes) -> tuple[int, int]:
    if _u32le(data, 14) == 12:  # BITMAPCOREHEADER (OS/2): 16-bit unsigned width and height
        return struct.unpack("<HH", data[18:22])
    w, h = struct.unpack("<ii", data[18:26])  # height < 0: rows stored top-down
    return abs(w), abs(h)


def image_size(data: bytes, mime: str) -> tuple[int, int] | None:
    """(width, height) declared by the header, without decoding; None if unreadable."""
    try:
        if mime == "image/png" and len(data) >= 24 and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if mime == "image/jpeg":
            return _jpeg_size(data)
        if mime == "image/webp":
            return _webp_size(data)
        if mime == "image/bmp":
            return _bmp_size(data)
        if mime == "image/tiff":
            return _tiff_size(data)
    except struct.error:
        return None
    return None


def check_image(data: bytes, limits: Limits) -> tuple[str, tuple[int, int]]:
    """Type and declared size of an image, or the ScanError that stops it before decoding."""
    mime, size, _ = _check_image(data, limits)
    return mime, size


def _check_image(data: bytes, limits: Limits) -> tuple[str, tuple[int, int], bool]:
    """check_image, and whether the image's data ends (a JPEG's end-of-image marker)."""
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
    ended = True
    if mime == "image/png" and (why := _png_chunks_fit(data)) is not None:
        raise UndecodableError(why)
    if mime == "image/jpeg":
        scans, ended = _jpeg_scans(data, limits.max_jpeg_scans)
        if scans > limits.max_jpeg_scans:
            raise UndecodableError(
                f"JPEG has more than {limits.max_jpeg_scans} scans (each one a pass over the "
                "whole image)"
            )
    return mime, size, ended


def decode_image(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[np.ndarray, str]:
    """Decode to 8-bit BGR, EXIF orientation applied (IMREAD_COLOR does it). Returns (img, mime)."""
    mime, _, ended = _check_image(data, limits)
    if not ended:  # libjpeg pads a truncated scan with grey and only warns
        raise UndecodableError("JPEG data is truncated (no end-of-image marker)")
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:  # OpenCV's own size checks raise rather than return None
        raise UndecodableError(f"{mime} data does not decode: {exc.err}") from None
    if image is None or image.size == 0:
        raise UndecodableError(f"{mime} data does not decode")
    return image, mime
