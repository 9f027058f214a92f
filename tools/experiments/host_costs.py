"""What the training process does on the host for every step, measured on this machine: turning a
batch of 32 uint8 crops into the float32 model input (`normalise`), and taking a batch from a
spawned batch-making process through its queue (the pickled 4.8 MB batch). On the H100 lease of
2026-11-26 the recipe ran at 650-810 images/s (40-50 ms a step) with 14 workers; then these two
costs were paid in the main process, one after the other with the step (Keras's train_on_batch
returns the loss as a host number, so nothing overlaps). Since then converter.train's Prefetch
pays them in a thread, ahead of the step; on the H200 lease of 2026-11-26 that one thread was
the limit (a step waited 15-16 ms for a batch), so on a GPU the batches now stay uint8 and are
normalised on the device (converter.train --normalise). README, "Retraining", "On a GPU machine".

    .venv/bin/python tools/experiments/host_costs.py
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from deepfake_scanner.preprocess import normalise  # noqa: E402

SHAPE = (32, 224, 224, 3)


def producer(q, n: int) -> None:
    x = np.random.default_rng(0).integers(0, 255, SHAPE, np.uint8)
    y = np.zeros(SHAPE[0], np.float32)
    for _ in range(n):
        q.put((x, y))


def main() -> int:
    x = np.random.default_rng(0).integers(0, 255, SHAPE, np.uint8)
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        normalise(x)
        times.append(time.perf_counter() - t0)
    print(f"normalise a batch (uint8 -> float32): median {1000 * statistics.median(times):.1f} ms")
    ctx = mp.get_context("spawn")
    q = ctx.Queue(maxsize=4)
    n = 60
    proc = ctx.Process(target=producer, args=(q, n))
    proc.start()
    q.get()
    times = []
    for _ in range(n - 1):
        t0 = time.perf_counter()
        q.get()
        times.append(time.perf_counter() - t0)
    proc.join()
    print(
        f"take a batch from a worker's queue: median {1000 * statistics.median(times):.1f} ms, "
        f"least {1000 * min(times):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
