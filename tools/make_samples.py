"""Make the demo's sample set under samples/ (git-ignored) from photos fetched at set-up.

    samples/real/   real photos of people the reference model never saw (reserved sources)
    samples/fake/   the same photos with every face self-blended in place (a pseudo-fake:
                    the kind of blend boundary a face swap leaves)
    samples/video/  short clips written with OpenCV's VideoWriter (MPEG-4 Part 2 in MP4): a real
                    one panning over a real photo, and the same clip with the face self-blended
                    in its middle third only (the timeline should show it)
    samples/bad/    inputs that cannot be judged: empty, truncated, text named .jpg, an
                    audio-only M4A (written by hand: no audio encoder is installed)

Deterministic: the same seed gives the same files. The clip and MP4 helpers here are also what
the video tests make their fixtures with.
"""

from __future__ import annotations

import argparse
import shutil
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from converter.data import CONTEXT_MARGIN
from converter.selfblend import self_blend
from deepfake_scanner import paths
from deepfake_scanner.faces import FaceDetector
from deepfake_scanner.preprocess import square_region

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = [
    "faces/eval/matplotlib/grace_hopper.jpg",
    "faces/eval/scikit-image/astronaut.png",
    "faces/eval/face_recognition/biden.jpg",
    "faces/eval/tracking/faces.jpg",
    "faces/eval/facetorch/test2.jpg",
]


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {path}: run make setup")
    return image


def blend_faces(image: np.ndarray, detector: FaceDetector, rng: np.random.Generator) -> np.ndarray:
    """Every face that lies wholly inside the image, replaced by a self-blend of itself."""
    out = image.copy()
    h, w = image.shape[:2]
    for face in detector.detect(image):
        x0, y0, side = square_region(face.box, CONTEXT_MARGIN)
        if x0 < 0 or y0 < 0 or x0 + side > w or y0 + side > h:
            continue
        region = out[y0 : y0 + side, x0 : x0 + side]
        kps = np.asarray(face.keypoints, np.float32) - (x0, y0)
        out[y0 : y0 + side, x0 : x0 + side] = self_blend(region, kps, rng, difficulty=0.6)
    return out


# ---- video clips ----

VIDEO_PHOTO = "faces/eval/matplotlib/grace_hopper.jpg"


def write_clip(
    path: Path, frames: Iterable[np.ndarray], fps: float = 10.0, fourcc: str = "mp4v"
) -> Path:
    """Frames (all one size, BGR) into a video file; the container follows the suffix."""
    writer = None
    for frame in frames:
        if writer is None:
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps, (w, h))
            if not writer.isOpened():
                raise RuntimeError(f"OpenCV cannot write {fourcc} to {path.suffix}")
        writer.write(frame)
    if writer is None:
        raise ValueError("no frames")
    writer.release()
    return path


def pan(image: np.ndarray, n: int, side: int = 480) -> list[np.ndarray]:
    """n frames of a slow zoom and pan over a still (a camera move, so frames differ), the
    longer side `side` pixels."""
    h, w = image.shape[:2]
    f = side / max(h, w)
    size = (round(w * f) // 2 * 2, round(h * f) // 2 * 2)
    out = []
    for k in range(n):
        a = k / max(1, n - 1)
        scale = 1.0 - 0.12 * a  # the window shrinks to 88%: a zoom in
        cw, ch = w * scale, h * scale
        x0, y0 = (w - cw) * (0.3 + 0.4 * a), (h - ch) * 0.5
        m = np.array([[size[0] / cw, 0, -x0 * size[0] / cw], [0, size[1] / ch, -y0 * size[1] / ch]])
        out.append(cv2.warpAffine(image, m, size, flags=cv2.INTER_AREA))
    return out


def read_frames(path: Path, n: int, step: int = 1, start: int = 0) -> list[np.ndarray]:
    """n frames of a video, every step-th from start, read in order."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    out: list[np.ndarray] = []
    index = 0
    while len(out) < n and cap.grab():
        if index >= start and (index - start) % step == 0:
            ok, frame = cap.retrieve()
            if ok:
                out.append(frame)
        index += 1
    cap.release()
    return out


def blend_span(
    frames: Sequence[np.ndarray], start: int, stop: int, detector: FaceDetector, seed: int
) -> list[np.ndarray]:
    """The frames with every face in frames[start:stop] self-blended; the same blend settings
    on each frame (one seed), as one manipulated segment would have."""
    return [
        blend_faces(f, detector, np.random.default_rng(seed)) if start <= k < stop else f
        for k, f in enumerate(frames)
    ]


def middle_third_clips(
    out: Path, frames: Sequence[np.ndarray], detector: FaceDetector, seed: int, fps: float = 10.0
) -> tuple[Path, Path]:
    """A real clip and the same clip with its middle third self-blended."""
    n = len(frames)
    real = write_clip(out / "real.mp4", frames, fps)
    fake = write_clip(
        out / "fake-middle.mp4", blend_span(frames, n // 3, 2 * n // 3, detector, seed), fps
    )
    return real, fake


# ---- MP4 files written by hand (what VideoWriter cannot make) ----


def box(typ: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I4s", 8 + len(payload), typ) + payload


def full_box(typ: bytes, *parts: bytes, version: int = 0, flags: int = 0) -> bytes:
    return box(typ, struct.pack(">I", version << 24 | flags), *parts)


MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def iso_mp4(
    handler: bytes, sample_entry: bytes, samples: Sequence[bytes], delta: int, timescale: int,
    brand: bytes = b"isom", width: int = 0, height: int = 0,
) -> bytes:  # fmt: skip
    """A one-track ISO base media file (moov first, then mdat) with the given samples."""
    duration = delta * len(samples)
    media_header = (
        full_box(b"vmhd", struct.pack(">HHHH", 0, 0, 0, 0), flags=1)
        if handler == b"vide"
        else full_box(b"smhd", struct.pack(">HH", 0, 0))
    )

    def moov(chunk_offset: int) -> bytes:
        n = len(samples)
        one = struct.pack(">I", 1 if n else 0)  # one table entry, or an empty table
        sizes = b"".join(struct.pack(">I", len(s)) for s in samples)
        stbl = box(
            b"stbl",
            full_box(b"stsd", struct.pack(">I", 1), sample_entry),
            full_box(b"stts", one, struct.pack(">II", n, delta) if n else b""),
            full_box(b"stsc", one, struct.pack(">III", 1, n, 1) if n else b""),
            full_box(b"stsz", struct.pack(">II", 0, n), sizes),
            full_box(b"stco", one, struct.pack(">I", chunk_offset) if n else b""),
        )
        dinf = box(b"dinf", full_box(b"dref", struct.pack(">I", 1), full_box(b"url ", flags=1)))
        mdia = box(
            b"mdia",
            full_box(b"mdhd", struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0)),
            full_box(b"hdlr", struct.pack(">I4s12s", 0, handler, b""), b"handler\0"),
            box(b"minf", media_header, dinf, stbl),
        )
        tkhd = full_box(
            b"tkhd",
            struct.pack(">IIIII", 0, 0, 1, 0, duration) + b"\0" * 8,
            struct.pack(">hhhH", 0, 0, 0x100 if handler == b"soun" else 0, 0),
            MATRIX,
            struct.pack(">II", width << 16, height << 16),
            flags=3,
        )
        mvhd = full_box(
            b"mvhd",
            struct.pack(">IIII", 0, 0, timescale, duration),
            struct.pack(">IH", 0x10000, 0x100) + b"\0" * 10,
            MATRIX,
            b"\0" * 24,
            struct.pack(">I", 2),
        )
        return box(b"moov", mvhd, box(b"trak", tkhd, mdia))

    ftyp = box(b"ftyp", brand, struct.pack(">I", 0x200), brand, b"isom", b"mp42")
    head_len = len(ftyp) + len(moov(0)) + 8  # mdat's own header comes before the samples
    return ftyp + moov(head_len) + box(b"mdat", *samples)


# A silent stereo AAC-LC frame at 44.1 kHz (1024 samples), and its AudioSpecificConfig.
SILENT_AAC = bytes([0x21, 0x00, 0x49, 0x90, 0x02, 0x19, 0x00, 0x23, 0x80])
AAC_CONFIG = bytes([0x12, 0x10])


def _descriptor(tag: int, payload: bytes) -> bytes:
    return bytes([tag, len(payload)]) + payload


def audio_only_m4a(seconds: float = 1.0) -> bytes:
    """An M4A with one AAC audio track (silence) and no video track."""
    decoder_config = _descriptor(
        0x04, bytes([0x40, 0x15]) + b"\0" * 3 + struct.pack(">II", 128000, 128000)
        + _descriptor(0x05, AAC_CONFIG)
    )  # fmt: skip
    es = _descriptor(0x03, struct.pack(">HB", 1, 0) + decoder_config + _descriptor(0x06, b"\x02"))
    entry = box(
        b"mp4a",
        b"\0" * 6 + struct.pack(">H", 1) + b"\0" * 8,
        struct.pack(">HHHHI", 2, 16, 0, 0, 44100 << 16),
        full_box(b"esds", es),
    )
    n = max(1, round(seconds * 44100 / 1024))
    return iso_mp4(b"soun", entry, [SILENT_AAC] * n, 1024, 44100, brand=b"M4A ")


def video_entry(codec: bytes, width: int, height: int, *extra: bytes) -> bytes:
    """A visual sample entry (ISO 14496-12) of the given codec type."""
    return box(
        codec,
        b"\0" * 6 + struct.pack(">H", 1) + b"\0" * 16,
        struct.pack(">HHIIIH", width, height, 0x480000, 0x480000, 0, 1),
        b"\0" * 32,
        struct.pack(">Hh", 24, -1),
        *extra,
    )


def video_mp4(codec: bytes, samples: Sequence[bytes], width: int = 64, height: int = 48) -> bytes:
    """An MP4 with one video track of `codec` holding `samples` at 10 fps (no samples: an empty
    track; an unknown codec type: a track no decoder takes)."""
    entry = video_entry(codec, width, height)
    return iso_mp4(b"vide", entry, samples, 1, 10, width=width, height=height)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "samples")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    detector = FaceDetector(paths.DETECTOR)
    for sub in ("real", "fake", "bad", "video"):
        shutil.rmtree(args.out / sub, ignore_errors=True)
        (args.out / sub).mkdir(parents=True)
    for rel in PHOTOS:
        src = ROOT / "assets" / rel
        name = f"{src.parent.name}-{src.stem}.jpg"
        image = read_image(src)
        shutil.copy(src, args.out / "real" / f"{src.parent.name}-{src.name}")
        cv2.imwrite(
            str(args.out / "fake" / name),
            blend_faces(image, detector, rng),
            [cv2.IMWRITE_JPEG_QUALITY, 92],
        )
    good = args.out / "fake" / f"{Path(PHOTOS[0]).parent.name}-{Path(PHOTOS[0]).stem}.jpg"
    data = good.read_bytes()
    (args.out / "bad" / "empty.jpg").write_bytes(b"")
    (args.out / "bad" / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (args.out / "bad" / "notes.jpg").write_text("this is text, not a photo\n")
    (args.out / "bad" / "audio-only.m4a").write_bytes(audio_only_m4a())
    photo = read_image(ROOT / "assets" / VIDEO_PHOTO)
    middle_third_clips(args.out / "video", pan(photo, 60), detector, args.seed)
    print(f"samples: {sum(1 for _ in args.out.rglob('*') if _.is_file())} files in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
