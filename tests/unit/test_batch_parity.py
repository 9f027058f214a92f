"""converter.batch_parity: the float Keras model in batches vs the shipped TFLite model.

Each run is a subprocess on a few dozen inputs (CPU, well under a minute). The JAX test uses an
environment without TensorFlow (.cache/venv-jax, benchmarks/requirements-jax.txt), as the
project's GPU machines are, and blocks `import tensorflow` on top.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from converter.parity import TOLERANCES
from tests.conftest import JAX_PYTHON, ROOT, run_here

LIMIT = 32

# runs a module with `import tensorflow` failing, then says whether tensorflow got imported
BLOCK_TF = """
import runpy, sys
class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError(name + " is blocked in this test")
sys.meta_path.insert(0, NoTensorFlow())
sys.argv = ["converter.batch_parity", *sys.argv[1:]]
try:
    runpy.run_module("converter.batch_parity", run_name="__main__")
finally:
    print("TENSORFLOW_IMPORTED", "tensorflow" in sys.modules, file=sys.stderr)
"""


def run_parity(out: Path, *extra: str, python: str = sys.executable, env: dict | None = None):
    cmd = [python, "-m", "converter.batch_parity", "--limit", str(LIMIT), "--batch", "16"]
    cmd += ["--out", str(out), *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def tf_report(tmp_path_factory):
    pytest.importorskip("tensorflow")
    out = tmp_path_factory.mktemp("parity") / "report.json"
    p = run_parity(out, env={"KERAS_BACKEND": "tensorflow"})
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(out.read_text())


def test_module_does_not_import_tensorflow_or_keras():
    code = (
        "import sys, converter.batch_parity; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules))"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_shipped_model_passes_and_the_report_has_every_field(tf_report):
    r = tf_report
    assert r["passed"] is True and r["agreement"] >= TOLERANCES.min_agreement
    assert r["inputs"]["n"] == LIMIT and r["n"] == LIMIT
    assert 0 < r["inputs"]["fakes"] < LIMIT  # reals and their self-blends
    for key in ("max_abs_diff", "mean_abs_diff", "correlation", "auc_keras", "auc_tflite"):
        assert isinstance(r[key], float)
    assert r["max_abs_diff"] <= TOLERANCES.max_abs_diff
    assert r["keras"]["backend"] == "tensorflow"
    assert r["keras"]["device"]["kind"] in ("cpu", "gpu")
    assert r["keras"]["images_per_s"] > 0 and r["tflite"]["images_per_s"] > 0
    meta = json.loads((ROOT / "models" / "reference" / "metadata.json").read_text())
    assert r["tflite"]["variant"] == meta["serving"]
    assert r["threshold"] == meta["threshold"]


def test_a_tflite_file_from_other_weights_fails(tmp_path):
    """The same network converted with its output bias pushed up by 100: every score saturates
    at 1.0, so at the model's threshold every label says fake."""
    keras = pytest.importorskip("keras")
    from converter.convert import to_tflite

    model = keras.models.load_model(ROOT / "models" / "reference" / "seed_cnn.keras", compile=False)
    last = model.layers[-1]
    kernel, bias = last.get_weights()
    last.set_weights([kernel, bias + 100.0])
    perturbed = tmp_path / "perturbed.tflite"
    perturbed.write_bytes(to_tflite(model, "float32"))

    out = tmp_path / "report.json"
    p = run_parity(out, "--tflite", str(perturbed))
    assert p.returncode == 1, p.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["passed"] is False
    assert r["agreement"] < TOLERANCES.min_agreement
    assert "FAILED" in p.stderr


@pytest.mark.skipif(not JAX_PYTHON.exists(), reason="no .cache/venv-jax (see test docstring)")
def test_jax_backend_runs_without_tensorflow(tmp_path, tf_report):
    out = tmp_path / "report.json"
    args = ["--limit", str(LIMIT), "--batch", "16", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "jax"}
    p = run_here([JAX_PYTHON, "-c", BLOCK_TF, *args], env, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "TENSORFLOW_IMPORTED False" in p.stderr
    r = json.loads(out.read_text())
    assert r["keras"]["backend"] == "jax" and r["passed"] is True
    # the same float model on another backend scores the same inputs the same way
    assert r["auc_keras"] == pytest.approx(tf_report["auc_keras"], abs=1e-6)
    assert r["max_abs_diff"] == pytest.approx(tf_report["max_abs_diff"], abs=1e-3)
