"""A short run of the atheris fuzz target (tests/fuzz/fuzz_decode.py), where atheris is
installed: a few thousand inputs through the decode path and Scanner.scan_bytes, no finding."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import ROOT

TARGET = ROOT / "tests" / "fuzz" / "fuzz_decode.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None, reason="atheris is not installed"
)


@pytest.mark.parametrize("scan,runs", [(False, 5000), (True, 3000)], ids=["parsers", "scan"])
def test_a_short_fuzz_run_finds_nothing(tmp_path, scan, runs):
    # -rss_limit_mb=0: libFuzzer's check reads ru_maxrss, which a child inherits from this (large)
    # pytest process; the target checks each input's own peak RSS growth instead.
    flags = ["-max_len=4096", "-rss_limit_mb=0", "-seed=1", f"-artifact_prefix={tmp_path}/"]
    cmd = [sys.executable, str(TARGET), *(["--scan"] if scan else []), f"-atheris_runs={runs}"]
    cmd += flags
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    assert f"Done {runs} " in proc.stderr, tail
    # the decode path is instrumented: coverage grows (a fuzzer blind to it finds nothing)
    assert "no interesting inputs were found" not in proc.stderr, tail
    assert " cov: " in proc.stderr, tail
    assert not [
        p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "oom-", "timeout-"))
    ]


def test_an_input_that_grows_memory_is_a_finding(tmp_path):
    """Given files, libFuzzer runs each once: a valid 1000x1000 PNG decodes to 3 MB of BGR,
    over a 1 MB allowance, and is reported as the input that did it."""
    import cv2
    import numpy as np

    png = tmp_path / "big.png"
    png.write_bytes(cv2.imencode(".png", np.full((1000, 1000, 3), 7, np.uint8))[1].tobytes())
    cmd = [sys.executable, str(TARGET), "--max-growth-mb=1", "-rss_limit_mb=0", str(png)]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr  # atheris prints the Python exception to stdout
    assert proc.returncode != 0 and "grew the peak RSS by" in out, out[-2000:]
    ok = subprocess.run([*cmd[:2], "-rss_limit_mb=0", str(png)], cwd=tmp_path,
                        capture_output=True, text=True, timeout=60)  # fmt: skip
    assert ok.returncode == 0, ok.stderr[-2000:]
