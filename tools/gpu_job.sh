#!/usr/bin/env bash
# The project's GPU work as one call on a lent GPU machine (Keras 3 on JAX, no TensorFlow, no
# network; README "Retraining", "On a GPU machine"):
#   1. batch parity: the shipped float model on the GPU against the shipped TFLite file;
#   2. the reference training recipe (converter/recipe.py) with batches made by the machine's
#      CPU cores, seed 0, then seed 1 with the time that is left;
#   3. a summary of both recipes' runs (steps, images/s, best tune AUC) in training_gpu.json.
# Everything lands in $OUT (device tool) or /tmp/gpu_job; the command prints a short table last.
#
# Prepare here first: the Python wheels the machine lacks, for its Python 3.12 (README), into
# .whl/ (git-ignored through .git/info/exclude). Then call the device tool with
#   command: bash tools/gpu_job.sh   carry: [".whl", "assets/faces", "assets/models"]   timeout_s: 590
# JOB_SECONDS (default 530) is when the training must be over, counted from the job's start;
# the recipes share what is left after batch parity and end cut where it runs out. On the H100
# of 2026-11-26 the whole recipe needed about 7.4 minutes of training and batch parity 40 s; 480
# seconds cut two of its stages short.
# PARITY_ARGS and RECIPE_ARGS add options, SLACK (90) is how long a recipe may overrun its time
# before it is stopped (tests/unit/test_gpu_job.py runs a small version on the CPU).
set -uo pipefail
OUT=${OUT:-/tmp/gpu_job}
JOB_SECONDS=${JOB_SECONDS:-530}
RUNS=${RUNS:-/tmp/runs-gpu}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_job.log") 2>&1
start=$(date +%s)

WHEELS=${WHEELS:-.whl}  # carried wheels, installed when there are any
if compgen -G "$WHEELS/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$WHEELS"/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c 'import jax, keras; print("jax", jax.__version__, jax.devices(), "keras", keras.__version__)' \
    || exit 1
echo "cpu cores: $(nproc)"

echo "== batch parity"
timeout 240 python3 -m converter.batch_parity --out "$OUT/batch_parity_gpu.json" ${PARITY_ARGS:-}
echo "batch parity: exit $?"

workers=${WORKERS:-$(($(nproc) > 3 ? $(nproc) - 2 : 1))}
deadline=$((start + JOB_SECONDS))
for seed in 0 1; do
    left=$((deadline - $(date +%s)))
    if [ "$seed" -gt 0 ] && [ "$left" -lt 150 ]; then
        echo "== seed $seed skipped: ${left} s left"
        break
    fi
    echo "== recipe, seed $seed, $workers workers, ${left} s"
    timeout $(((left > 0 ? left : 0) + ${SLACK:-90})) python3 -m converter.recipe --runs "$RUNS/seed$seed" --seed "$seed" \
        --workers "$workers" --minutes "$(awk -v s="$left" 'BEGIN { printf "%.2f", s / 60 }')" --quiet ${RECIPE_ARGS:-}
    echo "recipe seed $seed: exit $?"
    cp "$RUNS/seed$seed/people/best.keras" "$OUT/seed${seed}_people_best.keras" 2>/dev/null
done

python3 - "$RUNS" "$OUT/training_gpu.json" <<'EOF'
import json, sys
from pathlib import Path
runs, out = Path(sys.argv[1]), Path(sys.argv[2])
summary = {}
order = {"stage1": 0, "reference": 1, "people": 2}
states = runs.glob("seed*/*/state.json")
for state in sorted(states, key=lambda p: (p.parent.parent.name, order.get(p.parent.name, 3))):
    s = json.loads(state.read_text())
    summary[f"{state.parent.parent.name}/{state.parent.name}"] = s
    last = s["history"][-1] if s["history"] else {}
    print(f"{state.parent.parent.name}/{state.parent.name:10s} step {s['step']:5d} of "
          f"{s['args']['steps']:>5s}  best tune AUC {s['best_auc'] or 0:.4f}  "
          f"{last.get('minutes', 0):6.2f} min  {last.get('img_s', 0):7.1f} img/s")
out.write_text(json.dumps(summary, indent=1))
EOF
python3 -c "
import json; r = json.load(open('$OUT/batch_parity_gpu.json'))
print('batch parity', r['keras']['device'], {k: r[k] for k in ('n', 'agreement', 'max_abs_diff', 'auc_keras', 'auc_tflite', 'passed')}, 'keras img/s', round(r['keras']['images_per_s']))" || true
echo "total: $(($(date +%s) - start)) s"
