"""The reference model's training recipe: eight stages of converter.train, each from runs before
it, and one choice.

    python -m converter.recipe [--runs runs] [--seed 0] [--people-runs 3] [--from STAGE]
                               [--to STAGE] [--workers 1] [--minutes M | --parallel N]
                               [--dry-run] [TRAIN_OPTIONS]

1. stage1: from scratch, 3,000 steps, blends ramping from easy to full difficulty.
2. reference: 5,000 steps from stage1's last weights, lr 5e-4, full difficulty throughout.
3. people: 2,000 steps from reference's best, lr 5e-4, label smoothing 0.1, run --people-runs
   times with seeds --seed, --seed + 1, ... (RUNS/people-seedN); then
4. choose: the people run with the best tune AUC is copied to RUNS/people, with choice.json
   saying what each scored. Seeds alone moved the reserved AUC by 0.036 (docs/experiments.md,
   "Seeds"), as much as any change we tried, so the recipe draws three and keeps the best on
   the tune set.
5. warp: 2,000 steps from RUNS/people/best.keras with the people stage's options and 70 % of
   the faces warped into other proportions (--warp-share 0.7, seed --seed + 2;
   docs/experiments.md, "New face shapes"), in RUNS/warp: the model shipped until 2026-11-28.
6. hires: the warp stage again from RUNS/warp in the hires layout (seed --seed).
7. hires-more: the warp stage from RUNS/people in the hires layout on the training faces and
   assets/faces/teacher's (RUNS/data-more: links to both; seed --seed).
8. distill: the warp stage again from RUNS/people, trained towards the mean logit of RUNS/warp
   and RUNS/hires as well as the labels (converter.train --teachers; seed --seed + 1).
9. distill2: the warp stage again from RUNS/people, taught by RUNS/distill and RUNS/hires-more
   (seed --seed + 2): the shipped model (docs/experiments.md, "Taught twice"). Stages 6-9 take
   about two hours on this machine's CPU (a hires step costs about 2.5 cheap ones).

Every run trains on assets/faces/train and keeps the checkpoint with the best self-blend AUC on
the tune people (assets/faces/tune), all on the same self-blends (--val-seed 1), so the runs'
AUCs compare. `make train-reference` runs this on the CPU (--parallel 2: two to three hours on
two cores; 115 minutes uncut on 2026-12-08) and `make model-report` converts and evaluates
RUNS/distill2/best.keras; tools/gpu_job.sh runs it on a lent GPU machine. --from STAGE redoes
the stages from STAGE on (e.g. --from people on an existing RUNS/reference), --to STAGE stops
after STAGE; --dry-run prints the runs' commands and runs none. On a GPU machine give --workers
(processes making batches, the CPU is the limit there) and, to fit a lease, --minutes: the time
left is shared out over the remaining runs by their steps times what a step of the stage costs
(run_cost), so a cut recipe still ends with every run, and each run's learning rate anneals to
the end of its share (converter.train's Schedule). Each run is its own process: the backend's
memory and threads end with it. Any other option is passed to every run (e.g. `--batch 8
--val-fakes 16` for a quick try).

--parallel N runs up to N runs at once, each as soon as the runs it reads have ended (the people
seeds side by side; the warp run beside hires-more, then hires), each on its own share of the
CPUs this process may use (Linux), with --quiet and its output lines led by its name. On this
2-core machine, one run a core, that takes about a fifth off the whole recipe by the stage
times measured one at a time (README, "Retraining"). It does not mix with --minutes, which
shares a lease out run after run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

# Continuing a trained model: a lower learning rate at full difficulty from the first step.
CONTINUE = ["--lr", "5e-4", "--curriculum", "0"]
# The people stage's and the warp run's: bounded logits (a threshold below 1.0, smaller int8
# differences).
SMOOTHED = [*CONTINUE, "--label-smoothing", "0.1"]
# The warp run's share of pairs whose base face is warped into other proportions
# (converter.train --warp-share; docs/experiments.md, "New face shapes").
WARP_SHARE = 0.7
WARPED = ["--warp-share", str(WARP_SHARE)]
# The warp stage's start and options, which the later stages repeat with a change
PEOPLE_ON = ["--init", "{runs}/people/best.keras", *SMOOTHED, *WARPED]
TAUGHT = [*PEOPLE_ON, "--teachers"]  # then the teachers' checkpoints
# Faces only the hires-more teacher trains on, beside assets/faces/train's (tools/assets.json
# group "teacher": two Debian packages' example photos, 36 faces of about 24 people)
TEACHER_FACES = Path("assets/faces/teacher")
TRAIN_FACES = Path("assets/faces/train")
# (run, steps, flags); {runs} is the --runs folder
STAGES: list[tuple[str, int, list[str]]] = [
    ("stage1", 3000, []),
    ("reference", 5000, ["--init", "{runs}/stage1/last.keras", *CONTINUE]),
    ("people", 2000, ["--init", "{runs}/reference/best.keras", *SMOOTHED]),
    ("warp", 2000, PEOPLE_ON),
    # the shipped model's teachers' teachers: the warp run's stage again in the hires layout,
    # from the warp run (distill, below, is taught by both)
    ("hires", 2000, ["--init", "{runs}/warp/best.keras", *SMOOTHED, *WARPED, "--layout", "hires"]),
    # a teacher that has seen more people: the warp stage in the hires layout from the people
    # run, on the training faces and assets/faces/teacher's (RUNS/data-more, made by the recipe).
    # It needs neither hires nor distill, so the two hires runs can run side by side (README,
    # "Retraining") and --from distill then does the two distilled runs alone.
    (
        "hires-more",
        2000,
        [*PEOPLE_ON, "--layout", "hires", "--data", "{runs}/data-more"],
    ),
    # the warp stage taught by the warp run and the hires run (converter.train --teachers)
    ("distill", 2000, [*TAUGHT, "{runs}/warp/best.keras", "{runs}/hires/best.keras"]),
    # the shipped model: the warp stage taught by the distilled run and the hires-more run
    ("distill2", 2000, [*TAUGHT, "{runs}/distill/best.keras", "{runs}/hires-more/best.keras"]),
]
# What a step costs against a cheap-layout step, for sharing out --minutes: a hires step 2.5
# (1.1 s against 0.43, this 2-core CPU, one thread a run), a cheap step taught by a cheap and a
# hires teacher 1.9 (0.82 s: their forward passes); tools/experiments/*/result.json.
HIRES_STEP, TAUGHT_STEP = 2.5, 1.9


def run_cost(stage: str, steps: int) -> float:
    """A run's cost in cheap-layout steps, from its stage's flags."""
    flags = next(f for name, _, f in STAGES if name == stage)
    if "--layout" in flags and flags[flags.index("--layout") + 1] == "hires":
        return steps * HIRES_STEP
    return steps * (TAUGHT_STEP if "--teachers" in flags else 1.0)


def lease_share(minutes_left: float, stage: str, steps: int, cost_left: float) -> float:
    """A run's minutes out of what is left of --minutes: its share of the remaining runs' cost,
    at least 0.1."""
    return max(0.1, minutes_left * run_cost(stage, steps) / cost_left)


# Each run's seed is --seed plus its stage's offset. The offsets are those of the runs behind
# the shipped model, each chosen among seeds by its tune AUC: warp seed 2 (docs/experiments.md,
# "New face shapes"), distill seed 1 and distill2 seed 2 ("Taught twice").
SEED_OFFSETS = {"warp": 2, "distill": 1, "distill2": 2}
DATA = ["--data", str(TRAIN_FACES), "--val-data", "assets/faces/tune"]
# One validation set for every seed (seed 0's, as before), so runs with different seeds choose
# and compare their checkpoints on the same self-blends of the tune people.
VAL_SEED = 1


# choose runs between the people runs and the warp run, which continues the chosen one
STAGE_NAMES = [
    "stage1",
    *("reference", "people", "choose", "warp", "hires", "hires-more", "distill", "distill2"),
]
CHOOSE = STAGE_NAMES.index("choose")
# The stage whose best checkpoint is the shipped model (make model-report converts it)
SHIPPED = "distill2"


def runs_of(seed: int, people_runs: int) -> list[tuple[str, str, int, int]]:
    """(stage, run folder name, seed, steps) of every training run, in order."""
    out = []
    for name, steps, _ in STAGES:
        if name == "people":
            out += [(name, f"people-seed{s}", s, steps) for s in range(seed, seed + people_runs)]
        else:
            out.append((name, name, seed + SEED_OFFSETS.get(name, 0), steps))
    return out


def commands(
    runs: Path, seed: int, workers: int, extra: list[str], people_runs: int = 3
) -> list[list[str]]:
    """The recipe's converter.train argument lists, in order."""
    flags = {name: f for name, _, f in STAGES}
    out = []
    for stage, folder, run_seed, steps in runs_of(seed, people_runs):
        data = DATA[2:] if "--data" in flags[stage] else DATA  # a stage's own --data
        args = [*data, "--out", str(runs / folder), "--steps", str(steps), "--seed", str(run_seed)]
        args += ["--val-seed", str(VAL_SEED)]
        args += [f.format(runs=runs) for f in flags[stage]]
        if workers > 1:
            args += ["--workers", str(workers)]
        out.append(args + extra)
    return out


def more_faces(folder: Path) -> Path:
    """RUNS/data-more for the hires-more stage: a link to every source folder of
    assets/faces/train and of assets/faces/teacher, so one --data reads both. Made again each
    time, so a source taken out of tools/assets.json leaves no link behind."""
    missing = [str(f) for f in (TRAIN_FACES, TEACHER_FACES) if not f.is_dir()]
    if missing:
        raise SystemExit(f"recipe: {', '.join(missing)} missing (make setup fetches them)")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if not old.is_symlink():
            raise SystemExit(f"recipe: {old} is not a link: {folder} holds only links")
        old.unlink()
    for source in sorted([*TRAIN_FACES.iterdir(), *TEACHER_FACES.iterdir()]):
        if source.is_dir():
            (folder / source.name).symlink_to(source.resolve(), target_is_directory=True)
    return folder


def needs(stage: str) -> set[str]:
    """The run folders a stage's flags read ({runs}/NAME/...): "people" is the choice's copy;
    data-more is made by the recipe itself just before the hires-more run."""
    flags = next(f for name, _, f in STAGES if name == stage)
    found = {m for flag in flags for m in re.findall(r"\{runs\}/([\w-]+)/", flag)}
    return found - {"data-more"}


def cpu_groups(slots: int) -> list[set[int] | None]:
    """Each of `slots` side-by-side runs' own CPUs, split from those this process may use; None
    (no pinning) where there are fewer CPUs than slots or no affinity call (not Linux)."""
    if not hasattr(os, "sched_getaffinity"):
        return [None] * slots
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < slots:
        return [None] * slots
    size = len(cpus) // slots
    return [set(cpus[i * size : (i + 1) * size]) for i in range(slots)]


def prefixed(stream, name: str) -> threading.Thread:
    """Copy a run's output to stderr line by line, each line led by the run's name."""

    def copy() -> None:
        for line in stream:
            sys.stderr.write(f"{name}: {line}")
            sys.stderr.flush()

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


Job = tuple[str, set[str], Callable[[set[int] | None], subprocess.Popen | None]]


def side_by_side(jobs: list[Job], slots: int, poll: float = 0.5) -> int:
    """Run jobs (name, the names it waits for, start) with at most `slots` at once, each as soon
    as what it waits for has ended, in list order among the ready ones. `start(cpus)` returns
    the job's process, or None for work done in this process (it is then over). The first
    failure stops the others and its exit status is returned; 0 when every job succeeded."""
    pending = list(jobs)
    groups = cpu_groups(slots)
    running: dict[str, tuple[subprocess.Popen, int]] = {}  # name: (process, slot)
    done: set[str] = set()
    while pending or running:
        free = sorted(set(range(slots)) - {slot for _, slot in running.values()})
        progressed = False
        for job in [j for j in pending if j[1] <= done]:
            if not free:
                break
            name, _, start = job
            pending.remove(job)
            slot = free[0]
            proc = start(groups[slot])
            if proc is None:
                done.add(name)
                progressed = True
            else:
                running[name] = (proc, slot)
                free.remove(slot)
        if progressed:
            continue
        if not running:  # waiting on a job that is neither done nor to be run
            raise SystemExit(f"recipe: {pending[0][0]} waits for runs that are not planned")
        time.sleep(poll)
        for name, (proc, _) in list(running.items()):
            code = proc.poll()
            if code is None:
                continue
            del running[name]
            if code != 0:
                for other, _ in running.values():
                    other.terminate()
                for other, _ in running.values():
                    other.wait()
                print(f"recipe: {name} failed (exit {code})", file=sys.stderr)
                return code
            done.add(name)
    return 0


def choose(runs: Path, folders: list[str]) -> dict:
    """Copy the run with the best validation AUC to RUNS/people (ties: the first) and say why."""
    scores = {}
    for folder in folders:
        state = runs / folder / "state.json"
        if state.exists() and (runs / folder / "best.keras").exists():
            scores[folder] = json.loads(state.read_text())["best_auc"]
    ranked = [f for f in folders if scores.get(f) is not None]
    if not ranked:
        raise SystemExit(f"recipe: no finished people run in {runs} ({', '.join(folders)})")
    chosen = max(ranked, key=lambda f: scores[f])  # max keeps the first of equals
    target = runs / "people"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(runs / chosen, target)
    choice = {
        "chosen": chosen,
        "criterion": f"best self-blend AUC on the tune people (--val-seed {VAL_SEED})",
        "best_val_auc": scores,
    }
    (target / "choice.json").write_text(json.dumps(choice, indent=1) + "\n")
    return choice


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m converter.recipe", description=__doc__.split("\n")[0]
    )
    p.add_argument("--runs", type=Path, default=Path("runs"), help="folder for the runs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--people-runs", type=int, default=3, help="people-stage seeds to draw, best kept"
    )
    p.add_argument(
        "--from",
        dest="start",
        choices=STAGE_NAMES,
        default=STAGE_NAMES[0],
        help="skip the stages before this one (their runs must exist)",
    )
    p.add_argument(
        "--to",
        dest="stop",
        choices=STAGE_NAMES,
        default=SHIPPED,
        help=f"stop after this stage (default {SHIPPED}: the shipped model's)",
    )
    p.add_argument("--workers", type=int, default=1, help="converter.train --workers")
    p.add_argument("--minutes", type=float, default=None, help="wall-time budget for every run")
    p.add_argument(
        "--parallel", type=int, default=1, help="runs at once, each on its share of the CPUs"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--dry-run", action="store_true", help="print the runs' commands, run none")
    args, passthrough = p.parse_known_args(argv)
    if args.people_runs < 1:
        p.error("--people-runs must be at least 1")
    if args.parallel < 1:
        p.error("--parallel must be at least 1")
    if args.parallel > 1 and args.minutes:
        p.error("--parallel and --minutes do not mix: a lease is shared out run after run")
    extra = passthrough + (["--quiet"] if args.quiet or args.parallel > 1 else [])
    deadline = time.time() + args.minutes * 60 if args.minutes else None
    planned = list(
        zip(
            runs_of(args.seed, args.people_runs),
            commands(args.runs, args.seed, args.workers, extra, args.people_runs),
            strict=True,
        )
    )
    start, stop = STAGE_NAMES.index(args.start), STAGE_NAMES.index(args.stop)
    if stop < start:
        p.error(f"--to {args.stop} comes before --from {args.start}")
    todo = [(run, a) for run, a in planned if start <= STAGE_NAMES.index(run[0]) <= stop]
    people = [folder for (stage, folder, _, _), _ in planned if stage == "people"]
    if args.parallel > 1:
        return in_parallel(args, todo, people, start <= CHOOSE <= stop)
    cost_left = sum(run_cost(run[0], run[3]) for run, _ in todo)
    shared = 0.0  # a dry run's clock does not move: what the runs before would have used
    chose = not start <= CHOOSE <= stop  # True: nothing to choose in this call
    for (stage, folder, _, steps), train_args in todo:
        if not chose and STAGE_NAMES.index(stage) > CHOOSE:
            if not args.dry_run:
                choose_and_say(args.runs, people)
            chose = True
        if deadline is not None:
            left = (deadline - time.time()) / 60 - shared
            share = lease_share(left, stage, steps, cost_left)
            train_args += ["--minutes", f"{share:.2f}"]
            shared += share if args.dry_run else 0.0
        cost_left -= run_cost(stage, steps)
        say_run(folder, train_args)
        if args.dry_run:
            continue
        if stage == "hires-more":
            more_faces(args.runs / "data-more")
        done = subprocess.run([sys.executable, "-m", "converter.train", *train_args], check=False)
        if done.returncode != 0:
            print(f"recipe: {folder} failed (exit {done.returncode})", file=sys.stderr)
            return done.returncode
    if not chose and not args.dry_run:
        choose_and_say(args.runs, people)
    return 0


def in_parallel(args, todo: list, people: list[str], choosing: bool) -> int:
    """The planned runs (and the choice, when in range) side by side: see --parallel."""
    planned = {folder for (_, folder, _, _), _ in todo} | ({"people"} if choosing else set())
    readers: list[threading.Thread] = []  # each run's output copier, joined at the end

    def waits(stage: str) -> set[str]:  # what this call runs itself; the rest exists already
        return needs(stage) & planned

    def launch(folder: str, stage: str, train_args: list[str]):
        def start(cpus: set[int] | None) -> subprocess.Popen | None:
            if args.dry_run:
                return None
            if stage == "hires-more":
                more_faces(args.runs / "data-more")
            if cpus is not None:
                print(f"recipe: {folder} starts on CPUs {sorted(cpus)}", file=sys.stderr)
            proc = subprocess.Popen(
                [sys.executable, "-m", "converter.train", *train_args],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
            )
            readers.append(prefixed(proc.stdout, folder))
            return proc

        return start

    jobs: list[Job] = []
    for (stage, folder, _, _), train_args in todo:
        after = waits(stage)
        say_run(folder, train_args, f"after {', '.join(sorted(after)) or 'nothing'}: ")
        jobs.append((folder, after, launch(folder, stage, train_args)))
    if choosing:

        def choice(_cpus) -> None:
            if not args.dry_run:
                choose_and_say(args.runs, people)

        ran = set(people) & {folder for folder, _, _ in jobs}
        # the choice goes first among ready jobs: the runs after it wait for it
        at = next((i for i, j in enumerate(jobs) if "people" in j[1]), len(jobs))
        jobs.insert(at, ("people", ran, choice))
    code = side_by_side(jobs, args.parallel, poll=0.0 if args.dry_run else 0.5)
    for reader in readers:  # a run's last lines may still be in its pipe when it has ended
        reader.join()
    return code


def say_run(folder: str, train_args: list[str], when: str = "") -> None:
    """The line that names a run and its command, before it starts (or instead, --dry-run)."""
    command = f"python -m converter.train {' '.join(train_args)}"
    print(f"recipe: {folder}: {when}{command}", file=sys.stderr, flush=True)


def choose_and_say(runs: Path, people: list[str]) -> None:
    choice = choose(runs, people)
    print(f"recipe: choose: {json.dumps(choice)}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
