"""What decoding a large JPEG at half size would change: time, and the scores.

libjpeg can decode a JPEG at 1/2 scale in the DCT (OpenCV's IMREAD_REDUCED_COLOR_2), for about
half the time of a full decode. The model sees 224x224 crops, so where every face's crop is at
least 448 input pixels across (224 at half scale) the full-size pixels are thrown away by the
resize anyway. This scores every JPEG photo the project fetches (train, tune and eval folders)
both ways, faces found on the half-size image and cropped from it when each crop is still at
least 224 pixels there, and prints the score differences and the decode times (median of 5,
one thread). Files or folders given on the command line are scored too (the benchmark's 1080p
photo: .cache/benchmarks/images after `make bench`).

    .venv/bin/python tools/experiments/reduced_decode.py .cache/benchmarks/images
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from deepfake_scanner.cli import iter_files
    from deepfake_scanner.media import decode_image
    from deepfake_scanner.preprocess import SPEC, face_crops, normalise, square_region
    from deepfake_scanner.scan import Scanner

    cv2.setNumThreads(1)
    scanner = Scanner(threads=1)
    rows = []
    given = [Path(a) for a in sys.argv[1:]]
    inputs = [f for p in [ROOT / "assets/faces", *given] for f in iter_files(p)]
    for path in sorted(inputs):
        if path.suffix.lower() not in (".jpg", ".jpeg"):
            continue
        data = path.read_bytes()
        full, _ = decode_image(data)
        half = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_COLOR_2)
        if half is None:  # decode_image has just decoded the same bytes: not expected
            continue
        faces_full = scanner.detector.detect(full)
        faces_half = scanner.detector.detect(half)
        if not faces_full or len(faces_full) != len(faces_half):
            continue
        sides = [square_region(f.box, SPEC.margin)[2] for f in faces_half]
        if min(sides) < SPEC.size:
            continue  # this face would be decoded in full
        a = scanner.classifier.predict(normalise(face_crops(full, [f.box for f in faces_full])))
        b = scanner.classifier.predict(normalise(face_crops(half, [f.box for f in faces_half])))
        t = []
        for flag in (cv2.IMREAD_COLOR, cv2.IMREAD_REDUCED_COLOR_2):
            buf = np.frombuffer(data, np.uint8)
            runs = []
            for _ in range(5):
                t0 = time.perf_counter()
                cv2.imdecode(buf, flag)
                runs.append(time.perf_counter() - t0)
            t.append(1000 * float(np.median(runs)))
        d = np.abs(np.sort(a) - np.sort(b))
        shown = path.relative_to(ROOT) if path.is_absolute() and path.is_relative_to(ROOT) else path
        rows.append((shown, full.shape, len(a), d.max(), *t))
        print(
            f"{rows[-1][0]}: {full.shape[1]}x{full.shape[0]}, {len(a)} faces, "
            f"max |d score| {d.max():.4f}, decode {t[0]:.1f} -> {t[1]:.1f} ms",
            flush=True,
        )
    d = np.array([r[3] for r in rows])
    ratio = np.array([r[5] / r[4] for r in rows])
    print(
        f"{len(rows)} photos: max |d score| median {np.median(d):.4f}, largest {d.max():.4f}; "
        f"half-size decode time / full, median {np.median(ratio):.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
