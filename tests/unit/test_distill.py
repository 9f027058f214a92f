"""converter.train --teachers: distillation targets on either backend the trainer runs on.

The targets are the smoothed labels mixed with the probability of the teachers' mean logit
(not their mean score), and training on them is training on the two losses that
tools/experiments/distill.py measured. A run with --teachers trains and says so in its state;
one started without them cannot be resumed with them (its loss smooths the labels already)."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import FACE_API, JAX_PYTHON, ROOT, run_here
from tests.unit.distill_check import check

keras = pytest.importorskip("keras")


def test_teacher_targets_on_tensorflow(tmp_path):
    check(tmp_path)


@pytest.mark.skipif(not JAX_PYTHON.exists(), reason="no .cache/venv-jax (make test builds it)")
def test_teacher_targets_on_jax(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    done = run_here([JAX_PYTHON, "-m", "tests.unit.distill_check", tmp_path], env)
    assert done.returncode == 0 and "distill ok on jax" in done.stdout, done.stderr[-3000:]


def test_a_run_with_teachers_trains_and_cannot_resume_one_without(tmp_path):
    from converter import train as train_mod
    from converter.model import build_model

    teacher = tmp_path / "teacher.keras"
    build_model().save(teacher)
    common = [
        *("--data", str(FACE_API), "--batch", "8", "--steps", "2", "--eval-every", "2"),
        *("--val-fakes", "8", "--val-fraction", "0.34", "--quiet", "--cache", str(ROOT / ".cache")),
        *("--label-smoothing", "0.1"),
    ]
    train_mod.main([*common, "--out", str(tmp_path / "taught"), "--teachers", str(teacher)])
    state = json.loads((tmp_path / "taught" / "state.json").read_text())
    assert state["step"] == 2 and state["args"]["teachers"] == str(teacher)  # as typed
    assert state["args"]["distill"] == "0.5"
    train_mod.main([*common, "--out", str(tmp_path / "plain")])
    with pytest.raises(SystemExit, match="not started with --teachers"):
        resumed = ["--out", str(tmp_path / "plain"), "--steps", "4", "--resume"]
        train_mod.main([*common, *resumed, "--teachers", str(teacher)])
    with pytest.raises(SystemExit):  # a share outside 0..1: argparse's usage error
        train_mod.parse_args(["--data", "d", "--out", "o", "--distill", "1.5"])
