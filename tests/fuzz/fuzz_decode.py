"""atheris (libFuzzer) target for the decode path: sniffing, the image header parsers and
`check_image`/`decode_image`, the EBML DocType reader and the container probes, and (with
--scan) the whole of `Scanner.scan_bytes`.

A short run (20,000 inputs in about 6 s on one core here):

    .venv/bin/python tests/fuzz/fuzz_decode.py -atheris_runs=20000 -max_len=4096

With the scanner too (loads the models; 20,000 inputs in about 26 s):

    .venv/bin/python tests/fuzz/fuzz_decode.py --scan -atheris_runs=20000 -max_len=4096

Any libFuzzer flag works (-seed=N, -max_total_time=S, -artifact_prefix=DIR/). Without a corpus
folder on the command line, the run starts from small valid JPEG, PNG, WebP, BMP, TIFF, MP4,
WebM and AVI files written into a temporary folder (and removed at exit); name a folder to keep
what the fuzzer finds (an empty one is seeded the same way).

A finding is an exception other than a ScanError from the decode path, a header size or probe
result of the wrong shape, or a verdict that breaks the schema (an error code not in
ERROR_CODES, a score outside [0, 1], NaN in its JSON): libFuzzer then writes the input to
crash-<sha1> and exits non-zero. Memory counts too: the peak RSS is reset before each input
and read after it, and an input that grew it by more than --max-growth-mb (default 256) is a
finding, named exactly (a 575-byte PNG whose chunk declared 4 GB was found by libFuzzer's
-rss_limit_mb, which only says which input was running when it noticed; and libFuzzer reads
ru_maxrss, which a process started from a large one inherits: pass -rss_limit_mb=0 there).
Images are held to 1 MP here (the check is the same at any limit; smaller decodes keep runs
fast).
"""

from __future__ import annotations

import atexit
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

# The third-party modules first, uninstrumented: only our own code is traced for coverage.
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with atheris.instrument_imports(include=["deepfake_scanner"]):
    from deepfake_scanner import containers, media
    from deepfake_scanner.errors import ERROR_CODES, ScanError

# after the instrumented imports: tests.corpus imports deepfake_scanner too
from tests.corpus import _reset_peak, _status

LIMITS = media.Limits(max_pixels=1_000_000)
MAX_GROWTH = 256 << 20  # bytes of peak RSS one input may add (--max-growth-mb)
PROBED = ("video/mp4", "video/quicktime", "audio/mp4", "video/webm", "video/x-matroska",
          "video/x-msvideo")  # fmt: skip
SCANNER = None


def check_verdict(d: dict) -> None:
    json.dumps(d, allow_nan=False)
    if d["error"] is not None:
        assert d["error"]["code"] in ERROR_CODES, d["error"]
        assert d["label"] == "unknown" and d["score"] is None, d
    else:
        assert d["label"] in ("real", "fake") and 0.0 <= d["score"] <= 1.0, d


def TestOneInput(data: bytes) -> None:
    measured = _reset_peak()
    before = _status("VmRSS") if measured else 0
    decode(data)
    if measured:
        growth = _status("VmHWM") - before
        assert growth <= MAX_GROWTH, f"this input grew the peak RSS by {growth >> 20} MB"


def decode(data: bytes) -> None:
    mime = media.sniff(data)
    assert (
        mime is None
        or mime in media.IMAGE_TYPES
        or mime in media.VIDEO_TYPES
        or (mime == "image/gif")
    )
    for m in media.IMAGE_TYPES:
        size = media.image_size(data, m)
        assert size is None or (len(size) == 2 and min(size) >= 0), size
    containers.ebml_doctype(data)
    for m in PROBED:
        info = containers.probe_stream(io.BytesIO(data), m)
        assert isinstance(info, containers.ContainerInfo)
    try:
        image, got = media.decode_image(data, LIMITS)
    except ScanError as exc:
        assert exc.code in ERROR_CODES
    else:
        assert got == mime and image.ndim == 3 and image.shape[2] == 3
        assert image.shape[0] * image.shape[1] <= LIMITS.max_pixels
    if SCANNER is not None:
        check_verdict(SCANNER.scan_bytes(data, "fuzz").to_dict())


def seeds(folder: Path) -> None:
    """Small valid files of every format the decode path takes."""
    rng = np.random.default_rng(0)
    picture = cv2.resize(rng.integers(0, 255, (3, 4, 3), dtype=np.uint8), (16, 12))
    for ext, params in ((".jpg", []), (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), (".png", []),
                        (".webp", []), (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]), (".bmp", []),
                        (".tiff", [])):  # fmt: skip
        ok, buf = cv2.imencode(ext, picture, params)
        if ok:
            (folder / f"seed{len(list(folder.iterdir()))}{ext}").write_bytes(buf.tobytes())
    for ext, fourcc in ((".mp4", "mp4v"), (".webm", "VP80"), (".avi", "MJPG")):
        path = folder / f"clip{ext}"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), 5, (16, 12))
        for k in range(3):
            writer.write(np.roll(picture, k, axis=1))
        writer.release()
        if path.exists() and path.stat().st_size > 4096:
            path.write_bytes(path.read_bytes()[:4096])


def main(argv: list[str]) -> None:
    global SCANNER, MAX_GROWTH
    args = []
    for a in argv:
        if a.startswith("--max-growth-mb="):
            MAX_GROWTH = int(a.split("=", 1)[1]) << 20
        elif a != "--scan":
            args.append(a)
    if "--scan" in argv:
        from deepfake_scanner.scan import Scanner

        SCANNER = Scanner(threads=1, limits=LIMITS)
    named = [Path(a) for a in args[1:] if not a.startswith("-")]
    if not named:  # no corpus folder: seeds in a temporary one
        folder = Path(tempfile.mkdtemp(prefix="fuzz-decode-"))
        atexit.register(shutil.rmtree, folder, True)
        seeds(folder)
        args.append(str(folder))
    elif named[0].is_dir() and not any(named[0].iterdir()):  # an empty folder: seed it
        seeds(named[0])
    atheris.Setup(args, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
