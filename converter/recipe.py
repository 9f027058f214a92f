"""The reference model's training recipe: three runs of converter.train, each from the last.

    python -m converter.recipe [--runs runs] [--seed 0] [--workers 1] [--minutes M] [TRAIN_OPTIONS]

1. stage1: from scratch, 3,000 steps, blends ramping from easy to full difficulty.
2. reference: 5,000 steps from stage1's last weights, lr 5e-4, full difficulty throughout.
3. people: 2,000 steps from reference's best, lr 5e-4, label smoothing 0.1.

Every run trains on assets/faces/train and keeps the checkpoint with the best self-blend AUC on
the tune people (assets/faces/tune); `make model-report` then converts and evaluates
RUNS/people/best.keras. `make train-reference` runs this on the CPU (about 90 minutes on two
cores); on a GPU machine give --workers (processes making batches, the CPU is the limit there)
and, to fit a lease, --minutes: the time left is shared out over the remaining runs by their
steps, so a cut recipe still ends with all three runs. Each run is its own process (as the
Makefile's three commands were): the backend's memory and threads end with it. Any other
option is passed to every run (e.g. `--batch 8 --val-fakes 16` for a quick try).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

# (run, steps, flags); {runs} is the --runs folder
STAGES: list[tuple[str, int, list[str]]] = [
    ("stage1", 3000, []),
    (
        "reference",
        5000,
        ["--init", "{runs}/stage1/last.keras", "--lr", "5e-4", "--curriculum", "0"],
    ),
    (
        "people",
        2000,
        [
            "--init",
            "{runs}/reference/best.keras",
            "--lr",
            "5e-4",
            "--curriculum",
            "0",
            "--label-smoothing",
            "0.1",
        ],
    ),
]
DATA = ["--data", "assets/faces/train", "--val-data", "assets/faces/tune"]
# One validation set for every seed (seed 0's, as before), so runs with different seeds choose
# and compare their checkpoints on the same self-blends of the tune people.
VAL_SEED = 1


def commands(runs: Path, seed: int, workers: int, extra: list[str]) -> list[list[str]]:
    """The recipe's converter.train argument lists, in order."""
    out = []
    for name, steps, flags in STAGES:
        args = [*DATA, "--out", str(runs / name), "--steps", str(steps), "--seed", str(seed)]
        args += ["--val-seed", str(VAL_SEED)]
        args += [f.format(runs=runs) for f in flags]
        if workers > 1:
            args += ["--workers", str(workers)]
        out.append(args + extra)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m converter.recipe", description=__doc__.split("\n")[0]
    )
    p.add_argument("--runs", type=Path, default=Path("runs"), help="folder for the three runs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="converter.train --workers")
    p.add_argument("--minutes", type=float, default=None, help="wall-time budget for all three")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args, passthrough = p.parse_known_args(argv)
    extra = passthrough + (["--quiet"] if args.quiet else [])
    deadline = time.time() + args.minutes * 60 if args.minutes else None
    steps_left = sum(steps for _, steps, _ in STAGES)
    for (name, steps, _), train_args in zip(
        STAGES, commands(args.runs, args.seed, args.workers, extra), strict=True
    ):
        if deadline is not None:
            share = max(0.1, (deadline - time.time()) / 60 * steps / steps_left)
            train_args += ["--minutes", f"{share:.2f}"]
        steps_left -= steps
        print(
            f"recipe: {name}: python -m converter.train {' '.join(train_args)}",
            file=sys.stderr,
            flush=True,
        )
        done = subprocess.run([sys.executable, "-m", "converter.train", *train_args], check=False)
        if done.returncode != 0:
            print(f"recipe: {name} failed (exit {done.returncode})", file=sys.stderr)
            return done.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
