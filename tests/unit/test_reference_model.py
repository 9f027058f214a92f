"""The shipped model folder: pinned files, matching preprocessing, parity re-measured."""

from __future__ import annotations

import numpy as np
import pytest

from converter.parity import TOLERANCES
from deepfake_scanner import paths
from deepfake_scanner.artifacts import read_metadata, resolve
from deepfake_scanner.litert import sha256_file
from deepfake_scanner.preprocess import SPEC


@pytest.fixture(scope="module")
def meta():
    return read_metadata(paths.MODEL_DIR)


def test_every_file_matches_its_pinned_sha256(meta):
    for entry in meta["files"].values():
        assert sha256_file(paths.MODEL_DIR / entry["path"]) == entry["sha256"]


def test_metadata_describes_what_serving_does(meta):
    assert meta["preprocess"] == SPEC.to_dict()
    assert meta["input"]["shape"] == [None, SPEC.size, SPEC.size, 3]
    assert 0 < meta["threshold"] < 1  # a saturated 1.0 is what label smoothing removed
    info = resolve(paths.MODEL_DIR)
    assert info.variant == meta["serving"] and meta["serving"] in meta["files"]
    assert "keras" in meta["files"]
    # every variant the gate refused is recorded as refused and was not written
    for variant, report in meta["parity"].items():
        assert report["passed"] == (variant in meta["files"])
    for key in ("selfblend_auc_reserved_people", "false_positive_rate_reserved_photos"):
        assert key in meta["evaluation"]


def test_the_threshold_sits_where_the_serving_files_rounding_flips(meta):
    """make model-report moves the quantile rule's threshold to the serving file's rounding
    point (Classifier.decision_threshold); a threshold edited by hand would not sit there."""
    from deepfake_scanner.classify import Classifier

    serving = Classifier(paths.MODEL_DIR / meta["files"][meta["serving"]]["path"])
    assert meta["threshold"] == round(serving.decision_threshold(meta["threshold_quantile"]), 6)
    assert serving.decision_threshold(meta["threshold"]) == pytest.approx(meta["threshold"])


def test_the_int8_file_takes_the_crops_pixels_as_they_are(meta):
    """The converter calibrates on [0, 1] crops, so the int8 file's input is the uint8 crop
    itself and the scanner skips normalising and quantising (Classifier.pixels_are_input); a
    conversion that lost that would serve the same verdicts, 0.3 ms a face slower."""
    from deepfake_scanner.classify import Classifier

    if "int8" not in meta["files"]:
        pytest.skip("no int8 file in this model")
    assert Classifier(paths.MODEL_DIR / meta["files"]["int8"]["path"]).pixels_are_input(SPEC)


def test_serving_model_agrees_with_the_float_model_on_unseen_people(meta):
    """Re-measured here on fresh self-blends of the reserved people, not read from the file."""
    keras = pytest.importorskip("keras")
    from pathlib import Path

    from converter.convert import tflite_scores
    from converter.data import load_faces
    from converter.metrics import auc
    from converter.train import eval_set, predict
    from deepfake_scanner.preprocess import normalise

    faces = load_faces(paths.ROOT / "assets" / "faces" / "eval", Path(paths.ROOT / ".cache"))
    x, y = eval_set(faces, 100, seed=1234)
    model = keras.models.load_model(paths.MODEL_DIR / meta["files"]["keras"]["path"], compile=False)
    ref = predict(model, x)
    serving = paths.MODEL_DIR / meta["files"][meta["serving"]]["path"]
    got = tflite_scores(serving.read_bytes(), normalise(x))
    threshold = meta["threshold"]
    agreement = np.mean((ref >= threshold) == (got >= threshold))
    # 200 inputs: one flipped label is 0.5%, so allow two near the threshold
    assert agreement >= 0.99
    assert np.abs(ref - got).max() <= TOLERANCES.max_abs_diff
    assert np.corrcoef(ref, got)[0, 1] >= TOLERANCES.min_correlation
    assert abs(auc(y, ref) - auc(y, got)) <= 0.01
    assert meta["parity"][meta["serving"]]["passed"]
