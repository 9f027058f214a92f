"""What a video container's header says, read without decoding: tracks, codec, frames, duration.

OpenCV opens a video or it does not; it cannot say why. This reads the header of the common
containers (ISO base media: MP4, MOV, 3GP, M4A; Matroska and WebM; AVI) so that an audio-only
file, a video track with no frames or a codec this build lacks each get their own error code,
and so that a video's duration and frame size can be checked against the limits before
anything is opened or decoded.

Everything here is a hint: a field is None when the header does not say or was not parsed, and
the parsers never raise on malformed input (they return what they found). Reads are bounded.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_HEADER = 64 * 1024 * 1024  # an MP4 `moov` (sample tables) or AVI `hdrl` read into memory
MAX_ELEMENTS = 100_000  # boxes or elements walked at one level before giving up

# Video codecs this build of OpenCV (its bundled FFmpeg: H.264, HEVC, VP8, VP9, AV1, MPEG-1/2/4,
# MJPEG, Theora, ProRes, H.263, FFV1, DNxHD and more) decodes, by the names containers use.
# Only consulted when OpenCV cannot open or decode a file: then a codec outside these lists is
# UNSUPPORTED_CODEC and one inside them means the data is corrupt (UNDECODABLE).
MP4_CODECS = {
    "avc1", "avc3", "hvc1", "hev1", "dvh1", "dvhe", "mp4v", "vp08", "vp09", "av01",
    "mjpa", "mjpb", "jpeg", "s263", "h263", "apch", "apcn", "apcs", "apco", "ap4h", "ap4x",
    "mp1v", "mp2v", "m1v ", "m2v1", "xvid", "ffv1", "avdn", "avdh", "raw ", "2vuy", "png ",
}  # fmt: skip
MKV_CODECS = (
    "V_MPEG4/ISO/", "V_MPEGH/ISO/HEVC", "V_VP8", "V_VP9", "V_AV1", "V_MJPEG", "V_MPEG1",
    "V_MPEG2", "V_THEORA", "V_PRORES", "V_FFV1", "V_MS/VFW/FOURCC", "V_UNCOMPRESSED",
)  # fmt: skip
AVI_CODECS = {
    "h264", "x264", "avc1", "davc", "xvid", "divx", "dx50", "fmp4", "mp4v", "mjpg", "ffv1",
    "vp80", "vp90", "av01", "hevc", "h265", "hvc1", "mpg1", "mpg2", "mpeg", "wmv3", "wvc1",
    "h263", "flv1", "i420", "yv12", "\x00\x00\x00\x00", "dib ",
}  # fmt: skip


@dataclass(frozen=True)
class ContainerInfo:
    video: bool | None = None  # has a video track; None: the header does not say
    codec: str | None = None  # the first video track's codec, as the container names it
    frames: int | None = None  # frames in that track, when the header counts them
    duration_s: float | None = None
    fps: float | None = None
    broken: str | None = None  # why the header could not be read, when it could not
    width: int | None = None  # the video track's frame size, as the container declares it
    height: int | None = None

    def pixels(self) -> int | None:
        """Pixels in a frame, when the header says both sides."""
        return self.width * self.height if self.width and self.height else None

    def codec_known(self) -> bool:
        """Whether the codec is one this build decodes (True when there is no name to judge)."""
        c = self.codec
        if c is None:
            return True
        if c.startswith("V_"):
            return c.startswith(MKV_CODECS)
        return c in MP4_CODECS or c.lower() in AVI_CODECS


def probe(path: Path, mime: str) -> ContainerInfo:
    """Read the header of the container `mime` names. Never raises on bad data (a file that
    cannot be opened raises OSError)."""
    with open(path, "rb") as f:
        return probe_stream(f, mime)


def probe_stream(f: BinaryIO, mime: str) -> ContainerInfo:
    """`probe` on an open, seekable binary file (or io.BytesIO)."""
    try:
        if mime in ("video/mp4", "video/quicktime", "video/3gpp", "video/x-m4v", "audio/mp4"):
            return _probe_isobmff(f)
        if mime in ("video/webm", "video/x-matroska"):
            return _probe_matroska(f)
        if mime == "video/x-msvideo":
            return _probe_avi(f)
    except (struct.error, ValueError, IndexError, OverflowError) as exc:
        return ContainerInfo(broken=f"{type(exc).__name__}: {exc}")
    return ContainerInfo()


def _sane(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) and x > 0 else None


# ---- ISO base media (MP4, MOV, 3GP, M4A) ----


def _boxes(buf: bytes, start: int, end: int):
    """(type, payload start, payload end) of the boxes in buf[start:end]."""
    pos = start
    for _ in range(MAX_ELEMENTS):
        if pos + 8 > end:
            return
        size, typ = struct.unpack(">I4s", buf[pos : pos + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", buf[pos + 8 : pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        if size < head:
            return
        yield typ, pos + head, min(pos + size, end)
        pos += size


def _top_level_moov(f: BinaryIO) -> tuple[bytes | None, str | None]:
    """The `moov` box's payload, found by walking the top-level boxes with seeks."""
    f.seek(0, 2)
    end = f.tell()
    pos = 0
    for _ in range(MAX_ELEMENTS):
        if pos + 8 > end:
            break
        f.seek(pos)
        head = f.read(16)
        size, typ = struct.unpack(">I4s", head[:8])
        hl = 8
        if size == 1 and len(head) == 16:
            size, hl = struct.unpack(">Q", head[8:16])[0], 16
        elif size == 0:
            size = end - pos
        if size < hl:
            return None, f"box {typ!r} at {pos} has a bad size"
        if typ == b"moov":
            if size > MAX_HEADER:
                return None, f"moov box of {size} bytes is over {MAX_HEADER}"
            f.seek(pos + hl)
            payload = f.read(size - hl)
            if len(payload) < size - hl:
                return None, "moov box is truncated"
            return payload, None
        pos += size
    return None, "no moov box (truncated, or not an MP4)"


def _child(buf: bytes, start: int, end: int, typ: bytes) -> tuple[int, int] | None:
    for t, s, e in _boxes(buf, start, end):
        if t == typ:
            return s, e
    return None


def _path(buf: bytes, start: int, end: int, *types: bytes) -> tuple[int, int] | None:
    span: tuple[int, int] | None = (start, end)
    for typ in types:
        if span is None:
            return None
        span = _child(buf, span[0], span[1], typ)
    return span


def _probe_isobmff(f: BinaryIO) -> ContainerInfo:
    moov, why = _top_level_moov(f)
    if moov is None:
        return ContainerInfo(broken=why)
    fragmented = _child(moov, 0, len(moov), b"mvex") is not None  # frames live in moof boxes
    for typ, s, e in _boxes(moov, 0, len(moov)):
        if typ != b"trak":
            continue
        hdlr = _path(moov, s, e, b"mdia", b"hdlr")
        if hdlr is None or moov[hdlr[0] + 8 : hdlr[0] + 12] != b"vide":
            continue
        codec = frames = duration = width = height = None
        stbl = _path(moov, s, e, b"mdia", b"minf", b"stbl")
        if stbl is not None:
            stsd = _child(moov, *stbl, b"stsd")
            if stsd is not None and stsd[1] - stsd[0] >= 16:
                codec = moov[stsd[0] + 12 : stsd[0] + 16].decode("latin-1")
            if stsd is not None and stsd[1] - stsd[0] >= 44:
                # VisualSampleEntry: 8 header + 6 reserved + 2 index + 16 predefined, then w, h
                width, height = struct.unpack(">HH", moov[stsd[0] + 40 : stsd[0] + 44])
            stsz = _child(moov, *stbl, b"stsz")
            if stsz is not None and not fragmented:
                frames = struct.unpack(">I", moov[stsz[0] + 8 : stsz[0] + 12])[0]
        mdhd = _path(moov, s, e, b"mdia", b"mdhd")
        if mdhd is not None:
            p = mdhd[0]
            if moov[p] == 1:
                scale, dur = struct.unpack(">IQ", moov[p + 20 : p + 32])
            else:
                scale, dur = struct.unpack(">II", moov[p + 12 : p + 20])
            duration = dur / scale if scale else None
        duration = None if fragmented else _sane(duration)
        fps = frames / duration if frames and duration else None
        return ContainerInfo(True, codec, frames, duration, fps, width=width, height=height)
    return ContainerInfo(video=False)


# ---- Matroska and WebM (EBML) ----

EBML, SEGMENT, INFO, TRACKS, CLUSTER = 0x1A45DFA3, 0x18538067, 0x1549A966, 0x1654AE6B, 0x1F43B675
TRACK_ENTRY, TRACK_TYPE, CODEC_ID, DEFAULT_DURATION = 0xAE, 0x83, 0x86, 0x23E383
TIMESTAMP_SCALE, DURATION, DOCTYPE = 0x2AD7B1, 0x4489, 0x4282
VIDEO, PIXEL_WIDTH, PIXEL_HEIGHT = 0xE0, 0xB0, 0xBA


def _vint_raw(buf: bytes, pos: int) -> tuple[int, int]:
    """The EBML variable-length integer at pos with its length marker kept (an element ID):
    (value, length)."""
    first = buf[pos]
    length = 9 - first.bit_length() if first else 9
    if length > 8 or pos + length > len(buf):
        raise ValueError(f"bad EBML varint at {pos}")
    return int.from_bytes(buf[pos : pos + length], "big"), length


def _vint(buf: bytes, pos: int) -> tuple[int | None, int]:
    """The EBML variable-length integer at pos (a size): (value, length); None means 'unknown'."""
    raw, length = _vint_raw(buf, pos)
    value = raw & ((1 << (7 * length)) - 1)
    return (None if value == (1 << (7 * length)) - 1 else value), length


def _element(buf: bytes, pos: int) -> tuple[int, int | None, int]:
    """(id, size or None if unknown, data start) of the element at pos."""
    eid, n = _vint_raw(buf, pos)
    size, m = _vint(buf, pos + n)
    return eid, size, pos + n + m


def _children(buf: bytes, start: int, end: int):
    pos = start
    for _ in range(MAX_ELEMENTS):
        if pos >= end:
            return
        eid, size, data = _element(buf, pos)
        stop = end if size is None else min(data + size, end)
        yield eid, data, stop
        pos = stop


def ebml_doctype(data: bytes) -> bytes | None:
    """The DocType of an EBML header (b"webm", b"matroska"), or None."""
    try:
        eid, size, start = _element(data, 0)
        if eid != EBML or size is None:
            return None
        for cid, s, e in _children(data, start, min(start + size, len(data))):
            if cid == DOCTYPE:
                return data[s:e].rstrip(b"\x00")
    except (ValueError, IndexError):
        return None
    return None


def _uint(b: bytes) -> int:
    return int.from_bytes(b, "big")


# (track type, codec id, default frame duration in ns, pixel width, pixel height)
_Track = tuple[int, str | None, int | None, int | None, int | None]


def _probe_matroska(f: BinaryIO) -> ContainerInfo:
    """Tracks and Info from the Segment's children, walked with seeks up to the first Cluster."""
    f.seek(0, 2)
    file_end = f.tell()
    f.seek(0)
    head = f.read(64 * 1024)
    eid, size, start = _element(head, 0)
    if eid != EBML or size is None:
        return ContainerInfo(broken="no EBML header")
    pos = start + size
    eid, seg_size, seg_start = _element(head, pos)
    if eid != SEGMENT:
        return ContainerInfo(broken="no Segment after the EBML header")
    seg_end = file_end if seg_size is None else min(seg_start + seg_size, file_end)
    tracks: list[_Track] = []
    scale, duration, clusters = 1_000_000, None, False
    pos = seg_start
    for _ in range(MAX_ELEMENTS):
        if pos >= seg_end:
            break
        f.seek(pos)
        eid, size, data = _element(f.read(16), 0)
        data += pos
        if eid == CLUSTER:
            clusters = True
            break
        if size is None:
            break
        if eid in (INFO, TRACKS) and size <= MAX_HEADER:
            f.seek(data)
            body = f.read(size)
            if eid == INFO:
                for cid, s, e in _children(body, 0, len(body)):
                    if cid == TIMESTAMP_SCALE:
                        scale = _uint(body[s:e]) or scale
                    elif cid == DURATION and e - s in (4, 8):
                        duration = struct.unpack(">f" if e - s == 4 else ">d", body[s:e])[0]
            else:
                tracks += _matroska_tracks(body)
        pos = data + size
    video = [t for t in tracks if t[0] == 1]
    if not tracks:
        return ContainerInfo(broken="no Tracks element before the first Cluster")
    if not video:
        return ContainerInfo(video=False)
    _, codec, frame_ns, width, height = video[0]
    dur = _sane(duration * scale / 1e9) if duration is not None else None
    fps = _sane(1e9 / frame_ns) if frame_ns else None
    frames = None if clusters else 0
    return ContainerInfo(True, codec, frames, dur, fps, width=width, height=height)


def _matroska_tracks(body: bytes) -> list[_Track]:
    out = []
    for eid, s, e in _children(body, 0, len(body)):
        if eid != TRACK_ENTRY:
            continue
        kind, codec, frame_ns, width, height = 0, None, None, None, None
        for cid, cs, ce in _children(body, s, e):
            if cid == TRACK_TYPE:
                kind = _uint(body[cs:ce])
            elif cid == CODEC_ID:
                codec = body[cs:ce].rstrip(b"\x00").decode("latin-1")
            elif cid == DEFAULT_DURATION:
                frame_ns = _uint(body[cs:ce])
            elif cid == VIDEO:
                for vid, vs, ve in _children(body, cs, ce):
                    if vid == PIXEL_WIDTH:
                        width = _uint(body[vs:ve])
                    elif vid == PIXEL_HEIGHT:
                        height = _uint(body[vs:ve])
        out.append((kind, codec, frame_ns, width, height))
    return out


# ---- AVI (RIFF) ----


def _riff_chunks(buf: bytes, start: int, end: int):
    pos = start
    for _ in range(MAX_ELEMENTS):
        if pos + 8 > end:
            return
        cid, size = struct.unpack("<4sI", buf[pos : pos + 8])
        yield cid, pos + 8, min(pos + 8 + size, end)
        pos += 8 + size + (size & 1)


def _probe_avi(f: BinaryIO) -> ContainerInfo:
    head = f.read(12)
    if len(head) < 12 or head[8:12] != b"AVI ":
        return ContainerInfo(broken="not an AVI RIFF header")
    hdr = f.read(12)
    if len(hdr) < 12 or hdr[:4] != b"LIST" or hdr[8:12] != b"hdrl":
        return ContainerInfo(broken="no hdrl list at the start of the AVI")
    (size,) = struct.unpack("<I", hdr[4:8])
    body = f.read(max(0, min(size - 4, MAX_HEADER)))  # read(-n) would read the whole file
    streams = 0
    for cid, s, e in _riff_chunks(body, 0, len(body)):
        if cid != b"LIST" or body[s : s + 4] != b"strl":
            continue
        streams += 1
        strh = strf = None
        for sid, ss, se in _riff_chunks(body, s + 4, e):
            if sid == b"strh":
                strh = body[ss:se]
            elif sid == b"strf":
                strf = body[ss:se]
        if strh is None or len(strh) < 36 or strh[:4] != b"vids":
            continue
        scale, rate = struct.unpack("<II", strh[20:28])
        (length,) = struct.unpack("<I", strh[32:36])
        codec = strh[4:8].decode("latin-1")
        width = height = None
        if strf is not None and len(strf) >= 20:
            codec = strf[16:20].decode("latin-1")  # BITMAPINFOHEADER biCompression
            w, h = struct.unpack("<ii", strf[4:12])  # biWidth, biHeight (< 0: top-down rows)
            width, height = abs(w), abs(h)
        fps = _sane(rate / scale) if scale else None
        duration = length / fps if fps else None
        return ContainerInfo(True, codec, length, _sane(duration), fps, width=width, height=height)
    return ContainerInfo(video=False) if streams else ContainerInfo(broken="AVI without streams")
