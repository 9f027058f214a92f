"""The installed `deepfake-scan` console script, run as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

CLI = Path(sys.executable).parent / "deepfake-scan"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, face_photos) -> Path:
    """Two real photos, one in a subfolder, and three files that cannot be judged."""
    d = tmp_path_factory.mktemp("inputs")
    (d / "sub").mkdir()
    shutil.copy(face_photos[0], d / "a.jpg")
    shutil.copy(face_photos[1], d / "sub" / "b photo.jpg")
    (d / "empty.png").write_bytes(b"")
    (d / "notes.txt").write_text("not an image")
    data = face_photos[0].read_bytes()
    (d / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (d / ".hidden.jpg").write_bytes(data)
    return d


def test_folder_gives_one_well_formed_line_per_file(folder):
    result = run(str(folder), "--threads", "1")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    by_name = {Path(v["source"]).name: v for v in lines}
    assert sorted(by_name) == ["a.jpg", "b photo.jpg", "empty.png", "notes.txt", "truncated.jpg"]
    for v in lines:
        assert isinstance(v["source"], str) and v["threshold"] > 0
        assert set(v["model"]) >= {"version", "sha256"}
        assert set(v["timings_ms"]) >= {"decode", "total"}
    for name in ("a.jpg", "b photo.jpg"):
        v = by_name[name]
        assert v["error"] is None and v["label"] in ("real", "fake") and 0 <= v["score"] <= 1
        assert v["faces"] and all(len(f["box"]) == 4 and 0 <= f["score"] <= 1 for f in v["faces"])
        assert set(v["timings_ms"]) >= {"decode", "detect", "classify", "total"}
    assert by_name["empty.png"]["error"]["code"] == "EMPTY_INPUT"
    assert by_name["notes.txt"]["error"]["code"] == "UNSUPPORTED_MEDIA"
    assert by_name["truncated.jpg"]["error"]["code"] == "UNDECODABLE"
    for name in ("empty.png", "notes.txt", "truncated.jpg"):
        assert by_name[name]["label"] == "unknown" and by_name[name]["score"] is None


def test_threshold_option_is_reported(folder):
    result = run(str(folder / "a.jpg"), "--threshold", "0.25")
    assert result.returncode == 0
    assert json.loads(result.stdout)["threshold"] == 0.25


@pytest.mark.parametrize(
    "args", [["/no/such/file.jpg"], ["--threshold", "2", "x"], [], ["--threads", "0", "x"]]
)
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert "usage" in result.stderr or "error" in result.stderr


def test_missing_model_exits_3(tmp_path, folder):
    result = run(str(folder / "a.jpg"), "--model", str(tmp_path))
    assert result.returncode == 3 and "metadata.json" in result.stderr
