"""A bad-input corpus, generated (the generator is committed, never the files): hostile,
broken, odd and merely unusual inputs, each with the outcome the scanner must give.

    .venv/bin/python -m tests.corpus OUT          # write the files and OUT/expected.json
    .venv/bin/python -m tests.corpus --list       # the table: file, expected outcome, why
    .venv/bin/python -m tests.corpus OUT --measure [NAME...] --address-space-mb 1536
                                                  # scan them: codes, peak RSS growth, seconds

Every file gets exactly one documented outcome: an error code from
`deepfake_scanner.errors.ERROR_CODES`, or `verdict` (a real/fake label with its `region`). A
valid file whose pixels equal another's (`same_as`) must get that file's faces and scores.

Decisions worth stating:

- The type comes from the leading bytes, never the name: a PNG named .jpg is a PNG and is judged.
- Polyglots: a JPEG (or PNG) with a ZIP appended is a valid image (decoders stop at the image's
  end marker; ZIP readers look from the end), so it is judged as that image, exactly like the
  image alone. A ZIP with a JPEG appended starts as a ZIP: UNSUPPORTED_MEDIA.
- Alpha is ignored (the colour channels are judged as they are), 16-bit samples are scaled to
  8 bits, CMYK, grey and palette images are converted to BGR, EXIF orientation is applied and a
  broken EXIF block is ignored: all of them are judged.
- GIF, animated or not, is not a supported image format: UNSUPPORTED_MEDIA.
- Decompression bombs are refused from the header (TOO_MANY_PIXELS) before a decoder runs. The
  header parsers read what the decoders read (an OS/2 BMP's 16-bit sizes, the first of two
  TIFF widths), so a bomb cannot pass the check with one size and decode with another.
- Refused as UNDECODABLE before decoding, because a decoder would spend far more than the
  file's size on them: a progressive JPEG with more scans than an encoder writes (each scan is
  a pass over the whole image: a few KB of empty scans cost seconds of CPU), a JPEG with more
  segments than a parse should walk, a PNG chunk longer than the data (OpenCV allocates the
  declared length first: 4 GB for a 600-byte file). An image OpenCV itself refuses (wider than
  2^20 pixels) is UNDECODABLE too, never an exception.
- A very wide or tall image under the pixel limit is judged: the detector pads an image to a
  square, so one whose square would pass the limit (a 50000x1 strip: 7.5 GB) is shrunk first.
- A video longer than the limit is refused from its header, or while counting its frames when
  the header does not say (VIDEO_TOO_LONG); a video whose header declares frames over the pixel
  limit is refused before it is opened (TOO_MANY_PIXELS). A playlist is not a video: FFmpeg
  only gets the demuxers of the containers the scanner sniffs.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from tools.make_samples import audio_only_m4a, iso_mp4, video_entry, video_mp4, write_clip

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "assets" / "faces" / "eval" / "matplotlib" / "grace_hopper.jpg"
VERDICT = "verdict"


@dataclass(frozen=True)
class Case:
    name: str  # the file's name: the extension is part of the test (it must not matter)
    expect: str  # an error code, or VERDICT
    why: str
    media: str | None = None  # image | video in the verdict; None: the input could not be typed
    content_type: str | None = None  # the type sniffed from the bytes
    region: str | None = None  # VERDICT cases: faces | full_frame
    same_as: str | None = None  # VERDICT cases: the file with the same pixels (same verdict)
    bomb: bool = False  # decoding it would take more memory than the function has


class Sources:
    """What the makers share: the face photo, its encodings, and small clips (made once)."""

    def __init__(self, photo: Path, work: Path) -> None:
        image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"{photo} does not decode (run `make setup` to fetch it)")
        self.image = image
        self.png = _encode(".png", image)
        self.jpeg = _encode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        self.webp = _encode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, 90])
        self.work = work
        self._clip: bytes | None = None

    def clip(self) -> bytes:
        """A valid 2 s clip, 64x48 at 10 fps (MPEG-4 Part 2 in MP4), frames that differ."""
        if self._clip is None:
            frames = []
            for k in range(20):
                f = np.full((48, 64, 3), 60 + 8 * k, np.uint8)
                cv2.circle(f, (10 + 2 * k, 24), 8, (255, 255, 255), -1)
                frames.append(f)
            self._clip = write_clip(self.work / "clip.mp4", frames).read_bytes()
        return self._clip


def _encode(ext: str, image: np.ndarray, params: list[int] | None = None) -> bytes:
    ok, buf = cv2.imencode(ext, image, params or [])
    if not ok:
        raise RuntimeError(f"OpenCV cannot encode {ext}")
    return buf.tobytes()


# ---- PNG, JPEG and friends written by hand ----


def png_chunk(typ: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data))


def png_file(
    width: int, height: int, depth: int, colour: int, idat: bytes, *chunks: bytes
) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + b"".join(chunks)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def black_png(side: int) -> bytes:
    """A side x side all-black 1-bit greyscale PNG: side^2 / 8 bytes of zeros, deflated (a
    20000^2 image is 50 MB of scanlines in about 50 KB), streamed so it never exists unpacked."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    rows_per_block = max(1, (1 << 20) // len(row))
    parts = []
    left = side
    while left:
        n = min(rows_per_block, left)
        parts.append(z.compress(row * n))
        left -= n
    parts.append(z.flush())
    return png_file(side, side, 1, 0, b"".join(parts))


def palette_png(image: np.ndarray) -> bytes:
    """An 8-bit palette PNG: the image quantised to a 6x6x6 colour cube."""
    levels = np.round(np.linspace(0, 255, 6)).astype(np.uint8)
    q = np.clip(np.round(image.astype(np.float32) / 51.0), 0, 5).astype(np.uint8)  # B, G, R
    index = q[..., 2] * 36 + q[..., 1] * 6 + q[..., 0]
    plte = b"".join(
        bytes((levels[r], levels[g], levels[b]))
        for r in range(6)
        for g in range(6)
        for b in range(6)
    )
    rows = b"".join(b"\x00" + index[y].tobytes() for y in range(index.shape[0]))
    h, w = index.shape
    return png_file(w, h, 8, 3, zlib.compress(rows, 9), png_chunk(b"PLTE", plte))


def segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def exif_payload(tiff: bytes) -> bytes:
    return b"Exif\x00\x00" + tiff


def big_exif(jpeg: bytes, size: int = 60 * 1024) -> bytes:
    """An APP1 Exif segment of `size` bytes (one segment holds at most 65533): a valid TIFF
    header and IFD with Orientation = 1, then a maker-note-like blob."""
    tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, 1, 0) + struct.pack(">I", 0)
    blob = np.random.default_rng(1).integers(0, 256, size - len(tiff) - 8, np.uint8).tobytes()
    return jpeg[:2] + segment(0xE1, exif_payload(tiff + blob)) + jpeg[2:]


def corrupt_exif(jpeg: bytes) -> bytes:
    """Exif whose IFD claims 65535 entries, an offset past its end and a loop back to itself."""
    first = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 0xFFFF)
    first += struct.pack("<HHII", 0x0112, 3, 0xFFFFFFFF, 0xFFFFFFF0)  # orientation, huge count
    first += struct.pack("<HHII", 0x8769, 4, 1, 8)  # Exif sub-IFD pointing back at IFD0
    first += struct.pack("<I", 8)  # next IFD: itself
    second = b"MM\x00*" + struct.pack(">I", 0x7FFFFFF0)  # IFD offset far past the end
    return (
        jpeg[:2]
        + segment(0xE1, exif_payload(first))
        + segment(0xE1, exif_payload(second))
        + (jpeg[2:])
    )


def many_segments(jpeg: bytes, n: int = 5000) -> bytes:
    """n small APPn and COM segments before the frame header (cameras write a handful)."""
    segs = b"".join(segment(0xE2 + k % 14 if k % 15 else 0xFE, b"seg%05d" % k) for k in range(n))
    return jpeg[:2] + segs + jpeg[2:]


def jpeg_with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header (SOF) declaring another size, data unchanged."""
    i = sof_offset(jpeg)
    return jpeg[: i + 5] + struct.pack(">HH", height, width) + jpeg[i + 9 :]


def sof_offset(jpeg: bytes) -> int:
    i = 2
    while True:
        marker = jpeg[i + 1]
        (length,) = struct.unpack(">H", jpeg[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return i
        i += 2 + length


def scan_bomb(side: int, scans: int) -> bytes:
    """A side x side grey progressive JPEG followed by `scans` empty copies of its last scan
    header: libjpeg warns about the bogus progression and makes a pass over the whole image for
    each one (2048 x 2048 with 2000 scans: 37 KB that took 1.9 s to decode here)."""
    image = np.zeros((side, side), np.uint8)
    jpeg = _encode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    sos = jpeg.rfind(b"\xff\xda")
    (length,) = struct.unpack(">H", jpeg[sos + 2 : sos + 4])
    eoi = jpeg.rfind(b"\xff\xd9")
    return jpeg[:eoi] + jpeg[sos : sos + 2 + length] * scans + b"\xff\xd9"


def webp_canvas(webp: bytes, width: int, height: int) -> bytes:
    """A VP8X extended WebP declaring a width x height canvas around the lossy bitstream."""
    chunk = webp[12:]
    flags = b"\x00\x00\x00\x00"
    vp8x = b"VP8X" + struct.pack("<I", 10) + flags
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + vp8x + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def tiff_header(width: int, height: int, widths: tuple[int, ...] = ()) -> bytes:
    """A TIFF whose only IFD declares width x height (and, if given, more ImageWidth entries
    after the first), 8-bit RGB, one strip of 64 bytes."""
    entries = [
        (256, 4, 1, width),
        *((256, 4, 1, w) for w in widths),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, 0),  # StripOffsets: set below
        (277, 3, 1, 3),
    ]
    end = 8 + 2 + 12 * len(entries) + 4
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        value = end if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, typ, count) + packed
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + b"\x00" * 64


def bmp_header(width: int, height: int) -> bytes:
    """A 24-bit BMP whose header declares width x height, with 64 bytes of pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    head = b"BM" + struct.pack("<IHHI", 14 + len(info) + 64, 0, 0, 14 + len(info))
    return head + info + b"\x00" * 64


def bmp_core(image: np.ndarray) -> bytes:
    """An OS/2 BMP (12-byte BITMAPCOREHEADER: 16-bit width and height), 24-bit, bottom-up."""
    h, w = image.shape[:2]
    stride = (3 * w + 3) // 4 * 4
    rows = b"".join(image[y].tobytes() + b"\x00" * (stride - 3 * w) for y in range(h - 1, -1, -1))
    info = struct.pack("<IHHHH", 12, w, h, 1, 24)
    return b"BM" + struct.pack("<IHHI", 26 + len(rows), 0, 0, 26) + info + rows


def bmp_core_header(width: int, height: int) -> bytes:
    info = struct.pack("<IHHHH", 12, width, height, 1, 24)
    return b"BM" + struct.pack("<IHHI", 26 + 64, 0, 0, 26) + info + b"\x00" * 64


def grey_png(width: int, height: int, value: int = 128) -> bytes:
    row = b"\x00" + bytes((value,)) * width
    z = zlib.compressobj(9)
    return png_file(width, height, 8, 0, z.compress(row * height) + z.flush())


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("readme.txt", "a zip archive\n" * 20)
        z.writestr("data.bin", bytes(range(256)) * 8)
    return buf.getvalue()


def elf_bytes() -> bytes:
    """A minimal x86-64 Linux executable (ELF header + one program header + `exit(0)`)."""
    code = b"\x31\xff\xb8\x3c\x00\x00\x00\x0f\x05"  # xor edi, edi; mov eax, 60; syscall
    base, ehsize, phsize = 0x400000, 64, 56
    entry = base + ehsize + phsize
    ident = b"\x7fELF" + bytes((2, 1, 1, 0)) + b"\x00" * 8
    ehdr = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, 0x3E, 1, entry, ehsize, 0, 0, ehsize, phsize, 1, 0, 0, 0
    )
    total = ehsize + phsize + len(code)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, total, total, 0x1000)
    return ehdr + phdr + code


PDF = b"""%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj
trailer << /Root 1 0 R >>
%%EOF
"""
HLS = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n/proc/self/environ\n#EXT-X-ENDLIST\n"
HTML = b"<!doctype html>\n<html><body><img src=x onerror=alert(1)>not an image</body></html>\n"


def gif(frames: int) -> bytes:
    """A GIF89a (looping animation when frames > 1), written with Pillow."""
    from PIL import Image

    images = [Image.new("RGB", (32, 32), (40 * k % 256, 90, 200)) for k in range(frames)]
    buf = io.BytesIO()
    if frames > 1:
        images[0].save(buf, "GIF", save_all=True, append_images=images[1:], loop=0, duration=80)
    else:
        images[0].save(buf, "GIF")
    return buf.getvalue()


def cmyk_jpeg(image: np.ndarray) -> bytes:
    """A CMYK JPEG with Adobe's APP14 marker (as Photoshop writes), made with Pillow."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image[..., ::-1]).convert("CMYK").save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    assert b"Adobe" in data[:64]
    return data


# ---- videos ----


def video_with_size(width: int, height: int) -> bytes:
    """An MP4 whose video track (sample entry and track header) declares width x height."""
    return video_mp4(b"mp4v", [bytes(40)] * 5, width=width, height=height)


def declared_hours_mp4(hours: float) -> bytes:
    """An MP4 whose one video track declares `hours` of video in three samples."""
    timescale = 1000
    delta = int(hours * 3600 * timescale / 3)
    entry = video_entry(b"mp4v", 64, 48)
    return iso_mp4(b"vide", entry, [bytes(40)] * 3, delta, timescale, width=64, height=48)


def long_mkv(work: Path, seconds: int, drop_duration: bool) -> bytes:
    """A real low-resolution clip: `seconds` frames of 16x16 at 1 fps (MPEG-4 in Matroska, a
    few KB). Without its Duration element, only counting the frames shows how long it is."""
    frames = [np.full((16, 16, 3), k % 256, np.uint8) for k in range(seconds)]
    data = write_clip(work / f"long{seconds}.mkv", frames, fps=1.0).read_bytes()
    if drop_duration:
        at = data.find(b"\x44\x89\x88")  # Info/Duration, an 8-byte float
        if at < 0:
            raise RuntimeError("no Duration element in the Matroska file")
        data = data[: at + 3] + struct.pack(">d", float("nan")) + data[at + 11 :]
    return data


def writer_without_frames(work: Path, suffix: str, fourcc: str) -> bytes:
    path = work / f"empty{suffix}"
    cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), 10, (64, 48)).release()
    return path.read_bytes()


def huge_frames_avi(work: Path, width: int, height: int) -> bytes:
    """An MJPEG AVI whose headers (avih, strf) and JPEG frames all declare width x height."""
    frames = [np.full((48, 64, 3), 80 + k, np.uint8) for k in range(3)]
    data = bytearray(write_clip(work / "small.avi", frames, fourcc="MJPG").read_bytes())
    avih = data.find(b"avih")
    data[avih + 8 + 32 : avih + 8 + 40] = struct.pack("<II", width, height)
    strf = data.find(b"strf")
    data[strf + 8 + 4 : strf + 8 + 12] = struct.pack("<ii", width, height)
    i = 0
    while (i := data.find(b"\xff\xc0", i)) >= 0:
        data[i + 5 : i + 9] = struct.pack(">HH", height, width)
        i += 9
    return bytes(data)


def random_bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, np.uint8).tobytes()


def fake_transport_stream() -> bytes:
    """188-byte packets with the MPEG-TS sync byte and nothing valid after it."""
    noise = random_bytes(188 * 40, 5)
    return b"".join(b"\x47" + noise[k * 188 + 1 : (k + 1) * 188] for k in range(40))


# ---- the corpus ----

Maker = Callable[[Sources], bytes]
IMAGE, VIDEO = "image", "video"
FACES, FULL = "faces", "full_frame"
JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"

CASES: list[tuple[Case, Maker]] = [
    # -- valid images: the references, and variants that must be judged like them
    (Case("photo.png", VERDICT, "8-bit RGB PNG of a face photo (reference)", IMAGE, PNG, FACES),
     lambda s: s.png),
    (Case("photo.jpg", VERDICT, "baseline JPEG of the photo (reference)", IMAGE, JPEG, FACES),
     lambda s: s.jpeg),
    (Case("photo.webp", VERDICT, "lossy WebP of the photo", IMAGE, WEBP, FACES),
     lambda s: s.webp),
    (Case("png-named.jpg", VERDICT, "a PNG named .jpg: the bytes decide", IMAGE, PNG, FACES,
          same_as="photo.png"),
     lambda s: s.png),
    (Case("photo-16bit.png", VERDICT, "16 bits per sample (v * 257): scaled to 8 bits", IMAGE, PNG,
          FACES, same_as="photo.png"),
     lambda s: _encode(".png", s.image.astype(np.uint16) * 257)),
    (Case("photo-rgba.png", VERDICT, "RGBA with an alpha gradient: alpha is ignored", IMAGE, PNG,
          FACES, same_as="photo.png"),
     lambda s: _encode(".png", np.dstack([s.image, np.linspace(
         0, 255, s.image.shape[1], dtype=np.uint8)[None].repeat(s.image.shape[0], 0)]))),
    (Case("photo-gray.png", VERDICT, "8-bit greyscale PNG", IMAGE, PNG, FACES),
     lambda s: _encode(".png", cv2.cvtColor(s.image, cv2.COLOR_BGR2GRAY))),
    (Case("photo-gray16.png", VERDICT, "16-bit greyscale PNG", IMAGE, PNG, FACES),
     lambda s: _encode(".png", cv2.cvtColor(s.image, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257)),
    (Case("photo-palette.png", VERDICT, "8-bit palette PNG (216 colours)", IMAGE, PNG, FACES),
     lambda s: palette_png(s.image)),
    (Case("photo-gray.jpg", VERDICT, "greyscale (one component) JPEG", IMAGE, JPEG, FACES),
     lambda s: _encode(".jpg", cv2.cvtColor(s.image, cv2.COLOR_BGR2GRAY))),
    (Case("photo-cmyk.jpg", VERDICT, "CMYK JPEG with an Adobe APP14 marker", IMAGE, JPEG, FACES),
     lambda s: cmyk_jpeg(s.image)),
    (Case("photo-progressive.jpg", VERDICT, "progressive JPEG, same coefficients as the "
          "reference", IMAGE, JPEG, FACES, same_as="photo.jpg"),
     lambda s: _encode(".jpg", s.image, [cv2.IMWRITE_JPEG_QUALITY, 92,
                                         cv2.IMWRITE_JPEG_PROGRESSIVE, 1])),
    (Case("tiny-1x1.png", VERDICT, "one pixel: no face, the full frame is scored", IMAGE, PNG,
          FULL),
     lambda s: _encode(".png", np.full((1, 1, 3), 127, np.uint8))),
    (Case("tiny-1x1.jpg", VERDICT, "one-pixel JPEG", IMAGE, JPEG, FULL),
     lambda s: _encode(".jpg", np.full((1, 1, 3), 127, np.uint8))),
    (Case("exif-60k.jpg", VERDICT, "a 60 KB APP1 Exif segment", IMAGE, JPEG, FACES,
          same_as="photo.jpg"),
     lambda s: big_exif(s.jpeg)),
    (Case("exif-corrupt.jpg", VERDICT, "Exif with 65535 entries, offsets past the end and an IFD "
          "loop: ignored", IMAGE, JPEG, FACES, same_as="photo.jpg"),
     lambda s: corrupt_exif(s.jpeg)),
    (Case("many-segments.jpg", VERDICT, "5000 APPn/COM segments before the frame header",
          IMAGE, JPEG, FACES, same_as="photo.jpg"),
     lambda s: many_segments(s.jpeg)),
    (Case("jpeg-zip-polyglot.jpg", VERDICT, "a JPEG with a ZIP appended (a valid ZIP too): the "
          "image is judged", IMAGE, JPEG, FACES, same_as="photo.jpg"),
     lambda s: s.jpeg + zip_bytes()),
    (Case("png-zip-polyglot.png", VERDICT, "a PNG with a ZIP appended", IMAGE, PNG, FACES,
          same_as="photo.png"),
     lambda s: s.png + zip_bytes()),
    (Case("black-7000x7000.png", VERDICT, "49 MP all black, 1 bit, ~6 KB: under the pixel limit, "
          "decoded within memory", IMAGE, PNG, FULL),
     lambda s: black_png(7000)),
    (Case("photo-core.bmp", VERDICT, "an OS/2 BMP (16-bit header fields)", IMAGE, "image/bmp",
          FACES, same_as="photo.png"),
     lambda s: bmp_core(s.image)),
    (Case("strip-50000x1.png", VERDICT, "50000x1: 50 KP, but padded to a square for detection it "
          "would be 2.5 GP (7.5 GB); shrunk first", IMAGE, PNG, FULL),
     lambda s: grey_png(50000, 1)),
    (Case("strip-1x1000000.png", VERDICT, "1x1000000: the padded square would be 3 TB", IMAGE,
          PNG, FULL),
     lambda s: grey_png(1, 1000000)),
    # -- not images at all, whatever the name says
    (Case("empty.jpg", "EMPTY_INPUT", "zero bytes"), lambda s: b""),
    (Case("one-byte.jpg", "UNSUPPORTED_MEDIA", "one byte (0xFF)"), lambda s: b"\xff"),
    (Case("one-byte.png", "UNSUPPORTED_MEDIA", "one byte (0x89)"), lambda s: b"\x89"),
    (Case("text.jpg", "UNSUPPORTED_MEDIA", "plain text named .jpg"),
     lambda s: b"this is text, not a photo\n" * 10),
    (Case("page.png", "UNSUPPORTED_MEDIA", "HTML named .png"), lambda s: HTML),
    (Case("document.jpg", "UNSUPPORTED_MEDIA", "a PDF named .jpg"), lambda s: PDF),
    (Case("archive.jpg", "UNSUPPORTED_MEDIA", "a ZIP named .jpg"), lambda s: zip_bytes()),
    (Case("program.png", "UNSUPPORTED_MEDIA", "an ELF executable named .png"),
     lambda s: elf_bytes()),
    (Case("playlist.mp4", "UNSUPPORTED_MEDIA", "an HLS playlist naming a local file, named .mp4 "
          "(FFmpeg would open it)"),
     lambda s: HLS),
    (Case("bmw.jpg", "UNSUPPORTED_MEDIA", "text that starts with 'BM' (not a BMP header)"),
     lambda s: b"BMW drivers, said the note, park on the left.\n" * 3),
    (Case("zip-then-jpeg.jpg", "UNSUPPORTED_MEDIA", "a ZIP with a JPEG appended: starts as a "
          "ZIP"),
     lambda s: zip_bytes() + s.jpeg),
    (Case("still.gif", "UNSUPPORTED_MEDIA", "a GIF: not a supported image format"),
     lambda s: gif(1)),
    (Case("animated.gif", "UNSUPPORTED_MEDIA", "an animated GIF (4 frames, looping)"),
     lambda s: gif(4)),
    # -- claims an image format, does not decode
    (Case("jpeg-magic-only.jpg", "UNDECODABLE", "the JPEG magic number and nothing else"),
     lambda s: b"\xff\xd8\xff"),
    (Case("truncated-header.jpg", "UNDECODABLE", "a JPEG cut before its frame header"),
     lambda s: s.jpeg[: sof_offset(s.jpeg)]),
    (Case("truncated-half.jpg", "UNDECODABLE", "a JPEG cut in half (no end-of-image marker)"),
     lambda s: s.jpeg[: len(s.jpeg) // 2]),
    (Case("png-signature-only.png", "UNDECODABLE", "the 8-byte PNG signature alone"),
     lambda s: s.png[:8]),
    (Case("truncated-half.png", "UNDECODABLE", "a PNG cut in half"),
     lambda s: s.png[: len(s.png) // 2]),
    (Case("truncated-header.webp", "UNDECODABLE", "a WebP cut inside its header"),
     lambda s: s.webp[:20]),
    (Case("truncated-half.webp", "UNDECODABLE", "a WebP cut in half"),
     lambda s: s.webp[: len(s.webp) // 2]),
    (Case("png-garbage-idat.png", "UNDECODABLE", "a valid 64x64 PNG header, random IDAT"),
     lambda s: png_file(64, 64, 8, 2, random_bytes(2000, 3))),
    # -- decompression bombs and CPU bombs: refused before decoding
    (Case("bomb-50000x50000.png", "TOO_MANY_PIXELS", "IHDR declares 50000x50000 (7.5 GB of "
          "BGR), random IDAT", bomb=True),
     lambda s: png_file(50000, 50000, 8, 2, random_bytes(4096, 4))),
    (Case("bomb-black-20000x20000.png", "TOO_MANY_PIXELS", "a real 20000x20000 all-black PNG "
          "in ~50 KB (400 MP)", bomb=True),
     lambda s: black_png(20000)),
    (Case("bomb-65500x65500.jpg", "TOO_MANY_PIXELS", "a JPEG whose frame header declares "
          "65500x65500", bomb=True),
     lambda s: jpeg_with_size(s.jpeg, 65500, 65500)),
    (Case("bomb-16384x16384.webp", "TOO_MANY_PIXELS", "a WebP whose VP8X canvas is 16384x16384",
          bomb=True),
     lambda s: webp_canvas(s.webp, 16384, 16384)),
    (Case("bomb-60000x60000.tif", "TOO_MANY_PIXELS", "a TIFF whose IFD declares 60000x60000",
          bomb=True),
     lambda s: tiff_header(60000, 60000)),
    (Case("bomb-30000x30000.bmp", "TOO_MANY_PIXELS", "a BMP header declaring 30000x30000",
          bomb=True),
     lambda s: bmp_header(30000, 30000)),
    (Case("bomb-core-65535x65535.bmp", "TOO_MANY_PIXELS", "an OS/2 BMP (16-bit size fields) "
          "declaring 65535x65535", bomb=True),
     lambda s: bmp_core_header(65535, 65535)),
    (Case("bomb-tiff-duplicate-width.tif", "TOO_MANY_PIXELS", "a 30000x30000 TIFF naming its "
          "width twice, 30000 then 1 (libtiff uses the first)",
          bomb=True),
     lambda s: tiff_header(30000, 30000, widths=(1,))),
    (Case("wide-2000000x1.bmp", "UNDECODABLE", "2 MP, but wider than OpenCV "
          "decodes (2^20 pixels)"),
     lambda s: bmp_header(2_000_000, 1)),
    (Case("bomb-png-chunk-4gb.png", "UNDECODABLE", "a 16x12 PNG whose IDAT chunk declares "
          "4 GB (OpenCV allocates a chunk's declared size)", bomb=True),
     lambda s: png_file(16, 12, 8, 2, b"")[:33] + struct.pack(">I", 0xFFFF0206) + b"IDAT"
     + random_bytes(512, 8)),
    (Case("bomb-scans.jpg", "UNDECODABLE", "a 2048x2048 progressive JPEG with 2000 empty scans "
          "(37 KB; 1.9 s of CPU to decode)", bomb=True),
     lambda s: scan_bomb(2048, 2000)),
    (Case("bomb-segments.jpg", "UNDECODABLE", "a JPEG with 2 million 4-byte segments before "
          "its frame header (8 MB)", bomb=True),
     lambda s: s.jpeg[:2] + b"\xff\xfe\x00\x02" * 2_000_000 + s.jpeg[2:]),
    # -- videos
    (Case("clip.mp4", VERDICT, "a valid 2 s clip with no face", VIDEO, "video/mp4", FULL),
     lambda s: s.clip()),
    (Case("truncated.mp4", "UNDECODABLE", "an MP4 cut in half (its moov box is lost)", VIDEO,
          "video/mp4"),
     lambda s: s.clip()[: len(s.clip()) // 2]),
    (Case("ftyp-then-garbage.mp4", "UNDECODABLE", "an ftyp box, then 20 KB of random bytes",
          VIDEO, "video/mp4"),
     lambda s: s.clip()[:32] + random_bytes(20000, 6)),
    (Case("webm-then-garbage.webm", "UNDECODABLE", "a WebM EBML header, then random bytes",
          VIDEO, "video/webm"),
     lambda s: writer_without_frames(s.work, ".webm", "VP80")[:40] + random_bytes(20000, 7)),
    (Case("transport-stream-garbage.ts", "UNDECODABLE", "MPEG-TS sync bytes around noise",
          VIDEO, "video/mp2t"),
     lambda s: fake_transport_stream()),
    (Case("zero-frames.mp4", "ZERO_FRAMES", "an MP4 video track with no samples", VIDEO,
          "video/mp4"),
     lambda s: video_mp4(b"mp4v", [])),
    (Case("zero-frames.webm", "ZERO_FRAMES", "a WebM with a video track and no frames", VIDEO,
          "video/webm"),
     lambda s: writer_without_frames(s.work, ".webm", "VP80")),
    (Case("no-track.mp4", "NO_VIDEO_STREAM", "an MP4 with no track at all", VIDEO, "video/mp4"),
     lambda s: writer_without_frames(s.work, ".mp4", "mp4v")),
    (Case("audio-only.m4a", "NO_VIDEO_STREAM", "an M4A: AAC audio, no video", VIDEO,
          "audio/mp4"),
     lambda s: audio_only_m4a()),
    (Case("audio-only.mp4", "NO_VIDEO_STREAM", "audio only, in an MP4 named and branded as "
          "video", VIDEO, "video/mp4"),
     lambda s: audio_only_m4a().replace(b"M4A ", b"isom")),
    (Case("unknown-codec.mp4", "UNSUPPORTED_CODEC", "a video track of codec 'zzzz'", VIDEO,
          "video/mp4"),
     lambda s: video_mp4(b"zzzz", [bytes(range(40))] * 5)),
    (Case("declares-3-hours.mp4", "VIDEO_TOO_LONG", "an MP4 header declaring 3 hours", VIDEO,
          "video/mp4"),
     lambda s: declared_hours_mp4(3)),
    (Case("long-700s.mkv", "VIDEO_TOO_LONG", "a real 700 s clip (16x16, 1 fps)", VIDEO,
          "video/x-matroska"),
     lambda s: long_mkv(s.work, 700, drop_duration=False)),
    (Case("long-700s-no-duration.mkv", "VIDEO_TOO_LONG", "the same without a usable Duration: "
          "its frames are counted, up to the limit", VIDEO, "video/x-matroska"),
     lambda s: long_mkv(s.work, 700, drop_duration=True)),
    (Case("frames-20000x20000.mp4", "TOO_MANY_PIXELS", "an MP4 whose video track declares "
          "20000x20000 frames", VIDEO, "video/mp4", bomb=True),
     lambda s: video_with_size(20000, 20000)),
    (Case("frames-16000x16000.avi", "TOO_MANY_PIXELS", "an MJPEG AVI whose headers and frames "
          "declare 16000x16000", VIDEO, "video/x-msvideo", bomb=True),
     lambda s: huge_frames_avi(s.work, 16000, 16000)),
]  # fmt: skip


def cases() -> list[Case]:
    return [case for case, _ in CASES]


def write_corpus(out: Path, photo: Path = PHOTO) -> list[Case]:
    """Write every corpus file into `out` (created) and return the cases, in order."""
    out.mkdir(parents=True, exist_ok=True)
    work = out / ".work"
    work.mkdir(exist_ok=True)
    sources = Sources(photo, work)
    for case, make in CASES:
        (out / case.name).write_bytes(make(sources))
    for p in work.iterdir():
        p.unlink()
    work.rmdir()
    return cases()


def _status(key: str) -> int:
    """A /proc/self/status figure in bytes (VmRSS, VmHWM, VmSize), 0 where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure(folder: Path, names: list[str], address_space: int | None = None) -> list[dict]:
    """Scan each file through scan_file and scan_bytes in this process, optionally under an
    address-space limit (RLIMIT_AS, bytes), and report per file: both error codes (or
    "verdict"), the peak RSS growth over the two scans, and the seconds they took. Meant to
    run in a subprocess (`--measure`): the limit cannot be lifted once set."""
    import resource
    import time

    from deepfake_scanner.scan import Scanner

    scanner = Scanner(threads=1)
    scanner.scan_bytes(_encode(".png", np.zeros((8, 8, 3), np.uint8)), "warm-up")
    if address_space is not None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    out = []
    for name in names:
        path = folder / name
        precise = _reset_peak()
        before = _status("VmRSS") if precise else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        codes = []
        for v in (scanner.scan_file(path, name), scanner.scan_bytes(path.read_bytes(), name)):
            codes.append(v.error.code if v.error else VERDICT)
        seconds = time.perf_counter() - start
        if precise:
            peak = _status("VmHWM") - before
        else:  # ru_maxrss is in KiB and never goes down: an upper bound on this file's growth
            peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
        out.append(
            {"name": name, "codes": codes, "peak_growth": peak, "seconds": seconds,
             "precise": precise}
        )  # fmt: skip
    return out


def table() -> str:
    """The corpus as a Markdown table (for the README)."""
    lines = ["| file | expected | what it is |", "|---|---|---|"]
    for c in cases():
        outcome = f"`{c.expect}`" if c.expect != VERDICT else f"verdict ({c.region})"
        if c.same_as:
            outcome += f", same as `{c.same_as}`"
        lines.append(f"| `{c.name}` | {outcome} | {c.why} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", help="folder to write the corpus into")
    parser.add_argument("--photo", type=Path, default=PHOTO, help="the face photo to start from")
    parser.add_argument("--list", action="store_true", help="print the table and write nothing")
    parser.add_argument(
        "--measure",
        nargs="*",
        metavar="NAME",
        help="scan these files of an existing corpus in OUT (all, if none is named) and print "
        "one JSON line each: codes, peak RSS growth, seconds",
    )
    parser.add_argument("--address-space-mb", type=int, help="RLIMIT_AS for --measure")
    args = parser.parse_args(argv)
    if args.list or args.out is None:
        print(table())
        return 0
    if args.measure is not None:
        names = args.measure or [c.name for c in cases()]
        limit = args.address_space_mb << 20 if args.address_space_mb else None
        for row in measure(args.out, names, limit):
            print(json.dumps(row), flush=True)
        return 0
    written = write_corpus(args.out, args.photo)
    manifest = {c.name: asdict(c) for c in written}
    (args.out / "expected.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(written)} files in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
