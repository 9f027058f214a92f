"""converter.train --sam: sharpness-aware steps on either backend the trainer runs on.

With rho 0 a SAM step must be the compiled step (the same weights and losses after a few steps
from the same start); with rho > 0 it must take another gradient, leave no perturbation behind
(with a learning rate of 0 the weights stay where they were), and still fit a fixed batch. The
same check runs on TensorFlow here and on JAX in .cache/venv-jax (what the GPU machine trains
with)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import JAX_PYTHON, ROOT, run_here
from tests.unit.sam_check import check


def test_sam_steps_on_tensorflow():
    check()


@pytest.mark.skipif(not JAX_PYTHON.exists(), reason="no .cache/venv-jax (make test builds it)")
def test_sam_steps_on_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    done = run_here([JAX_PYTHON, "-m", "tests.unit.sam_check"], env)
    assert done.returncode == 0 and "sam ok on jax" in done.stdout, done.stderr[-3000:]
