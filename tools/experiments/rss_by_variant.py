"""Peak resident memory of the handler process with each converted file serving, side by side:
the benchmark's peak-RSS probe (benchmarks/probe.py handler: 20 photos through POST /v1/scan in
one fresh process) run against copies of models/reference whose metadata names int8, float16 or
dynamic-range as the serving file. README, "Performance" (peak RSS).

    .venv/bin/python tools/experiments/rss_by_variant.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import run  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=2)
    a = p.parse_args()
    images = run.make_images()  # the benchmark's own inputs, the same 20 files as its probe
    files = ([images["one_face_1080p"], images["group_5_faces"], *run.RSS_EXTRA] * 10)[:20]
    with tempfile.TemporaryDirectory() as tmp:
        for variant in ("int8", "dynamic", "float16"):
            model = Path(tmp) / variant
            shutil.copytree(ROOT / "models" / "reference", model)
            meta = json.loads((model / "metadata.json").read_text())
            if variant not in meta["files"]:
                print(f"{variant}: no such file in models/reference")
                continue
            meta["serving"] = variant
            (model / "metadata.json").write_text(json.dumps(meta))
            peaks = []
            for _ in range(a.repeats):
                cmd = [sys.executable, str(run.PROBE), "handler", *map(str, files)]
                _, _, rss = run.measured_process(cmd, run.child_env(MODEL_DIR=str(model)))
                peaks.append(rss)
            print(f"{variant:8s} peak RSS {statistics.median(peaks):6.1f} MB  (runs: {peaks})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
