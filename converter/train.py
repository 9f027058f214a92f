"""Train the seed CNN.

    python -m converter.train --data assets/faces/train --out runs/reference --steps 6000

--data is a folder of real faces (images and videos; pseudo-fakes are self-blended on the fly)
or a labelled dataset: real/ + fake/, or Train|Validation|Test x Real|Fake (e.g. face crops of
FaceForensics++ or Celeb-DF). Validation holds out whole source files, so no person is on both
sides. Checkpoints go to --out every --save-every steps; --resume carries on from the last one.
A run whose loss is still at chance (ln 2) after --chance-steps steps stops with a message.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_scanner.preprocess import SPEC, normalise

from .data import MARGIN_RATIO, VIDEO_MAX_FRAMES, FaceSet, load_faces, split_by_source
from .layouts import DEFAULT as DEFAULT_LAYOUT
from .layouts import LAYOUTS
from .metrics import auc
from .selfblend import camera, delivery, frame, make_pair

# Defaults, and why. Measured on the 2-core CI kind of machine (FINDINGS.md):
BATCH = 32  # 16 reals + their 16 self-blends: pairs keep the classes balanced per step
LR = 1e-3  # AdamW, 100 warm-up steps, cosine decay; clipnorm 1 keeps early steps sane
WEIGHT_DECAY = 1e-4  # mild: about 30 identities are easy to memorise
SOURCE_POWER = 0.5  # sampling weight of a face: (faces in its source file) ** -power
LABEL_SMOOTHING = 0.0  # targets 0/1; see README "The model" for what 0.1 measured
WARMUP = 100
CURRICULUM = 0.5  # blends go from easy to the full distribution over the first half
VAL_FRACTION = 0.2  # of source files: validation on people not trained on
VAL_FAKES = 600  # pseudo-fakes in validation: 200 gave about +/-0.06 AUC of noise
CHANCE_STEPS = 400  # stop if the loss has not left ln 2 by then
CHANCE_LOSS = 0.66
EVAL_EVERY = 250
SAVE_EVERY = 250
# --teachers' share of the targets (docs/experiments.md, "One network taught by both layouts")
DISTILL = 0.5
EMA_WARMUP = 10  # --ema: the average's decay is min(decay, (1 + n) / (EMA_WARMUP + n))


def keras_module():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def labelled_sample(faces: FaceSet, i: int, rng: np.random.Generator | None) -> np.ndarray:
    """One crop of a labelled face, with the same camera/delivery look as any other."""
    img = faces.crops[i]
    if rng is None:
        return frame(img, faces.keypoints[i], SPEC.size, MARGIN_RATIO, None)
    img = camera(img, rng)
    return delivery(frame(img, faces.keypoints[i], SPEC.size, MARGIN_RATIO, rng), rng)


def source_weights(faces: FaceSet, power: float = SOURCE_POWER) -> np.ndarray:
    """Sampling probabilities that damp sources with many faces (video frames): a source with
    n faces gets n**(1 - power) times the weight of a single photo (power 0.5: sqrt(n);
    power 1: every source file alike). In a labelled set each class gets half the draws, as
    self-blend pairs do: deepfake datasets hold several fakes for each real video."""
    _, inverse, counts = np.unique(faces.sources, return_inverse=True, return_counts=True)
    w = counts[inverse].astype(np.float64) ** -power
    classes = [faces.labels == c for c in (0, 1)]
    if all(c.any() for c in classes):
        for c in classes:
            w[c] /= w[c].sum()
    return w / w.sum()


def make_batch(
    faces: FaceSet,
    rng: np.random.Generator,
    batch: int,
    difficulty: float,
    weights: np.ndarray | None = None,
    pair=make_pair,
    warp: float = 0.0,
):
    """uint8 BGR crops and labels: real/self-blend pairs (`pair` makes each, with make_pair's
    arguments; `warp` is passed on when set), or labelled samples."""
    if warp:
        pair = functools.partial(pair, warp=warp)
    xs, ys = [], []
    if faces.labels.any():
        for i in rng.choice(len(faces), batch, p=weights):
            xs.append(labelled_sample(faces, i, rng))
            ys.append(float(faces.labels[i]))
    else:
        for i in rng.choice(len(faces), batch // 2, p=weights):
            real, fake = pair(
                faces.crops[i], faces.keypoints[i], rng, difficulty, SPEC.size, MARGIN_RATIO
            )
            xs += [real, fake]
            ys += [0.0, 1.0]
    return np.stack(xs), np.array(ys, np.float32)


def eval_set(faces: FaceSet, n_fakes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed evaluation set: labelled faces as they are, at most n_fakes of each class (a
    seeded sample when a class has more: the set is held in memory, 150 KB a face, and a video
    dataset's validation split can hold tens of thousands), or n_fakes self-blend pairs at full
    difficulty (every face used in turn, so each person counts about equally)."""
    rng = np.random.default_rng(seed)
    if faces.labels.any():
        keep = []
        for label in (0, 1):
            found = np.flatnonzero(faces.labels == label)
            keep.append(found if len(found) <= n_fakes else rng.choice(found, n_fakes, False))
        chosen = np.sort(np.concatenate(keep))
        x = np.stack([labelled_sample(faces, int(i), None) for i in chosen])
        return x, faces.labels[chosen].astype(np.float32)
    xs, ys = [], []
    for k in range(n_fakes):
        i = k % len(faces)
        real, fake = make_pair(
            faces.crops[i], faces.keypoints[i], rng, 1.0, SPEC.size, MARGIN_RATIO
        )
        xs += [real, fake]
        ys += [0.0, 1.0]
    return np.stack(xs), np.array(ys, np.float32)


class Ramp:
    """The curriculum: blend difficulty at a step, 0 to 1 over the first `steps` steps (a class,
    not a lambda, so worker processes can be given it)."""

    def __init__(self, steps: int) -> None:
        self.steps = max(1, steps)

    def __call__(self, step: int) -> float:
        return min(1.0, step / self.steps)


def step_batch(
    faces: FaceSet, seed: int, step: int, batch: int, difficulty, weights, warp: float = 0.0
):
    """The batch of one optimizer step. Its random draws depend only on (seed, step), so a run
    sees the same batches however many workers make them, and a resumed run carries on with the
    batches it would have had."""
    rng = np.random.default_rng([seed, step])
    return make_batch(faces, rng, batch, difficulty(step), weights, warp=warp)


def _put(out, item, stop=None) -> bool:
    """Put into a bounded queue, giving up (False) once `stop` is set."""
    while True:
        if stop is not None and stop.is_set():
            return False
        try:
            out.put(item, timeout=1)
            return True
        except queue.Full:
            continue


def _produce(
    faces, seed, batch, difficulty, power, warp, first, stride, out, stop=None, ready=False
) -> None:
    """The batches of steps first, first + stride, ... into `out`, until `stop` is set (a
    thread) or the process is ended (a worker process, which has no `stop`); `ready`: as model
    input (normalised), else uint8 as made."""
    weights = source_weights(faces, power)
    step = first
    while True:
        x, y = step_batch(faces, seed, step, batch, difficulty, weights, warp)
        if not _put(out, (normalise(x) if ready else x, y), stop):
            return
        step += stride


def _worker(*args) -> None:
    """A batch-making process: one OpenCV thread each, since the processes are the parallelism."""
    import cv2

    cv2.setNumThreads(1)
    _produce(*args)


class Prefetch:
    """Makes batches ahead of the optimizer, as model input (normalised float32): in a
    background thread (OpenCV and numpy release the GIL), or with workers > 1 in that many
    processes, taken in turn so the order is the same, and normalised by a staging thread here.
    Either way the main thread only hands batches to the step: normalising a batch (16-26 ms)
    and unpickling it from a worker (11-12 ms) ran in series with the step before
    (tools/experiments/host_costs.py). Workers send uint8, a quarter of the bytes. Processes are
    spawned, not forked: the Keras backend's threads are already running. host_normalise=False
    hands over uint8 batches, for a loop that normalises on the device (device_input)."""

    def __init__(
        self,
        faces: FaceSet,
        seed: int,
        batch: int,
        difficulty,
        start: int,
        power: float,
        workers: int = 1,
        host_normalise: bool = True,
        warp: float = 0.0,
    ) -> None:
        self.turn, self.procs, self.stop = 0, [], threading.Event()
        self.host_normalise = host_normalise
        args = (faces, seed, batch, difficulty, power, warp)
        if workers <= 1:
            self.ready: queue.Queue = queue.Queue(maxsize=3)
            thread = threading.Thread(
                target=_produce,
                args=(*args, start, 1, self.ready, self.stop, host_normalise),
                daemon=True,
            )
            thread.start()
            self.makers: list = [thread]
            return
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.queues = [ctx.Queue(maxsize=4) for _ in range(workers)]
        for k, q in enumerate(self.queues):
            proc = ctx.Process(target=_worker, args=(*args, start + k, workers, q), daemon=True)
            proc.start()
            self.procs.append(proc)
        self.makers = self.procs
        self.ready = queue.Queue(maxsize=2)
        threading.Thread(target=self._stage, daemon=True).start()

    def _alive(self) -> bool:
        return all(maker.is_alive() for maker in self.makers)

    def _take(self):
        """The next uint8 batch from the workers, in turn; None once stopped or a worker died
        (get() then reports it)."""
        q = self.queues[self.turn]
        self.turn = (self.turn + 1) % len(self.queues)
        while not self.stop.is_set():
            try:
                return q.get(timeout=1)
            except queue.Empty:
                if not self._alive():
                    return None
        return None

    def _stage(self) -> None:
        while (item := self._take()) is not None:
            x = normalise(item[0]) if self.host_normalise else item[0]
            _put(self.ready, (x, item[1]), self.stop)

    def get(self):
        while True:
            try:
                return self.ready.get(timeout=5)
            except queue.Empty:
                if not self._alive():
                    raise RuntimeError(
                        "a batch maker stopped: its traceback is printed above"
                    ) from None

    def close(self) -> None:
        self.stop.set()
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.join()
        self.procs = []


def predict(model, x_uint8: np.ndarray, batch: int = 64, to_input=None) -> np.ndarray:
    to_input = to_input or normalise
    out = [
        model(to_input(x_uint8[i : i + batch]), training=False)
        for i in range(0, len(x_uint8), batch)
    ]
    return np.concatenate([np.asarray(o, np.float32).reshape(-1) for o in out])


def device_input(where: str, keras):
    """How the loop turns a uint8 batch into model input: None, Prefetch normalises it on the
    host (numpy, in its thread), or a function compiled for the JAX backend's device. On the
    H200 lease of 2026-11-26 the host way limited training: each step waited 15-16 ms for a
    batch and took 10-14 ms, as one staging thread unpickled and normalised every batch of
    fourteen workers. The device way sends a quarter of the bytes and leaves the staging thread
    only unpickling: there a step then waited 1.8 ms and took 8.8 ms, sending and normalising
    included (tools/experiments/gpu_normalise.sh). `where`: host, device, or auto (device on
    JAX with a GPU)."""
    backend = keras.backend.backend()
    if where == "host" or (where == "auto" and backend != "jax"):
        return None
    if backend != "jax":
        raise SystemExit(f"--normalise device needs the JAX backend (this one is {backend})")
    import jax

    if where == "auto" and jax.default_backend() == "cpu":
        return None
    return jax.jit(normalise)  # the same function, traced for the device: identical output


class Schedule:
    """The learning rate of each step: a linear warm-up from 0 to `lr` over WARMUP steps, then
    a cosine down to 0 at the run's last step (Keras' CosineDecay with warmup_target, computed
    here because the last step can move). Without a deadline the last step is `steps`. With
    one (--minutes) it is estimated again before every step: the steps done, plus as many as
    the time left allows at the pace so far, never more than `steps`. A run its deadline cuts
    then still anneals, where with a fixed schedule it stopped wherever the deadline fell (at
    half the steps, with half the peak rate): README, "Retraining", --minutes."""

    def __init__(self, lr: float, steps: int) -> None:
        self.peak, self.steps, self.last = lr, steps, steps

    def fit(self, step: int, seconds_left: float, seconds_per_step: float) -> None:
        """Move the last step to what the deadline allows, from `step` steps done."""
        more = max(0.0, seconds_left) / max(seconds_per_step, 1e-9)
        self.last = min(self.steps, step + int(more))

    def __call__(self, step: int) -> float:
        """The rate of the optimizer step that follows `step` steps done."""
        if step < WARMUP:
            return self.peak * step / WARMUP
        done = min(1.0, (step - WARMUP) / max(1, self.last - WARMUP))
        return self.peak * 0.5 * (1.0 + math.cos(math.pi * done))


class Ema:
    """An exponential moving average of a model's weights (Polyak averaging), for --ema: after
    every optimizer step each array of the average moves (1 - d) of the way to the model's,
    with d = min(decay, (1 + n) / (EMA_WARMUP + n)) after n updates, so early updates are not
    dominated by the starting weights. BatchNorm's moving statistics are averaged alike. The
    arrays live on the host (numpy), so the average works on any backend; reading the seed CNN's
    650k weights and updating the average took 3.9 ms (median) against a step of about 400 ms
    on this 2-core machine."""

    def __init__(self, decay: float, weights: list[np.ndarray], updates: int = 0) -> None:
        self.decay, self.updates = decay, updates
        self.weights = [np.array(w, np.float32) for w in weights]

    def update(self, weights: list[np.ndarray]) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (EMA_WARMUP + self.updates))
        for avg, w in zip(self.weights, weights, strict=True):
            avg *= d
            avg += (1.0 - d) * np.asarray(w, np.float32)

    def save(self, path: Path) -> None:
        """arr_0: the number of updates; arr_1 ...: the averaged arrays, in the model's order."""
        np.savez(path, np.asarray(self.updates), *self.weights)

    @classmethod
    def load(cls, decay: float, path: Path) -> Ema:
        with np.load(path) as f:
            arrays = [f[f"arr_{i}"] for i in range(len(f.files))]
        return cls(decay, arrays[1:], int(arrays[0]))


def build_training_model(args, keras):
    from .model import build_model

    model = build_model(args.precision, layout=args.layout)
    model.compile(
        # the rate is set before every step (Schedule), into the optimizer's own variable, which
        # a compiled step reads on either backend
        optimizer=keras.optimizers.AdamW(args.lr, weight_decay=args.weight_decay, clipnorm=1.0),
        # with --teachers the targets come smoothed already (teacher_targets)
        loss=keras.losses.BinaryCrossentropy(
            label_smoothing=0.0 if args.teachers else args.label_smoothing
        ),
        # XLA on JAX, where uncompiled steps run op by op (and a GPU idles between small
        # kernels); none on TensorFlow, as every CPU run behind the shipped model was trained
        # (XLA on TensorFlow has not been measured here).
        jit_compile=keras.backend.backend() == "jax",
    )
    return model


def teacher_targets(paths, share: float, smoothing: float, keras):
    """Targets for distillation (Hinton et al., 2015) from frozen teacher models: each pair's
    label, smoothed as --label-smoothing says, mixed with the probability of the teachers' mean
    logit, `share` of it the teachers'. Binary cross-entropy is linear in its target, so
    training on these is training on

        (1 - share) * BCE(smoothed label, p) + share * BCE(sigmoid(mean teacher logit), p)

    (tools/experiments/distill.py's loss). The teachers run on the batch the student sees, on
    the host side of the step, so it works alike on either backend; their logits come from
    convert.logit_model (no sigmoid to undo). Teachers of either layout take the same input."""
    from .convert import logit_model

    teachers = [logit_model(keras.models.load_model(p, compile=False)) for p in paths]

    def targets(x, y: np.ndarray) -> np.ndarray:
        logit = np.mean([np.asarray(t.predict_on_batch(x), np.float64) for t in teachers], 0)
        soft = 1 / (1 + np.exp(-logit.reshape(y.shape)))
        hard = y * (1 - smoothing) + 0.5 * smoothing
        return ((1 - share) * hard + share * soft).astype(np.float32)

    return targets


def sam_step(model, rho: float, keras):
    """A replacement for model.train_on_batch that minimises sharpness (SAM, Foret et al., ICLR
    2021): the compiled loss's gradient is taken again at the worst nearby weights, a step of
    length rho along the normalised gradient, and the compiled optimizer (AdamW, its clipping
    and schedule) applies that one at the weights as they were. Two forward and backward
    passes a step; batch norm's statistics move in both, alike on either backend. On the few
    identities here it raised the tune AUC of every seed, the reserved one within its noise
    (docs/experiments.md, "Flat minima")."""
    weights, loss_fn = model.trainable_variables, model.loss
    if not model.optimizer.built:  # a resumed model's optimizer is built, its state loaded
        model.optimizer.build(weights)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function
        def tf_step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, weights)
            scale = rho / (tf.linalg.global_norm(grads) + 1e-12)
            eps = [g * scale for g in grads]
            for w, e in zip(weights, eps, strict=True):
                w.assign_add(e)
            with tf.GradientTape() as tape:
                perturbed = loss_fn(y, model(x, training=True))
            sharp = tape.gradient(perturbed, weights)
            for w, e in zip(weights, eps, strict=True):
                w.assign_sub(e)
            model.optimizer.apply_gradients(zip(sharp, weights, strict=True))
            return loss

        return lambda x, y: tf_step(tf.convert_to_tensor(x), tf.convert_to_tensor(y, tf.float32))
    if backend != "jax":
        raise SystemExit(f"--sam needs the TensorFlow or JAX backend (this one is {backend})")
    import jax
    import jax.numpy as jnp

    def loss_of(trainable, fixed, x, y):
        pred, fixed = model.stateless_call(trainable, fixed, x, training=True)
        return loss_fn(y, pred), fixed

    grad = jax.value_and_grad(loss_of, has_aux=True)

    @jax.jit
    def jax_step(trainable, fixed, opt, x, y):
        (loss, fixed), grads = grad(trainable, fixed, x, y)
        norm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in grads))
        moved = [w + g * (rho / (norm + 1e-12)) for w, g in zip(trainable, grads, strict=True)]
        (_, fixed), sharp = grad(moved, fixed, x, y)
        trainable, opt = model.optimizer.stateless_apply(opt, sharp, trainable)
        return loss, trainable, fixed, opt

    def run(x, y):
        values = [[v.value for v in vs] for vs in (weights, model.non_trainable_variables)]
        opt = [v.value for v in model.optimizer.variables]
        loss, *new = jax_step(*values, opt, x, jnp.asarray(y, jnp.float32))
        for variables, updated in zip(
            (weights, model.non_trainable_variables, model.optimizer.variables), new, strict=True
        ):
            for v, value in zip(variables, updated, strict=True):
                v.assign(value)
        return loss

    return run


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m converter.train", description=__doc__.split("\n")[0]
    )
    p.add_argument("--data", type=Path, required=True, help="real faces, or a labelled layout")
    p.add_argument("--out", type=Path, required=True, help="run folder: checkpoints, history")
    p.add_argument("--steps", type=int, default=6000, help="optimizer steps (sets the schedule)")
    p.add_argument("--minutes", type=float, default=None, help="stop after this wall time")
    p.add_argument("--batch", type=int, default=BATCH)
    p.add_argument("--lr", type=float, default=LR)
    p.add_argument("--weight-decay", type=float, default=WEIGHT_DECAY)
    p.add_argument(
        "--label-smoothing",
        type=float,
        default=LABEL_SMOOTHING,
        help="targets eps/2 and 1-eps/2: bounded logits, no saturated scores",
    )
    p.add_argument(
        "--source-power",
        type=float,
        default=SOURCE_POWER,
        help="a face's sampling weight is (faces in its source file) ** -power; 1: files alike",
    )
    p.add_argument(
        "--warp-share",
        type=float,
        default=0.0,
        help="share of pairs whose face is warped into other proportions first (real and fake "
        "alike; selfblend.warp_face)",
    )
    p.add_argument(
        "--sam",
        type=float,
        default=0.0,
        metavar="RHO",
        help="sharpness-aware steps with this neighbourhood radius (0: plain steps; each SAM "
        "step costs two)",
    )
    p.add_argument(
        "--teachers",
        type=Path,
        nargs="+",
        default=None,
        metavar="KERAS",
        help="distil: train towards these frozen models' mean logit as well as the labels",
    )
    p.add_argument(
        "--distill",
        type=float,
        default=DISTILL,
        metavar="SHARE",
        help="with --teachers: the teachers' share of each target (0..1)",
    )
    p.add_argument(
        "--ema",
        type=float,
        default=0.0,
        metavar="DECAY",
        help="validate and keep checkpoints of an exponential moving average of the weights "
        "with this decay (e.g. 0.998; 0: the weights themselves)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", default="float32", choices=["mixed_bfloat16", "float32"])
    p.add_argument(
        "--layout",
        default=None,
        choices=sorted(LAYOUTS),
        help="where the face is pooled (converter.layouts; --init weights fit either); default: "
        f"the --init model's own, else {DEFAULT_LAYOUT}",
    )
    p.add_argument(
        "--val-data",
        type=Path,
        default=None,
        help="validate on self-blends of these people instead of a split of --data",
    )
    p.add_argument("--val-fraction", type=float, default=VAL_FRACTION)
    p.add_argument("--val-fakes", type=int, default=VAL_FAKES)
    p.add_argument(
        "--val-seed",
        type=int,
        default=None,
        help="seed of the validation self-blends (default --seed + 1); fix it to compare seeds",
    )
    p.add_argument("--eval-every", type=int, default=EVAL_EVERY)
    p.add_argument("--save-every", type=int, default=SAVE_EVERY)
    p.add_argument("--chance-steps", type=int, default=CHANCE_STEPS)
    p.add_argument("--cache", type=Path, default=Path(".cache"))
    p.add_argument(
        "--video-frames",
        type=int,
        default=VIDEO_MAX_FRAMES,
        help="frames read from each video (every 25th); each face costs 235 KB of memory",
    )
    p.add_argument("--resume", action="store_true", help="carry on from --out/last.keras")
    p.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from these weights with a fresh schedule (fine-tuning)",
    )
    p.add_argument(
        "--curriculum",
        type=float,
        default=CURRICULUM,
        help="share of the steps over which blends ramp to full difficulty",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes making batches, and finding the faces when a folder is first read; "
        "on a GPU machine about its CPU cores less two",
    )
    p.add_argument(
        "--normalise",
        default="auto",
        choices=["auto", "host", "device"],
        help="where uint8 batches become float32 input; auto: on the device with JAX on a GPU",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if not 0 <= args.distill <= 1:
        p.error(f"--distill is a share of the targets, 0 to 1 (not {args.distill})")
    if not 0 <= args.ema < 1:
        p.error(f"--ema is a decay, 0 <= DECAY < 1 (not {args.ema})")
    return args


def split(args) -> tuple[FaceSet, FaceSet]:
    """Train/validation: --val-data, the dataset's own Train/Validation folders, or a split of
    --data by source file."""
    from .data import labelled_files

    read = {"video_frames": args.video_frames, "workers": args.workers}
    if args.val_data is not None:
        return (
            load_faces(args.data, args.cache, **read),
            load_faces(args.val_data, args.cache, **read),
        )
    if labelled_files(args.data, "train") is not None:
        train = load_faces(args.data, args.cache, "train", **read)
        if labelled_files(args.data, "validation") is not None:
            return train, load_faces(args.data, args.cache, "validation", **read)
        # Train/ without Validation/ (e.g. Train + Test): a split of Train/ by source file, not
        # the whole folder read as real faces
        return split_by_source(train, args.val_fraction, args.seed)
    faces = load_faces(args.data, args.cache, **read)
    return split_by_source(faces, args.val_fraction, args.seed)


def val_seed(args) -> int:
    """The validation set's seed: --val-seed, else --seed + 1 (every earlier run's)."""
    return args.seed + 1 if args.val_seed is None else args.val_seed


def as_text(value) -> str:
    """An option's value as the state records it: as typed (lists space-separated)."""
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def train(args) -> dict:
    started = time.time()  # --minutes counts from here: loading, workers and compiling count
    keras = keras_module()
    keras.utils.set_random_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    state_path, last_path = args.out / "state.json", args.out / "last.keras"
    train_faces, val_faces = split(args)
    if len(train_faces) == 0:
        raise SystemExit(f"no faces found under {args.data}")
    print(
        f"train: {len(train_faces)} faces from {len(set(train_faces.sources))} sources; "
        f"validation: {len(val_faces)} faces from {len(set(val_faces.sources))} sources",
        file=sys.stderr,
    )
    x_val, y_val = (
        eval_set(val_faces, args.val_fakes, val_seed(args)) if len(val_faces) else (None, None)
    )

    resume = args.resume and last_path.exists()
    init = None
    if args.init is not None and not resume:
        init = keras.models.load_model(args.init, compile=False)
    if args.layout is None:  # continuing a model keeps its layout unless --layout says otherwise
        from .model import layout_of

        args.layout = (layout_of(init) if init is not None else None) or DEFAULT_LAYOUT
    state: dict[str, Any] = {
        "step": 0,
        "best_auc": None,
        "history": [],
        "args": {k: as_text(v) for k, v in vars(args).items()},
    }
    if resume:
        model = keras.models.load_model(last_path)
        state = json.loads(state_path.read_text())
        print(f"resuming at step {state['step']}", file=sys.stderr)
    else:
        model = build_training_model(args, keras)
        if init is not None:
            model.set_weights(init.get_weights())

    if args.sam:  # the compiled loss (label smoothing included; a resumed model's too)
        model.train_on_batch = sam_step(model, args.sam, keras)
    if args.teachers:
        if getattr(model.loss, "label_smoothing", 0.0):  # a resumed run trained without them
            raise SystemExit("--teachers: this run was not started with --teachers")
        targets = teacher_targets(args.teachers, args.distill, args.label_smoothing, keras)
        step = model.train_on_batch
        model.train_on_batch = lambda x, y: step(x, targets(x, y))
    to_input = device_input(args.normalise, keras)
    batches = Prefetch(
        train_faces,
        args.seed,
        args.batch,
        Ramp(int(args.steps * args.curriculum)),
        state["step"],
        args.source_power,
        args.workers,
        host_normalise=to_input is None,
        warp=args.warp_share,
    )
    deadline = started + args.minutes * 60 if args.minutes else None
    try:
        _loop(args, model, batches, state, (x_val, y_val), to_input, deadline)
    finally:
        batches.close()
    return state


def set_rate(model, rate: float) -> None:
    try:
        model.optimizer.learning_rate = rate
    except TypeError:  # the optimizer holds a LearningRateSchedule: saved by older code
        raise SystemExit(
            "--resume: this checkpoint's optimizer has a fixed schedule (saved before "
            "2026-11-28); start a new run from it with --init instead"
        ) from None


def _loop(args, model, batches, state, val, to_input, deadline) -> None:
    """Optimizer steps until --steps or the deadline (--minutes), with evaluation and
    checkpoints; `to_input` (device_input) makes model input of uint8 batches, if it is set."""
    state_path, last_path = args.out / "state.json", args.out / "last.keras"
    x_val, y_val = val
    losses: list[float] = []
    t_start, step0 = time.time(), state["step"]
    interval_step = step0
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=args.steps, initial=state["step"], unit="step", dynamic_ncols=True)

    ema_path = args.out / "ema.npz"
    ema = None
    if args.ema:
        ema = (
            Ema.load(args.ema, ema_path)
            if state["step"] and ema_path.exists()
            else Ema(args.ema, model.get_weights())
        )

    def checkpoint() -> None:
        model.save(last_path)
        if ema is not None:
            ema.save(ema_path)
        state_path.write_text(json.dumps(state, indent=1))

    def averaged(action):
        """`action()` with the average's weights in the model (--ema), else with its own."""
        if ema is None:
            return action()
        own = model.get_weights()
        model.set_weights(ema.weights)
        try:
            return action()
        finally:
            model.set_weights(own)

    def validate() -> float:
        return auc(y_val, predict(model, x_val, to_input=to_input))

    schedule = Schedule(args.lr, args.steps)
    waited = stepped = 0.0  # seconds since the last evaluation: taking batches, the steps
    while state["step"] < args.steps:
        if deadline is not None and state["step"] > step0:  # the pace includes evaluations
            pace = (time.time() - t_start) / (state["step"] - step0)
            schedule.fit(state["step"], deadline - time.time(), pace)
        set_rate(model, schedule(state["step"]))
        t0 = time.perf_counter()
        x, y = batches.get()
        if to_input is not None:
            x = to_input(x)
        t1 = time.perf_counter()
        loss = float(model.train_on_batch(x, y))  # x is model input already (Prefetch)
        if ema is not None:
            ema.update(model.get_weights())
        waited, stepped = waited + t1 - t0, stepped + time.perf_counter() - t1
        losses.append(loss)
        state["step"] += 1
        step = state["step"]
        if bar is not None:
            rate = (step - step0) * args.batch / max(time.time() - t_start, 1e-6)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", img_s=f"{rate:.0f}")
            bar.update(1)
        if step == args.chance_steps and np.mean(losses[-50:]) > CHANCE_LOSS:
            checkpoint()
            raise SystemExit(
                f"stopped: loss is still {np.mean(losses[-50:]):.3f} (chance is 0.693) after "
                f"{step} steps. The model is not learning: check the data (faces found? "
                f"labels?), lower --lr, or train longer with --chance-steps."
            )
        out_of_time = deadline is not None and time.time() > deadline
        last = step == args.steps or out_of_time  # a cut run is evaluated where it stops
        if x_val is not None and (step % args.eval_every == 0 or last):
            if ema is not None:  # the weights themselves too, kept as best_raw.keras
                raw_auc = validate()
                if raw_auc > (state.get("best_raw_auc") or -1.0):
                    state["best_raw_auc"] = raw_auc
                    model.save(args.out / "best_raw.keras")
            val_auc = averaged(validate)
            entry = {
                "step": step,
                "loss": float(np.mean(losses[-args.eval_every :])),
                "val_auc": round(val_auc, 4),
                "minutes": round((time.time() - t_start) / 60, 2),
                "img_s": round((step - step0) * args.batch / (time.time() - t_start), 1),
                # where a step's time went since the last evaluation: waiting for a batch, and
                # the optimizer step with its loss back on the host (which of them limits)
                "wait_ms": round(1000 * waited / (step - interval_step), 1),
                "step_ms": round(1000 * stepped / (step - interval_step), 1),
                "lr": float(f"{schedule(step - 1):.3g}"),  # the rate of the last step
                "last_step": schedule.last,  # where the schedule ends (moves with --minutes)
            }
            if ema is not None:
                entry["val_auc_raw"] = round(raw_auc, 4)
            waited = stepped = 0.0
            interval_step = step
            state["history"].append(entry)
            print(json.dumps(entry), file=sys.stderr, flush=True)
            if state["best_auc"] is None or val_auc > state["best_auc"]:
                state["best_auc"] = val_auc
                averaged(lambda: model.save(args.out / "best.keras"))
        if step % args.save_every == 0:
            checkpoint()
        if out_of_time:
            print(f"time limit: stopping at step {step}", file=sys.stderr)
            break
    checkpoint()
    if not (args.out / "best.keras").exists():
        averaged(lambda: model.save(args.out / "best.keras"))
    if bar is not None:
        bar.close()


def main(argv=None) -> int:
    state = train(parse_args(argv))
    print(json.dumps({"step": state["step"], "best_val_auc": state["best_auc"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
