"""Where the int8 file's score error comes from, and what cuts it without touching the weights.

    .venv/bin/python tools/experiments/int8_ranges.py [--model models/reference]

Converts the shipped float model to int8 several ways, each calibrated on the same 200 training
pairs as `make model-report`, and prints for each the label flips against the float model on
the tune people's 1,200 crops at the shipped threshold (the parity gate allows 6) and the mean
and max |score difference| (the steadier measure: flips count only scores near the threshold):

- the graph as converted before 2026-11-27 (batch norms folded, nothing else), and each of
  converter.model.int8_friendly's rewrites on top (ReLU before the max-pool, dilated
  convolutions undilated), then both;
- both, with each hidden activation's channels equalised (converter.model.equalise_ranges)
  at powers 0.25, 0.5 (what converter.convert uses), 0.75 and 1;
- the equalised graph with only its weights rounded as int8 rounds them (per output channel,
  symmetric, 127 levels a side) and float activations, in Keras: how much of the error is the
  weights';
- the old graph with each activation tensor's calibrated range cut to a quantile of its values
  (TensorFlow's calibrate-only conversion, the ranges edited in its flatbuffer, then its MLIR
  quantizer): do rare large activations waste the int8 steps?

Every rewrite leaves the float output as it was, so only the int8 error moves. About 4 minutes
on 2 cores. README, "Conversion and the parity gate", quotes a run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=ROOT / "models" / "reference")
    p.add_argument("--quantiles", type=float, nargs="+", default=[0.9999, 0.999])
    a = p.parse_args()
    import keras
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter
    from tensorflow.lite.python import convert as tfl_convert
    from tensorflow.lite.tools import flatbuffer_utils

    import converter.model
    from converter.convert import saved_model_converter, tflite_scores, to_tflite
    from converter.data import load_faces
    from converter.export import representative
    from converter.parity import compare
    from converter.train import eval_set, predict
    from deepfake_scanner.preprocess import normalise

    meta = json.loads((a.model / "metadata.json").read_text())
    threshold = meta["threshold"]
    model = converter.model.float32_copy(
        keras.models.load_model(a.model / meta["files"]["keras"]["path"], compile=False)
    )
    cache = ROOT / ".cache"
    train = load_faces(ROOT / "assets" / "faces" / "train", cache)
    x, y = eval_set(load_faces(ROOT / "assets" / "faces" / "tune", cache), 600, 11)
    ref, xn = predict(model, x), normalise(x)
    calib = list(representative(train, 200, 0))

    def report(name: str, blob: bytes) -> None:
        r = compare(ref, tflite_scores(blob, xn), y, threshold)
        flips = round((1 - r["agreement"]) * len(y))
        stats = {k: round(r[k], 5) for k in ("mean_abs_diff", "max_abs_diff")}
        print(json.dumps({"int8": name, "flips": flips, **stats}), flush=True)

    cm: Any = converter.model  # patched below: saved_model_converter looks both up in it
    friendly, equalise = cm.int8_friendly, cm.equalise_ranges
    graphs = {
        "batch norms folded (before 2026-11-27)": (False, False),
        "+ ReLU before the max-pool": (True, False),
        "+ dilated convolutions undilated": (False, True),
        "+ both (int8_friendly)": (True, True),
    }
    try:  # saved_model_converter looks both up in converter.model when it runs
        cm.equalise_ranges = lambda network, _x, power=0.5: network
        for name, flags in graphs.items():
            cm.int8_friendly = lambda m, flags=flags: friendly(m, *flags)
            report(name, to_tflite(model, "int8", calib))
        cm.int8_friendly = friendly
        for power in (0.25, 0.5, 0.75, 1.0):
            cm.equalise_ranges = lambda network, x, power=power: equalise(network, x, power)
            report(f"+ both, channels equalised, power {power}", to_tflite(model, "int8", calib))

        network = equalise(friendly(model), np.concatenate(calib))
        rounded = keras.models.clone_model(network)
        for layer, source in zip(rounded.layers, network.layers, strict=True):
            if source.get_weights():
                kernel, bias = source.get_weights()
                step = np.abs(kernel.reshape(-1, kernel.shape[-1])).max(axis=0) / 127
                step[step == 0] = 1
                layer.set_weights([np.round(kernel / step) * step, bias])
        scores = rounded.predict(xn, verbose=0, batch_size=64).reshape(-1)  # ends in a sigmoid
        r = compare(ref, scores, y, threshold)
        stats = {k: round(r[k], 5) for k in ("mean_abs_diff", "max_abs_diff")}
        flips = round((1 - r["agreement"]) * len(y))
        print(json.dumps({"int8": "equalised, weights rounded only", "flips": flips, **stats}))

        cm.int8_friendly = lambda m: friendly(m, False, False)
        cm.equalise_ranges = lambda network, _x, power=0.5: network
        with saved_model_converter(model) as tfl:
            tfl.optimizations = [tf.lite.Optimize.DEFAULT]
            tfl.representative_dataset = lambda: ([s] for s in calib)
            tfl._experimental_calibrate_only = True  # the quantization debugger's route
            calibrated = tfl.convert()
    finally:
        cm.int8_friendly, cm.equalise_ranges = friendly, equalise

    # every activation tensor's values over the calibration inputs, from the calibrated model
    interp = Interpreter(model_content=calibrated, experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    graph = flatbuffer_utils.read_model_from_bytearray(bytearray(calibrated)).subgraphs[0]
    ends = set(graph.inputs) | set(graph.outputs)
    ranged = [
        i
        for i, t in enumerate(graph.tensors)
        if t.quantization is not None and t.quantization.min is not None and i not in ends
    ]
    values: dict[int, list[np.ndarray]] = {i: [] for i in ranged}
    for s in calib:
        interp.set_tensor(interp.get_input_details()[0]["index"], s.astype(np.float32))
        interp.invoke()
        for i in ranged:
            values[i].append(interp.get_tensor(i).ravel().copy())
    merged = {i: np.concatenate(v) for i, v in values.items()}
    for q in a.quantiles:
        edited = flatbuffer_utils.read_model_from_bytearray(bytearray(calibrated))
        for i in ranged:
            t, v = edited.subgraphs[0].tensors[i], merged[i]
            t.quantization.min = [min(0.0, max(t.quantization.min[0], np.quantile(v, 1 - q)))]
            t.quantization.max = [max(0.0, min(t.quantization.max[0], np.quantile(v, q)))]
        blob = tfl_convert.mlir_quantize(
            bytes(flatbuffer_utils.convert_object_to_bytearray(edited)),
            fully_quantize=True,
            input_data_type=tf.uint8,
            output_data_type=tf.uint8,
        )
        report(f"before 2026-11-27, ranges cut to the {q} quantile", blob)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
