"""The check behind tests/unit/test_distill.py, importable without pytest: it also runs in
.cache/venv-jax (`python -m tests.unit.distill_check DIR` with KERAS_BACKEND=jax)."""

from __future__ import annotations

import sys
from pathlib import Path


def check(tmp: Path) -> None:
    import keras
    import numpy as np

    from converter.model import build_model
    from converter.train import teacher_targets

    paths = []
    for seed in (0, 1):  # two different teachers
        keras.utils.set_random_seed(seed)
        model = build_model()
        model.layers[-1].bias.assign([0.8 * seed - 0.4])  # away from 0.5, unlike each other
        paths.append(tmp / f"teacher{seed}.keras")
        model.save(paths[-1])
    teachers = [keras.models.load_model(p, compile=False) for p in paths]
    x = np.random.default_rng(0).normal(size=(4, 224, 224, 3)).astype(np.float32)
    y = np.array([0, 1, 0, 1], np.float32)
    p = [np.asarray(t.predict_on_batch(x), np.float64).ravel() for t in teachers]
    logit = [np.log(q / (1 - q)) for q in p]
    smoothed = y * 0.9 + 0.05

    np.testing.assert_allclose(teacher_targets(paths, 0.0, 0.1, keras)(x, y), smoothed, atol=1e-7)
    np.testing.assert_allclose(teacher_targets(paths[:1], 1.0, 0.1, keras)(x, y), p[0], atol=1e-5)
    mixed = teacher_targets(paths, 0.5, 0.1, keras)(x, y)
    soft = 1 / (1 + np.exp(-(logit[0] + logit[1]) / 2))  # the mean logit, not the mean score
    np.testing.assert_allclose(mixed, 0.5 * smoothed + 0.5 * soft, atol=1e-5)
    assert np.abs(soft - (p[0] + p[1]) / 2).max() > 1e-4, "the teachers' scores were averaged"

    # training on the mixed targets is training on the two losses (distill.py's): the same value
    student = np.random.default_rng(1).uniform(0.05, 0.95, size=(4, 1)).astype(np.float32)
    plain = keras.losses.BinaryCrossentropy()
    smoothing = keras.losses.BinaryCrossentropy(label_smoothing=0.1)
    one = float(plain(mixed, student))
    two = 0.5 * float(smoothing(y, student)) + 0.5 * float(plain(soft.astype(np.float32), student))
    np.testing.assert_allclose(one, two, rtol=1e-5)
    print("distill ok on", keras.backend.backend())


if __name__ == "__main__":
    check(Path(sys.argv[1]))
