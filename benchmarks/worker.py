"""Measurement workers, each run in its own process by benchmarks/run.py:

    python -m benchmarks.worker KIND '{json config}'   ->   one line `BENCH {json}` on stdout

prepare     convert the reference .keras model into every engine's file (cached), count MACs
engines     classification latency of every engine at one thread count, and end-to-end scans
            with each engine as the classifier (TensorFlow is imported: Keras is an engine)
serve       the serving scanner's warm latency per stage (no TensorFlow in the process)
throughput  one single-threaded scanner scanning one image over and over until a deadline
peak        the practical float32 peak of one core: a large numpy matmul on one BLAS thread

Thread counts must be fixed before TensorFlow starts, hence one process per thread count.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def emit(result: dict[str, Any]) -> None:
    sys.stdout.write("BENCH " + json.dumps(result) + "\n")
    sys.stdout.flush()


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


# ------------------------------------------------------------------ prepare


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in (
        "tensorflow-cpu",
        "tensorflow",
        "keras",
        "ai-edge-litert",
        "onnxruntime",
        "onnx",
        "tf2onnx",
        "numpy",
        "opencv-python-headless",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def _onnx_int8(src: Path, dst: Path, calib: list) -> None:
    """Static QDQ int8 (per-channel int8 weights, uint8 activations) calibrated on the same
    face crops as the LiteRT int8 file."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self, name: str) -> None:
            self.it = iter([{name: x} for x in calib])

        def get_next(self):
            return next(self.it, None)

    import onnx

    name = onnx.load(str(src)).graph.input[0].name
    pre = dst.with_suffix(".pre.onnx")
    quant_pre_process(str(src), str(pre))
    quantize_static(
        str(pre),
        str(dst),
        Reader(name),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
    )
    pre.unlink(missing_ok=True)


def prepare(cfg: dict[str, Any]) -> dict[str, Any]:
    """Every engine's model file, converted from models/reference/seed_cnn.keras into a cache
    folder keyed by the .keras file's sha256. Variants the model folder ships are used as
    shipped; the others are converted with converter.convert.to_tflite, int8 calibrated like
    converter.export does (converter.export.representative on the training faces)."""
    from deepfake_scanner import paths
    from deepfake_scanner.artifacts import read_metadata

    meta = read_metadata(paths.MODEL_DIR)
    keras_entry = meta["files"]["keras"]
    out = Path(cfg["cache"]) / keras_entry["sha256"][:12]
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        cached = [Path(v["path"]) for v in manifest["files"].values()]
        if all(p.exists() for p in cached) and manifest.get("calibration_pairs") == cfg["calib"]:
            return manifest

    import numpy as np

    from converter.convert import VARIANTS, logit_model, to_tflite
    from converter.data import load_faces
    from converter.export import representative
    from converter.train import keras_module

    from .analysis import model_cost

    keras = keras_module()
    model = keras.models.load_model(paths.MODEL_DIR / keras_entry["path"], compile=False)
    t0 = time.time()
    train = load_faces(ROOT / "assets" / "faces" / "train", ROOT / ".cache")
    calib = list(representative(train, cfg["calib"], 0))
    files: dict[str, dict[str, Any]] = {
        "keras": {"path": str(paths.MODEL_DIR / keras_entry["path"]), "source": "shipped"}
    }
    for variant in VARIANTS:
        if variant in meta["files"]:
            path = paths.MODEL_DIR / meta["files"][variant]["path"]
            files[f"litert-{variant}"] = {"path": str(path), "source": "shipped (serving)"}
            continue
        path = out / f"seed_cnn_{variant}.tflite"
        path.write_bytes(to_tflite(model, variant, calib))
        files[f"litert-{variant}"] = {"path": str(path), "source": "converter.convert.to_tflite"}
    errors = {}
    try:
        logit = logit_model(model)
        logit(np.zeros((1, 224, 224, 3), np.float32))  # export needs a model that was called
        onnx_f32 = out / "seed_cnn_float32.onnx"
        logit.export(str(onnx_f32), format="onnx", verbose=False)
        files["onnxruntime-float32"] = {
            "path": str(onnx_f32),
            "source": "keras Model.export(format='onnx') (tf2onnx underneath)",
        }
        onnx_int8 = out / "seed_cnn_int8.onnx"
        _onnx_int8(onnx_f32, onnx_int8, calib)
        files["onnxruntime-int8"] = {
            "path": str(onnx_int8),
            "source": "onnxruntime.quantization.quantize_static (QDQ, per-channel)",
        }
    except Exception as exc:  # ONNX is an alternative; its absence must not stop the run
        errors["onnx"] = f"{type(exc).__name__}: {exc}"
    for entry in files.values():
        entry["bytes"] = Path(entry["path"]).stat().st_size
    manifest = {
        "keras_sha256": keras_entry["sha256"],
        "serving": meta["serving"],
        "threshold": meta["threshold"],
        "files": files,
        "errors": errors,
        "calibration_pairs": cfg["calib"],
        "cost": model_cost(model),
        "versions": _versions(),
        "convert_seconds": round(time.time() - t0, 1),
    }
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return manifest


# ------------------------------------------------------------------ engines


class FloatInput:
    """An engine whose model takes the float input: it scores uint8 crops as the scanner hands
    them over (Classifier.predict_crops's signature) by normalising them first."""

    def predict_crops(self, crops, spec):
        from deepfake_scanner.preprocess import normalise

        return self.predict(normalise(crops, spec))

    def predict(self, x):
        raise NotImplementedError


class KerasEngine(FloatInput):
    """The float Keras model on TensorFlow, called one of two ways: `predict` (what a Keras app
    typically calls; builds a dataset and a loop each call) or `predict_on_batch` (the compiled
    function, straight)."""

    def __init__(self, model, how: str) -> None:
        self.model, self.how = model, how

    def predict(self, x):
        import numpy as np

        if self.how == "predict":
            y = self.model.predict(x, verbose=0)
        else:
            y = self.model.predict_on_batch(x)
        return np.asarray(y, np.float32).reshape(-1)


class OrtEngine(FloatInput):
    def __init__(self, path: str, threads: int) -> None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.name = self.sess.get_inputs()[0].name

    def predict(self, x):
        import numpy as np

        y = self.sess.run(None, {self.name: x})[0].reshape(-1).astype(np.float32)
        return 1.0 / (1.0 + np.exp(-y))  # the file outputs the logit, like the TFLite files


def _set_tf_threads(threads: int) -> None:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def _bench_images(cfg) -> dict[str, bytes]:
    return {name: Path(p).read_bytes() for name, p in cfg["images"].items()}


def engines(cfg: dict[str, Any]) -> dict[str, Any]:
    threads = int(cfg["threads"])
    _set_tf_threads(threads)
    import keras
    import numpy as np

    from converter.data import load_faces
    from converter.train import eval_set
    from deepfake_scanner.classify import Classifier
    from deepfake_scanner.media import decode_image
    from deepfake_scanner.preprocess import SPEC, face_crops, normalise
    from deepfake_scanner.scan import Scanner

    files = cfg["manifest"]["files"]
    model = keras.models.load_model(files["keras"]["path"], compile=False)
    engines: dict[str, Any] = {}
    for name, entry in files.items():
        if name.startswith("litert-"):
            engines[name] = Classifier(Path(entry["path"]), threads, output="logit")
        elif name.startswith("onnxruntime-"):
            engines[name] = OrtEngine(entry["path"], threads)
    engines["keras-predict_on_batch"] = KerasEngine(model, "predict_on_batch")
    engines["keras-predict"] = KerasEngine(model, "predict")

    images = _bench_images(cfg)
    scanner = Scanner(threads=threads)
    image, _ = decode_image(images[cfg["classify_image"]])
    faces = scanner.detector.detect(image)
    # every engine starts from the uint8 crop the scanner makes (predict_crops): the float
    # engines normalise it first, the int8 file takes its pixels as they are
    c1 = face_crops(image, [faces[0].box])

    # parity on faces of the reserved people, so a broken conversion shows up in the table
    eval_faces = load_faces(ROOT / "assets" / "faces" / "eval", ROOT / ".cache")
    ce, _ = eval_set(eval_faces, cfg["parity_pairs"], 12)
    ref = engines["keras-predict_on_batch"].predict(normalise(ce))
    parity = {}
    for name, eng in engines.items():
        got = np.concatenate([eng.predict_crops(ce[i : i + 1], SPEC) for i in range(len(ce))])
        parity[name] = {"max_abs_diff": float(np.abs(got - ref).max()), "n": len(ce)}

    # classification only: batch 1, rounds interleave the engines (order rotated each round)
    names = list(engines)
    for name in names:
        for _ in range(cfg["warmup"]):
            engines[name].predict_crops(c1, SPEC)
    rounds: dict[str, list[float]] = {n: [] for n in names}
    for r in range(cfg["rounds"]):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            eng = engines[name]
            calls = cfg["calls"] if name != "keras-predict" else max(2, cfg["calls"] // 4)
            ts = []
            for _ in range(calls):
                t = time.perf_counter()
                eng.predict_crops(c1, SPEC)
                ts.append((time.perf_counter() - t) * 1000)
            rounds[name].append(_median(ts))

    # end to end: the same scanner (decode, detection, crops) with each engine classifying
    pipe_names = [n for n in cfg["pipeline_engines"] if n in engines]
    pipeline: dict[str, dict[str, list[dict]]] = {n: {i: [] for i in images} for n in pipe_names}
    for name in pipe_names:
        scanner.classifier = engines[name]
        for data in images.values():
            for _ in range(2):
                scanner.scan_bytes(data, "warmup")
    for r in range(cfg["pipeline_rounds"]):
        order = pipe_names[r % len(pipe_names) :] + pipe_names[: r % len(pipe_names)]
        for name in order:
            scanner.classifier = engines[name]
            for img, data in images.items():
                t, c = time.perf_counter(), time.process_time()
                v = scanner.scan_bytes(data, img)
                wall = (time.perf_counter() - t) * 1000
                cpu = (time.process_time() - c) * 1000
                pipeline[name][img].append(
                    {**v.timings_ms, "wall": wall, "cpu": cpu, "faces": len(v.faces)}
                )
    # what the float-input rows spend in numpy before their engine runs: uint8 crop -> float
    normalise_ms = []
    for _ in range(cfg["rounds"]):
        t = time.perf_counter()
        normalise(c1, SPEC)
        normalise_ms.append((time.perf_counter() - t) * 1000)
    return {
        "threads": threads,
        "classify_ms": rounds,
        "normalise_ms": normalise_ms,
        "int8_takes_pixels": bool(engines["litert-int8"].pixels_are_input(SPEC))
        if "litert-int8" in engines
        else None,
        "parity": parity,
        "pipeline": pipeline,
        "input": list(c1.shape),
    }


# ------------------------------------------------------------------ serve


def serve(cfg: dict[str, Any]) -> dict[str, Any]:
    """Warm scans through the serving Scanner, per stage, at each thread count; the int8 file
    as a what-if classifier on the same scanner."""
    from deepfake_scanner.classify import Classifier
    from deepfake_scanner.scan import Scanner

    images = _bench_images(cfg)
    setups: dict[str, tuple[Any, Any]] = {}
    for threads in cfg["threads_list"]:
        s = Scanner(threads=threads)
        setups[f"{s.model.variant}@{threads}"] = (s, s.classifier)
        for variant, path in cfg.get("what_if", {}).items():
            setups[f"{variant}@{threads}"] = (s, Classifier(Path(path), threads, output="logit"))
    keys = list(setups)
    for scanner, clf in setups.values():
        scanner.classifier = clf
        for data in images.values():
            for _ in range(cfg["warmup"]):
                scanner.scan_bytes(data, "warmup")
    samples: dict[str, dict[str, list[dict]]] = {k: {i: [] for i in images} for k in keys}
    for r in range(cfg["rounds"]):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            scanner, clf = setups[key]
            scanner.classifier = clf
            for img, data in images.items():
                t, c = time.perf_counter(), time.process_time()
                v = scanner.scan_bytes(data, img)
                wall = (time.perf_counter() - t) * 1000
                cpu = (time.process_time() - c) * 1000  # all of this process's threads
                samples[key][img].append(
                    {
                        **v.timings_ms,
                        "wall": wall,
                        "cpu": cpu,
                        "faces": len(v.faces),
                        "label": v.label,
                    }
                )
    return {"samples": samples}


# ------------------------------------------------------------------ throughput


def throughput(cfg: dict[str, Any]) -> dict[str, Any]:
    from deepfake_scanner.scan import Scanner

    scanner = Scanner(threads=1)
    data = Path(cfg["image"]).read_bytes()
    for _ in range(3):
        scanner.scan_bytes(data, "warmup")
    while time.time() < cfg["start_at"]:
        time.sleep(0.002)
    end = cfg["start_at"] + cfg["seconds"]
    n = 0
    t0 = time.perf_counter()
    while time.time() < end:
        scanner.scan_bytes(data, "throughput")
        n += 1
    return {"images": n, "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------ peak


def _ort_gemm_gops(n: int, repeats: int, int8: bool) -> list[float]:
    """GOP/s of one n x n x n matrix product in ONNX Runtime (MLAS) on one thread: float32
    MatMul, or uint8 x int8 MatMulInteger (the VNNI path the int8 engines use)."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper

    a_t, b_t = (TensorProto.UINT8, TensorProto.INT8) if int8 else (TensorProto.FLOAT,) * 2
    out_t = TensorProto.INT32 if int8 else TensorProto.FLOAT
    op = "MatMulInteger" if int8 else "MatMul"
    graph = helper.make_graph(
        [helper.make_node(op, ["a", "b"], ["c"])],
        "gemm",
        [
            helper.make_tensor_value_info("a", a_t, [n, n]),
            helper.make_tensor_value_info("b", b_t, [n, n]),
        ],
        [helper.make_tensor_value_info("c", out_t, [n, n])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds: dict[str, Any]
    if int8:
        feeds = {
            "a": rng.integers(0, 255, (n, n), dtype=np.uint8),
            "b": rng.integers(-127, 127, (n, n), dtype=np.int8),
        }
    else:
        feeds = {
            "a": rng.random((n, n), dtype=np.float32),
            "b": rng.random((n, n), dtype=np.float32),
        }
    sess.run(None, feeds)
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        sess.run(None, feeds)
        out.append(2 * n**3 / (time.perf_counter() - t) / 1e9)
    return out


def peak(cfg: dict[str, Any]) -> dict[str, Any]:
    """The practical peak of one core: the best of large matrix products on one thread, float32
    by numpy's BLAS (the parent sets the BLAS thread variables before this process starts) and
    by ONNX Runtime's MLAS, and uint8 x int8 by MLAS (VNNI where the CPU has it)."""
    import numpy as np

    n = cfg["n"]
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    a @ b
    gflops = []
    for _ in range(cfg["repeats"]):
        t = time.perf_counter()
        a @ b
        gflops.append(2 * n**3 / (time.perf_counter() - t) / 1e9)
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except (KeyError, TypeError, ValueError) as exc:  # the config's layout is numpy's to change
        blas = f"unknown ({type(exc).__name__})"
    out: dict[str, Any] = {"n": n, "numpy_sgemm": gflops, "blas": blas}
    try:
        out["ort_sgemm"] = _ort_gemm_gops(n, cfg["repeats"], int8=False)
        out["ort_u8s8_gemm"] = _ort_gemm_gops(n, cfg["repeats"], int8=True)
    except Exception as exc:  # onnxruntime is optional
        out["ort_error"] = f"{type(exc).__name__}: {exc}"
    return out


KINDS = {
    "prepare": prepare,
    "engines": engines,
    "serve": serve,
    "throughput": throughput,
    "peak": peak,
}

if __name__ == "__main__":
    kind, raw = sys.argv[1], sys.argv[2]
    emit(KINDS[kind](json.loads(raw)))
