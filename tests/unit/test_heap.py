"""heap.keep_freed_buffers: a freed image-sized buffer is reused, not mapped afresh."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deepfake_scanner import paths

# Allocate, free and allocate again a 6 MB buffer (a decoded 1080p image is 6.2 MB) and count
# the page faults the second one costs: fresh pages fault once per 4 KB page (1,536 here).
PROBE = """
import resource, sys
if sys.argv[1] == "keep":
    from deepfake_scanner.heap import keep_freed_buffers
    assert keep_freed_buffers()
if sys.argv[1] == "scanner":
    from deepfake_scanner.scan import Scanner
    Scanner()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
first = bytearray(6 << 20)
del first
before = faults()
second = bytearray(6 << 20)
print(faults() - before)
"""


def second_buffer_faults(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=paths.ROOT,
    )
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_freed_image_buffer_is_reused_instead_of_mapped_again():
    assert second_buffer_faults("default") > 1000  # glibc's own thresholds: mapped afresh
    assert second_buffer_faults("keep") < 100
    assert second_buffer_faults("scanner") < 100  # every entry point builds a Scanner


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_thresholds_are_set_once_per_process():
    from deepfake_scanner import heap

    assert heap.keep_freed_buffers() is True
    assert heap.keep_freed_buffers(mmap_mb=1) is True  # once per process: the first call wins
