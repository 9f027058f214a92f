"""GPU batch parity: the float Keras model in large batches against the shipped TFLite model.

    python -m converter.batch_parity [--limit N] [--batch 256] [--out report.json]

The float model runs on whatever the Keras backend sees: a GPU when there is one, the CPU
otherwise, with the same code. The backend is TensorFlow by default and JAX where TensorFlow is
not installed (the project's GPU machines have JAX and no TensorFlow); KERAS_BACKEND, when set,
decides. TensorFlow is never imported by this module itself, only by Keras on its backend.

The inputs are the evaluation set converter/export.py builds: the reserved people's faces
(assets/faces/eval, never trained or tuned on) and their self-blends, by the same functions
(`load_faces`, `eval_set`, same seed), cut to the first --limit inputs. The shipped TFLite model
(models/reference, metadata.json's serving variant, sha256 checked) scores the same inputs
through the serving classifier. The report has label agreement at the model's threshold,
max/mean |score difference|, correlation, both AUCs, each side's throughput and the device; the
exit status is 1 when agreement is below converter.parity.TOLERANCES.min_agreement.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .parity import TOLERANCES, compare, failures

ROOT = Path(__file__).resolve().parent.parent
EVAL_SEED = 12  # converter.export: eval_set(eval_faces, --eval-fakes, --seed (0) + 12)


def relative(path: Path) -> str:
    """A path as the report shows it: from the repository root when it is inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def choose_backend() -> str:
    """KERAS_BACKEND if set; else tensorflow when it is installed, else jax."""
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    if _installed("tensorflow"):
        return "tensorflow"
    if _installed("jax"):
        return "jax"
    raise SystemExit("neither tensorflow nor jax is installed: Keras has no backend to run on")


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
        return False


def import_keras(backend: str):
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() != backend:
        raise SystemExit(f"keras was already imported with backend {keras.backend.backend()}")
    return keras


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device(backend: str) -> dict[str, str]:
    """What the backend runs the model on: its first accelerator, else the CPU."""
    if backend == "jax":
        import jax

        d = jax.devices()[0]
        name = getattr(d, "device_kind", "") or str(d)
        return {
            "kind": d.platform,
            "name": cpu_name() if d.platform == "cpu" else name,
            "backend_version": jax.__version__,
        }
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return {
                "kind": "gpu",
                "name": details.get("device_name", gpus[0].name),
                "backend_version": tf.__version__,
            }
        return {"kind": "cpu", "name": cpu_name(), "backend_version": tf.__version__}
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return {
                "kind": "gpu",
                "name": torch.cuda.get_device_name(0),
                "backend_version": torch.__version__,
            }
        return {"kind": "cpu", "name": cpu_name(), "backend_version": torch.__version__}
    return {"kind": "unknown", "name": backend, "backend_version": ""}


def keras_scores(model, x_uint8: np.ndarray, batch: int) -> tuple[np.ndarray, dict[str, float]]:
    """Fake probabilities from the float model in batches of `batch` (the last one padded, so
    the compiled function sees one shape). The first batch is run once beforehand to compile;
    the timed pass covers preprocessing on the host and the model on the device."""
    from deepfake_scanner.preprocess import normalise

    def padded(i: int) -> np.ndarray:
        chunk = x_uint8[i : i + batch]
        if len(chunk) < batch:
            pad = np.zeros((batch - len(chunk), *chunk.shape[1:]), chunk.dtype)
            chunk = np.concatenate([chunk, pad])
        return normalise(chunk)

    t0 = time.perf_counter()
    np.asarray(model.predict_on_batch(padded(0)))
    compile_s = time.perf_counter() - t0
    out = []
    t0 = time.perf_counter()
    for i in range(0, len(x_uint8), batch):
        y = np.asarray(model.predict_on_batch(padded(i)), np.float32).reshape(-1)
        out.append(y[: min(batch, len(x_uint8) - i)])
    seconds = time.perf_counter() - t0
    return np.concatenate(out), {"seconds": seconds, "first_batch_s": compile_s}


def tflite_scores(path: Path, sha256: str | None, output: str, x_uint8: np.ndarray, batch: int):
    """Fake probabilities from the TFLite file through the serving classifier (LiteRT, all
    cores), in batches of `batch` crops."""
    from deepfake_scanner.classify import Classifier
    from deepfake_scanner.preprocess import normalise

    clf = Classifier(path, threads=None, sha256=sha256, output=output)
    clf.predict(normalise(x_uint8[:1]))
    t0 = time.perf_counter()
    out = [clf.predict(normalise(x_uint8[i : i + batch])) for i in range(0, len(x_uint8), batch)]
    return np.concatenate(out), {"seconds": time.perf_counter() - t0}


def load_inputs(eval_dir: Path, cache: Path, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """export.py's evaluation set (self-blend pairs of the reserved people), first `limit`."""
    from .data import load_faces
    from .export import EVAL_FAKES
    from .train import eval_set

    faces = load_faces(eval_dir, cache)
    pairs = EVAL_FAKES if limit is None else min(EVAL_FAKES, (limit + 1) // 2)
    x, y = eval_set(faces, pairs, EVAL_SEED)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return x, y


def run(args) -> dict[str, Any]:
    from deepfake_scanner.artifacts import read_metadata

    backend = choose_backend()
    keras = import_keras(backend)
    meta = read_metadata(args.model_dir)
    serving = meta["serving"]
    keras_path = args.model_dir / meta["files"]["keras"]["path"]
    if args.tflite is not None:
        tflite_path, tflite_sha = args.tflite, None
    else:
        tflite_path = args.model_dir / meta["files"][serving]["path"]
        tflite_sha = meta["files"][serving]["sha256"]
    threshold = float(meta["threshold"] if args.threshold is None else args.threshold)

    t0 = time.perf_counter()
    x, y = load_inputs(args.eval_data, args.cache, args.limit)
    data_s = time.perf_counter() - t0

    # TFLite first: a backend's idle worker threads can spin for a while after its last call
    got, t_time = tflite_scores(tflite_path, tflite_sha, meta["output"]["kind"], x, 64)
    model = keras.models.load_model(keras_path, compile=False)
    dev = device(backend)
    ref, k_time = keras_scores(model, x, args.batch)

    report = compare(ref, got, y, threshold)
    missed = failures(report)
    passed = report["agreement"] >= TOLERANCES.min_agreement
    n = len(x)
    return {
        **report,
        "auc_keras": report["auc_reference"],
        "auc_tflite": report["auc_converted"],
        "passed": passed,
        "gate": f"label agreement >= {TOLERANCES.min_agreement} (converter.parity.TOLERANCES)",
        "min_agreement": TOLERANCES.min_agreement,
        "other_tolerances_missed": [m for m in missed if not m.startswith("label agreement")],
        "inputs": {
            "what": "self-blend pairs of the reserved people (assets/faces/eval), as "
            "converter.export builds its evaluation set",
            "n": n,
            "limit": args.limit,
            "fakes": int(y.sum()),
            "seed": EVAL_SEED,
            "build_s": round(data_s, 2),
        },
        "keras": {
            "file": relative(keras_path),
            "backend": backend,
            "keras_version": keras.__version__,
            "device": dev,
            "batch": args.batch,
            "images_per_s": n / k_time["seconds"],
            **k_time,
        },
        "tflite": {
            "file": relative(tflite_path),
            "variant": serving if args.tflite is None else "override",
            "runtime": "ai-edge-litert (deepfake_scanner.classify.Classifier, all cores)",
            "device": {"kind": "cpu", "name": cpu_name()},
            "batch": 64,
            "images_per_s": n / t_time["seconds"],
            **t_time,
        },
        "threshold": threshold,
        "host": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
    }


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m converter.batch_parity", description=__doc__.split("\n")[0]
    )
    p.add_argument("--limit", type=int, help="first N inputs only (a short CPU run)")
    p.add_argument("--batch", type=int, default=256, help="Keras batch size")
    p.add_argument("--out", type=Path, help="write the JSON report here")
    p.add_argument("--model-dir", type=Path, default=ROOT / "models" / "reference")
    p.add_argument("--eval-data", type=Path, default=ROOT / "assets" / "faces" / "eval")
    p.add_argument("--cache", type=Path, default=ROOT / ".cache")
    p.add_argument("--tflite", type=Path, help="judge this TFLite file instead of the shipped one")
    p.add_argument("--threshold", type=float, help="instead of the model's own threshold")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    report = run(args)
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    k, t = report["keras"], report["tflite"]
    print(
        f"{report['inputs']['n']} inputs; Keras {k['backend']} on {k['device']['kind']} "
        f"({k['device']['name']}) {k['images_per_s']:.0f} img/s, TFLite {t['images_per_s']:.0f} "
        f"img/s; agreement {report['agreement']:.4f} at threshold {report['threshold']}, "
        f"max |diff| {report['max_abs_diff']:.4f}, mean {report['mean_abs_diff']:.5f}, "
        f"AUC keras {report['auc_keras']:.4f} tflite {report['auc_tflite']:.4f}: "
        + ("PASSED" if report["passed"] else f"FAILED ({report['gate']})"),
        file=sys.stderr,
    )
    if not args.out:
        print(text)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
