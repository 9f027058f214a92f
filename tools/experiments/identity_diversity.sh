#!/usr/bin/env bash
# Does adding people help more than adding steps? Fine-tunes the shipped checkpoint for 1,500
# steps twice: on the training faces alone (control) and with the 12 tune photos' people added,
# then prints the AUC on self-blends of the reserved people (same set as `make model-report`).
# About 25 minutes on 2 cores. Needs runs/reference/best.keras (make train-reference).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
plus=$(mktemp -d)
cp -r assets/faces/train "$plus/train"
cp -r assets/faces/tune "$plus/tune"
common=(--val-data assets/faces/tune --steps 1500 --lr 3e-4 --curriculum 0
        --init runs/reference/best.keras --eval-every 1500 --save-every 500 --quiet)
$PY -m converter.train --data assets/faces/train --out runs/exp_control "${common[@]}" &
$PY -m converter.train --data "$plus" --out runs/exp_plus_tune "${common[@]}" &
wait
for ckpt in runs/reference/best.keras runs/exp_control/last.keras runs/exp_plus_tune/last.keras; do
  $PY - "$ckpt" <<'PY'
import sys
from pathlib import Path

import keras

from converter.data import load_faces
from converter.metrics import auc
from converter.train import eval_set, predict

model = keras.models.load_model(sys.argv[1], compile=False)
x, y = eval_set(load_faces(Path("assets/faces/eval"), Path(".cache")), 600, 12)
print(f"{sys.argv[1]:32s} reserved-people self-blend AUC {auc(y, predict(model, x)):.4f}")
PY
done
