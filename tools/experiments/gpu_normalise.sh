#!/usr/bin/env bash
# Where a GPU run should turn uint8 batches into float32 input, measured side by side on a lent
# GPU machine: the stage-1 recipe step from scratch for MINUTES (default 1.2, start-up included)
# with --normalise host (a staging thread in this process normalises what the workers send)
# and then --normalise device (a jitted function on the GPU). Prints each run's last
# evaluation: images/s over the run and the per-step split (waiting for a batch, the step).
# Device tool: command "bash tools/experiments/gpu_normalise.sh", carry [".whl", "assets/faces",
# "assets/models"].
set -uo pipefail
OUT=${OUT:-/tmp/gpu_normalise}
mkdir -p "$OUT"
source tools/gpu_env.sh  # carried wheels, PYTHONPATH, Keras on JAX, $workers
nvidia-smi --query-gpu=name --format=csv,noheader || true
for where in host device; do
    python3 -m converter.train --data assets/faces/train --val-data assets/faces/tune \
        --out "$OUT/$where" --steps 3000 --seed 0 --val-seed 1 --workers "$workers" --quiet \
        --minutes "${MINUTES:-1.2}" --normalise "$where" ${TRAIN_ARGS:-} 2>&1 | grep -v "^INFO"
    python3 -c "import json, sys; h = json.load(open(sys.argv[1]))['history'][-1]; print(sys.argv[2], h)" \
        "$OUT/$where/state.json" "$where"
done
