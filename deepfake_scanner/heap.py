"""Keep freed image buffers in the process for the next scan instead of handing them back.

glibc serves an allocation of more than its mmap threshold (128 KB at first) with a fresh
mapping and unmaps it when freed; it raises the threshold to the size of a freed mapping, but a
request of exactly that size is mapped again. A decoded 1080p image is one 6.2 MB buffer, so a
process that scans photos of one size gets fresh pages for every decode and the kernel zeroes
and maps them: decoding the benchmark's 1080p JPEG took 12.6-13.8 ms that way and 8.3-8.5 ms
with the buffer reused (one core, 2026-11-27). Setting both thresholds (the trim threshold too,
or the heap's free top is given back at once) keeps those pages. Memory stays bounded: live
buffers are what they were, and at most `trim_mb` of free heap is kept on top.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_MB = 64  # buffers under this come from the heap: a 21 MP photo decodes to 63 MB
TRIM_MB = 128  # free heap kept on top before any is returned

_done: bool | None = None


def keep_freed_buffers(mmap_mb: int = MMAP_MB, trim_mb: int = TRIM_MB) -> bool:
    """Set glibc's thresholds once per process; True if they are set (False off glibc)."""
    global _done
    if _done is None:
        _done = False
        if sys.platform.startswith("linux"):
            try:
                mallopt = ctypes.CDLL(None).mallopt
            except (OSError, AttributeError):
                return False
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
            # some glibc releases refuse a threshold over HEAP_MAX_SIZE / 2 (32 MB); musl's
            # mallopt does nothing and returns 0
            mapped = any(mallopt(M_MMAP_THRESHOLD, mb << 20) == 1 for mb in (mmap_mb, 32))
            _done = mapped and mallopt(M_TRIM_THRESHOLD, trim_mb << 20) == 1
    return _done
