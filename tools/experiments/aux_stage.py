"""The recipe's people stage with a training-only auxiliary head (boundary_aux.py,
identity_adversary.py).

Same start (runs/reference/best.keras), the recipe's optimiser (AdamW, warm-up then cosine decay
from 5e-4, weight decay, clipnorm 1), label smoothing 0.1 on the real/fake output, validation on
the tune people's self-blends (eval_set seed 1) every 250 steps with the best checkpoint kept,
then the chosen checkpoint measured by variants.measure. Only the served network is saved: the
head is dropped.
"""

from __future__ import annotations

import argparse
import json
import queue
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def stage_parser(head: str, weight: float, out: str) -> argparse.ArgumentParser:
    """The options every such experiment has: the head's loss weight, where the run goes, the
    starting checkpoint, the steps, the seed (the recipe's people stage: 2,000, seed 0) and the
    training faces' folder."""
    p = argparse.ArgumentParser()
    p.add_argument("--weight", type=float, default=weight, help=f"weight of the {head} loss")
    p.add_argument("--out", type=Path, default=ROOT / "runs/experiments" / out)
    p.add_argument("--init", type=Path, default=ROOT / "runs/reference/best.keras")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", type=Path, default=ROOT / "assets/faces/train")
    return p


def run_aux_stage(
    out: Path, init: Path, steps: int, seed: int, data: Path, build, about: dict
) -> dict:
    """build(base, faces) -> (model, losses, loss_weights, batch): `model` maps base.input to a
    dict with "fake" (base.output) and the heads; losses/loss_weights name the heads; and
    batch(step, weights) -> (uint8 crops, {"fake": labels, head: targets, ...}). data: the
    training faces' folder."""
    import keras
    from variants import measure

    from converter.data import load_faces
    from converter.metrics import auc
    from converter.train import WARMUP, WEIGHT_DECAY, eval_set, predict, source_weights
    from deepfake_scanner.preprocess import normalise

    keras.utils.set_random_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    faces = load_faces(data, ROOT / ".cache")
    tune = load_faces(ROOT / "assets/faces/tune", ROOT / ".cache")
    x_val, y_val = eval_set(tune, 600, 1)  # the recipe's --val-seed 1
    weights = source_weights(faces)

    base = keras.models.load_model(init, compile=False)
    model, losses, loss_weights, batch = build(base, faces)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=steps - WARMUP, warmup_target=5e-4, warmup_steps=WARMUP
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=WEIGHT_DECAY, clipnorm=1.0),
        loss={"fake": keras.losses.BinaryCrossentropy(label_smoothing=0.1)} | losses,
        loss_weights={"fake": 1.0} | loss_weights,
    )

    ready: queue.Queue = queue.Queue(maxsize=3)

    def produce() -> None:
        for step in range(steps):
            x, targets = batch(step, weights)
            ready.put((normalise(x), targets))

    threading.Thread(target=produce, daemon=True).start()
    history, best, t0 = [], -1.0, time.time()
    for step in range(1, steps + 1):
        x, targets = ready.get()
        logs = model.train_on_batch(x, targets, return_dict=True)
        if step % 250 == 0 or step == steps:
            val = auc(y_val, predict(base, x_val))
            entry = {
                "step": step,
                "val_auc": round(val, 4),
                "minutes": round((time.time() - t0) / 60, 1),
            }
            entry |= {k: round(float(v), 4) for k, v in logs.items()}
            history.append(entry)
            print(json.dumps(entry), flush=True)
            if val > best:
                best = val
                base.save(out / "best.keras")
    chosen = keras.models.load_model(out / "best.keras", compile=False)
    result = about | {"seed": seed, "best_tune_auc": round(best, 4)}
    result |= measure(chosen) | {"history": history}
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "history"}))
    return result
