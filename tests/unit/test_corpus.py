"""The bad-input corpus (tests/corpus.py) through Scanner.scan_file and Scanner.scan_bytes:
every file gets its documented outcome, both ways, with no exception; valid variants of a
photo get the photo's own verdict; and, in a subprocess under an address-space limit, the
bombs are refused without allocating what they declare, fast, and nothing exceeds the memory
an image at the pixel limit is budgeted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from deepfake_scanner.errors import ERROR_CODES
from deepfake_scanner.media import DEFAULT_LIMITS
from deepfake_scanner.verdict import SCHEMA, label_for
from tests import corpus
from tests.conftest import ROOT, require

CASES = corpus.cases()
BY_NAME = {c.name: c for c in CASES}
# The subprocess's address space: the loaded scanner maps about 0.5 GB (LiteRT, OpenCV, the
# models), which leaves about 1 GB, the function's default memory, for the scans.
ADDRESS_SPACE = 1536 << 20
# An image at the pixel limit: its BGR decode, a shrunk copy and the padded square for
# detection are each at most 3 bytes x max_pixels (150 MB at the default); one more for the
# resize buffers.
IMAGE_BUDGET = 4 * 3 * DEFAULT_LIMITS.max_pixels
BOMB_BUDGET = 16 << 20  # a bomb costs its header parse: the bytes read, and nothing like its size


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    start = time.perf_counter()
    written = corpus.write_corpus(out, require(corpus.PHOTO))
    assert [c.name for c in written] == sorted(BY_NAME, key=list(BY_NAME).index)
    assert time.perf_counter() - start < 20
    return out


@pytest.fixture(scope="module")
def judge(scanner, corpus_dir):
    """name -> (verdict via scan_file, verdict via scan_bytes), as dicts; each file once."""
    done: dict[str, tuple[dict, dict]] = {}

    def get(name: str) -> tuple[dict, dict]:
        if name not in done:
            path = corpus_dir / name
            by_file = scanner.scan_file(path, name).to_dict()
            by_bytes = scanner.scan_bytes(path.read_bytes(), name).to_dict()
            done[name] = (by_file, by_bytes)
        return done[name]

    return get


def check(v: dict, case: corpus.Case) -> None:
    assert v["schema"] == SCHEMA and v["source"] == case.name
    assert v["media"] == case.media and v["content_type"] == case.content_type
    if case.expect == corpus.VERDICT:
        assert v["error"] is None, v["error"]
        assert v["label"] in ("real", "fake")
        assert 0.0 <= v["score"] <= 1.0
        assert v["label"] == label_for(v["score"], v["threshold"])
        assert v["region"] == case.region
        faces = (
            v["faces"] if v["media"] == "image" else [f for fr in v["frames"] for f in fr["faces"]]
        )
        assert bool(faces) == (case.region == "faces")
        assert all(0.0 <= f["score"] <= 1.0 for f in faces)
        if v["media"] == "image" and faces:  # one manipulated face makes the image fake
            assert v["score"] == max(f["score"] for f in faces)
    else:
        assert case.expect in ERROR_CODES
        assert v["error"] is not None and v["error"]["code"] == case.expect, v["error"]
        assert v["error"]["message"]
        assert v["label"] == "unknown" and v["score"] is None and v["faces"] == []


def comparable(v: dict) -> dict:
    return {k: x for k, x in v.items() if k not in ("scanned_at", "timings_ms")}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_file_gets_its_documented_outcome(case, judge):
    by_file, by_bytes = judge(case.name)
    check(by_file, case)
    check(by_bytes, case)
    assert comparable(by_file) == comparable(by_bytes)  # the two entry points agree


@pytest.mark.parametrize("case", [c for c in CASES if c.same_as], ids=lambda c: c.name)
def test_variants_with_the_same_pixels_get_the_same_verdict(case, judge):
    """16-bit, alpha, another name, a ZIP appended, progressive coding, a huge or broken EXIF
    block, thousands of segments: the pixels are the reference's, so is the verdict."""
    got, ref = judge(case.name)[0], judge(case.same_as)[0]
    assert got["faces"] == ref["faces"] and got["score"] == ref["score"]
    assert got["label"] == ref["label"] and got["region"] == ref["region"]


def test_other_encodings_of_the_photo_find_the_same_face(judge):
    """Grey, palette, CMYK, WebP: not the same pixels, but the same face in the same place."""
    ref = judge("photo.png")[0]["faces"]
    assert len(ref) == 1
    rx, ry, rw, rh = ref[0]["box"]
    for name in ("photo.webp", "photo-gray.png", "photo-gray16.png", "photo-palette.png",
                 "photo-gray.jpg", "photo-cmyk.jpg"):  # fmt: skip
        faces = judge(name)[0]["faces"]
        assert len(faces) == 1, name
        x, y, w, h = faces[0]["box"]
        assert max(abs(x - rx), abs(y - ry), abs(w - rw), abs(h - rh)) <= 0.1 * rw, name


def test_polyglots_really_are_both(corpus_dir):
    assert zipfile.is_zipfile(corpus_dir / "jpeg-zip-polyglot.jpg")
    assert zipfile.is_zipfile(corpus_dir / "png-zip-polyglot.png")
    with zipfile.ZipFile(corpus_dir / "jpeg-zip-polyglot.jpg") as z:
        assert "readme.txt" in z.namelist()


def test_bombs_are_small_on_disk_and_declare_huge_images(corpus_dir):
    """What makes them bombs: a few KB that would decode to more than the function's memory."""
    for case in CASES:
        if case.bomb and case.expect == "TOO_MANY_PIXELS":
            assert (corpus_dir / case.name).stat().st_size < 100_000, case.name


def test_the_table_lists_every_case():
    text = corpus.table()
    assert all(f"`{c.name}`" in text for c in CASES)


def run_measure(corpus_dir: Path, names: list[str]) -> dict[str, dict]:
    cmd = [sys.executable, "-m", "tests.corpus", str(corpus_dir), "--measure", *names,
           "--address-space-mb", str(ADDRESS_SPACE >> 20)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [r["name"] for r in rows] == names
    return {r["name"]: r for r in rows}


def test_every_file_is_judged_within_memory_under_an_address_space_limit(corpus_dir):
    """One process, RLIMIT_AS 1.5 GB, the bombs first (before any large allocation could leave
    memory to reuse): each file's peak RSS growth over both entry points is measured."""
    bombs = [c.name for c in CASES if c.bomb]
    names = bombs + [c.name for c in CASES if not c.bomb]
    rows = run_measure(corpus_dir, names)
    for name, row in rows.items():
        case = BY_NAME[name]
        assert row["codes"] == [case.expect, case.expect], name
        assert row["peak_growth"] <= IMAGE_BUDGET, (name, row)
    for name in bombs:
        size = (corpus_dir / name).stat().st_size
        row = rows[name]
        assert row["peak_growth"] <= 2 * size + BOMB_BUDGET, (name, row)
        assert row["seconds"] < 1.0, (name, row)  # both scans: refused from the header
    big = rows["black-7000x7000.png"]
    assert big["peak_growth"] > 3 * 7000 * 7000 // 2  # it really was decoded
