"""The check behind tests/unit/test_sam.py, importable without pytest: it also runs in
.cache/venv-jax (`python -m tests.unit.sam_check` with KERAS_BACKEND=jax)."""

from __future__ import annotations


def check() -> None:
    import keras
    import numpy as np

    from converter.train import sam_step

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 12, 12, 3)).astype(np.float32)
    y = (np.arange(16) % 2).astype(np.float32)

    def trained(rho: float | None, steps: int = 3, lr: float = 3e-3):
        """The first kernel after `steps` steps, and the losses: the compiled step (rho None)
        or SAM's."""
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((12, 12, 3)),
                keras.layers.Conv2D(6, 3, use_bias=False),
                keras.layers.BatchNormalization(),
                keras.layers.ReLU(),
                keras.layers.Flatten(),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        loss = keras.losses.BinaryCrossentropy(label_smoothing=0.1)
        model.compile(optimizer=keras.optimizers.AdamW(lr, clipnorm=1.0), loss=loss)
        step = model.train_on_batch if rho is None else sam_step(model, rho, keras)
        losses = [float(step(x, y)) for _ in range(steps)]
        return model.get_weights()[0], losses

    start, _ = trained(None, steps=0)
    plain, plain_losses = trained(None)
    same, same_losses = trained(0.0)  # rho 0: the compiled step
    np.testing.assert_allclose(same, plain, atol=1e-5)
    np.testing.assert_allclose(same_losses, plain_losses, atol=1e-5)
    sharp, _ = trained(0.5)  # the gradient at the perturbed point is another one
    assert np.abs(sharp - plain).max() > 1e-4, "rho > 0 took the plain step"
    still, _ = trained(0.5, lr=0.0)  # no update: the perturbation must be taken back
    np.testing.assert_allclose(still, start, atol=1e-6)
    _, losses = trained(0.5, steps=80)
    assert losses[-1] < 0.4 < losses[0], losses[::10]
    print("sam ok on", keras.backend.backend())


if __name__ == "__main__":
    check()
