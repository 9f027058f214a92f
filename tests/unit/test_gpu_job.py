"""tools/gpu_job.sh, the one call made on a lent GPU machine, run small on the CPU.

The GPU machine has Keras on JAX and no TensorFlow; .cache/venv-jax (benchmarks/
requirements-jax.txt) is the same here, so the job runs as it would there: batch parity on 32
inputs, then the recipe (two people seeds instead of three) cut to a few steps a run, with two
batch-making processes.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import JAX_PYTHON, ROOT, run_here


@pytest.mark.slow
@pytest.mark.skipif(not JAX_PYTHON.exists(), reason="no .cache/venv-jax (see module docstring)")
def test_gpu_job_runs_parity_and_the_recipe_and_summarises(tmp_path):
    out = tmp_path / "out"
    env = {
        **os.environ,
        "PATH": f"{JAX_PYTHON.parent}:{os.environ['PATH']}",  # its python3 runs the job
        "OUT": str(out),
        "WHEELS": str(tmp_path / "no-wheels"),  # the venv has them; the GPU machine needs .whl
        "RUNS": str(tmp_path / "runs"),
        "JOB_SECONDS": "0",  # every run gets the recipe's least share, 6 s
        "SLACK": "400",
        "WORKERS": "2",
        "PARITY_ARGS": "--limit 32 --batch 16",
        "RECIPE_ARGS": "--people-runs 2 --batch 4 --val-fakes 8 --eval-every 1000",
    }
    env.pop("PYTHONPATH", None)
    done = run_here(["bash", "tools/gpu_job.sh"], env, timeout=900)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    parity = json.loads((out / "batch_parity_gpu.json").read_text())
    assert parity["n"] == 32 and parity["passed"] and parity["keras"]["backend"] == "jax"
    summary = json.loads((out / "training_gpu.json").read_text())
    choice = summary.pop("choice")
    runs = ["stage1", "reference", "people-seed0", "people-seed1", "warp"]
    runs += ["hires", "hires-more", "distill", "distill2"]
    assert list(summary) == runs, log[-3000:]
    for run in summary.values():
        assert run["step"] >= 1 and run["history"][-1]["step"] == run["step"]  # cut, evaluated
        assert run["args"]["workers"] == "2" and run["args"]["batch"] == "4"
    assert summary["people-seed1"]["args"]["label_smoothing"] == "0.1"
    warp = summary["warp"]["args"]  # the last run continues the chosen people run, warped
    assert warp["init"] == str(tmp_path / "runs" / "people" / "best.keras")
    assert warp["warp_share"] == "0.7" and warp["seed"] == "2"
    assert choice["chosen"] in ("people-seed0", "people-seed1")
    assert json.loads((out / "choice.json").read_text()) == choice
    assert (out / "people_best.keras").stat().st_size > 1_000_000
    assert (out / "warp" / "best.keras").stat().st_size > 1_000_000
    assert json.loads((out / "warp" / "state.json").read_text())["args"] == warp
    # the shipped run, taught on JAX by the distilled run and the hires run on more faces
    shipped = json.loads((out / "distill2" / "state.json").read_text())["args"]
    assert shipped == summary["distill2"]["args"] and shipped["seed"] == "2"
    runs_dir = tmp_path / "runs"
    assert shipped["teachers"] == f"{runs_dir}/distill/best.keras {runs_dir}/hires-more/best.keras"
    assert summary["hires-more"]["args"]["data"] == str(runs_dir / "data-more")
    assert (out / "distill2" / "best.keras").stat().st_size > 1_000_000
    assert "best tune AUC" in log and "chosen: people-seed" in log
    assert (out / "gpu_job.log").exists()


@pytest.mark.slow
@pytest.mark.skipif(not JAX_PYTHON.exists(), reason="no .cache/venv-jax (see module docstring)")
def test_normalising_on_the_device_trains_as_on_the_host(tmp_path):
    """--normalise device (what a GPU run does by default) must feed the model what
    preprocess.normalise does on the host: the same steps give the same losses and scores."""
    check = (
        "import numpy as np, keras; from converter.train import device_input; "
        "from deepfake_scanner.preprocess import normalise; "
        "x = np.random.default_rng(0).integers(0, 256, (2, 224, 224, 3), np.uint8); "
        "assert device_input('auto', keras) is None, 'JAX on a CPU normalises on the host'; "
        "d = np.asarray(device_input('device', keras)(x)); "
        "assert d.dtype == np.float32 and np.array_equal(d, normalise(x))"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    done = run_here([JAX_PYTHON, "-c", check], env)
    assert done.returncode == 0, done.stderr[-2000:]
    histories = {}
    for where in ("host", "device"):
        out = tmp_path / where
        args = [
            "--data",
            "assets/faces/train",
            "--val-data",
            "assets/faces/tune",
            "--out",
            str(out),
        ]
        args += ["--steps", "4", "--batch", "4", "--eval-every", "2", "--val-fakes", "8"]
        args += ["--quiet", "--normalise", where]
        done = run_here([JAX_PYTHON, "-m", "converter.train", *args], env)
        assert done.returncode == 0, done.stderr[-3000:]
        histories[where] = json.loads((out / "state.json").read_text())["history"]
    host, device = histories["host"], histories["device"]
    assert [h["step"] for h in host] == [h["step"] for h in device] == [2, 4]
    for h, d in zip(host, device, strict=True):
        assert abs(h["loss"] - d["loss"]) < 1e-4 and abs(h["val_auc"] - d["val_auc"]) < 1e-3
