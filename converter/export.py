"""Build a shippable model folder from a trained checkpoint, and measure it.

    python -m converter.export --checkpoint runs/reference/best.keras --out models/reference

1. float32 copy of the weights -> seed_cnn.keras (kept for GPU batch parity runs).
2. int8 (and any --variants) via converter.convert, calibrated on training face crops; each is
   compared with the float model on self-blends of people never trained on (the tune set) and
   refused by the parity gate if it disagrees.
3. Threshold: the (1 - --target-fpr) quantile of per-photo scores of real photos from sources
   held out of training (assets/faces/tune), scanned through the serving path.
4. Evaluation on the reserved sources (assets/faces/eval: never trained or tuned on): AUC on
   their self-blends (keras and int8) and the false-positive rate on their real photos.
5. metadata.json, report.json, confusion-matrix and ROC plots.

--tune-data and --eval-data may also be labelled folders (real/ + fake/, e.g. a deepfake
dataset's validation and test face crops or videos): the AUC is then measured on their faces as
labelled, the threshold and false-positive rate come from the files under real/ only, and the
files under fake/ give the share of fakes caught at the threshold.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_scanner.artifacts import METADATA, SCHEMA
from deepfake_scanner.classify import Classifier
from deepfake_scanner.litert import sha256_file
from deepfake_scanner.preprocess import SPEC, normalise

from .convert import GPTQ_ROWS, VARIANTS, tflite_scores, to_tflite, write_if_faithful
from .data import MARGIN_RATIO, VIDEO_MAX_FRAMES, labelled_files, list_files, load_faces
from .metrics import classification_report
from .parity import ParityError
from .report import plot_confusion, plot_roc
from .selfblend import make_pair
from .train import eval_set, keras_module, predict

ROOT = Path(__file__).resolve().parent.parent
TARGET_FPR = 0.05  # threshold rule on tune photos; the reserved eval set must stay <= 10%
EVAL_FAKES = 600


def representative(faces, n_pairs: int, seed: int):
    """Calibration inputs for int8: preprocessed training face crops as the model saw them,
    each real crop with its self-blend, augmented alike. Plain unaugmented crops left the
    int8 activation ranges short of JPEG/noise/colour-shifted inputs (max |diff| 0.10 vs 0.05
    on a 600-step model), and random noise is nothing like a face."""
    rng = np.random.default_rng(seed)
    for i in rng.choice(len(faces), size=n_pairs):
        for crop in make_pair(
            faces.crops[i], faces.keypoints[i], rng, 1.0, SPEC.size, MARGIN_RATIO
        ):
            yield normalise(crop[None])


def shown(path: Path) -> str:
    """A path as reports name it: relative to the repository when it is inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def photo_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(real, fake) files under folder: those under its real/ and fake/ folders when it has
    that layout, else every file is a real photo."""
    labelled = labelled_files(folder)
    if labelled is None:
        return list_files(folder), []
    files, labels = labelled
    return (
        [f for f, label in zip(files, labels, strict=True) if label == 0],
        [f for f, label in zip(files, labels, strict=True) if label == 1],
    )


def scan_photos(model_dir: Path, files: list[Path]) -> list[dict]:
    """Files through the serving path: one verdict dict each."""
    from deepfake_scanner.scan import Scanner

    scanner = Scanner(model_dir, threads=None)
    return [scanner.scan_bytes(p.read_bytes(), shown(p)).to_dict() for p in files]


def photo_scores(verdicts: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(per-photo scores, per-face scores) of verdicts that were judged."""
    photos = np.array([v["score"] for v in verdicts if v["score"] is not None])
    faces = np.array([f["score"] for v in verdicts for f in v["faces"]])
    return photos, faces


def share_over(scores: np.ndarray, threshold: float) -> float | None:
    """The share of scores at or over the threshold; None when there are none (a video's
    verdict has no top-level faces, so a folder of videos has no face scores)."""
    return float(np.mean(scores >= threshold)) if len(scores) else None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def training_record(state_path: Path) -> dict:
    """The metadata's training runs: the chain behind a checkpoint, oldest first (each --init
    points to the run before it). A run that started from an exported model (--init
    models/NAME/...keras, a folder with metadata.json and no state.json) takes that model's
    recorded runs as its past. Also converter.recipe's choice among people seeds: the
    choice.json of the newest run in the chain that has one (the recipe's warp run continues
    RUNS/people, where the choice is written)."""
    runs: list[dict] = []
    record: dict = {}
    path: Path | None = state_path
    while path is not None:
        if not path.exists():
            exported = path.parent / METADATA
            if exported.exists():
                past = json.loads(exported.read_text()).get("training", {}).get("runs", [])
                # that model may since have been replaced by an export of a run collected here
                # (a run continued models/reference, then shipped there): its record already
                # ends with that run, which would otherwise be listed twice
                seen = [(r["run"], r["args"]) for r in runs]
                runs += [r for r in past[::-1] if (r.get("run"), r.get("args")) not in seen]
            break
        state = json.loads(path.read_text())
        runs.append(
            {
                "run": path.parent.name,
                "steps": state["step"],
                "best_val_auc": state["best_auc"],
                "args": state["args"],
                "history": state["history"],
            }
        )
        if state["args"].get("teachers") not in (None, "None"):
            runs[-1]["teachers"] = [
                teacher_record(Path(t)) for t in state["args"]["teachers"].split()
            ]
        choice = path.parent / "choice.json"
        if "choice" not in record and choice.exists():  # newest first: the first found
            record["choice"] = json.loads(choice.read_text())
        init = state["args"].get("init")
        path = Path(init).parent / "state.json" if init not in (None, "None") else None
    return {"runs": runs[::-1]} | record


def teacher_record(checkpoint: Path) -> dict:
    """A teacher of a distilled run (converter.train --teachers): its file as it is now (read
    before an export into its folder writes anything) and the runs behind it, their validation
    curves left out, its own teachers' records included."""
    chain = training_record(checkpoint.parent / "state.json").get("runs", [])
    return {
        "model": str(checkpoint),
        "sha256": sha256_file(checkpoint) if checkpoint.exists() else None,
        "runs": [{k: v for k, v in run.items() if k != "history"} for run in chain],
    }


def write_metadata(out: Path, meta: dict) -> None:
    (out / METADATA).write_text(json.dumps(meta, indent=2) + "\n")


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m converter.export", description=__doc__.split("\n")[0]
    )
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--train-data", type=Path, default=ROOT / "assets/faces/train")
    p.add_argument("--tune-data", type=Path, default=ROOT / "assets/faces/tune")
    p.add_argument("--eval-data", type=Path, default=ROOT / "assets/faces/eval")
    p.add_argument("--variants", nargs="+", default=["int8"], choices=VARIANTS)
    p.add_argument(
        "--serving",
        nargs="+",
        default=["int8", "float16"],
        choices=VARIANTS,
        help="variants in order of preference: the first that passes the parity gate serves",
    )
    p.add_argument("--name", default="seed-cnn-sbi")
    p.add_argument(
        "--version",
        default=datetime.now(UTC).strftime("%Y.%m.%d.%H%M"),
        help="default: the export's UTC date and time (two models made on one day differ)",
    )
    p.add_argument("--target-fpr", type=float, default=TARGET_FPR)
    p.add_argument("--eval-fakes", type=int, default=EVAL_FAKES)
    p.add_argument(
        "--calibration",
        type=int,
        default=1000,
        help="int8 calibration pairs (1,000: fewer left faces of other people beyond the "
        "calibrated ranges, where int8 clips; README, 'Conversion and the parity gate')",
    )
    p.add_argument(
        "--gptq-rows",
        type=int,
        default=GPTQ_ROWS,
        help="calibration inputs GPTQ rounds the int8 weights on (converter.gptq); 0: to nearest",
    )
    p.add_argument("--cache", type=Path, default=ROOT / ".cache")
    p.add_argument(
        "--video-frames",
        type=int,
        default=VIDEO_MAX_FRAMES,
        help="frames read from each video (every 25th), as converter.train --video-frames",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes that find the faces when a folder is first read (as converter.train)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--training-notes", type=Path, help="state.json of the training run")
    return p.parse_args(argv)


def judge(args, out: Path, blobs: dict, serving: str, tune):
    """Metadata with `serving` as the serving variant: its threshold from its own scores on the
    tune photos, then every variant through the parity gate at that threshold (a variant that
    fails is not written). tune: (each variant's scores on the tune self-blends, their labels,
    the float model's scores). Returns (meta, parity reports, tune photo scores, tune face
    scores)."""
    tune_scores, y_tune, keras_tune = tune
    for stale in out.glob("seed_cnn_*.tflite"):
        stale.unlink()
    files: dict[str, dict[str, Any]] = {
        "keras": {"path": "seed_cnn.keras", "sha256": sha256_file(out / "seed_cnn.keras")}
    }
    # The threshold comes from the serving model's own scores on the tune photos, so the
    # serving file is written provisionally first; the gate below then judges it at that
    # threshold ("label agreement at the model's threshold") and removes it if it fails.
    serving_path = out / f"seed_cnn_{serving}.tflite"
    serving_path.write_bytes(blobs[serving])
    files[serving] = {"path": serving_path.name, "sha256": sha256_file(serving_path)}
    meta = {
        "schema": SCHEMA,
        "name": args.name,
        "version": args.version,
        "serving": serving,
        "files": files,
        "input": {
            "shape": [None, SPEC.size, SPEC.size, 3],
            "dtype": "float32",
            "range": [SPEC.offset, SPEC.offset + 255 * SPEC.scale],
        },
        "output": {
            "kind": "logit",
            "meaning": "sigmoid(output) = probability that the face "
            "is manipulated; the sigmoid is applied in float by the classifier",
        },
        "preprocess": SPEC.to_dict(),
        "threshold": 0.5,
    }
    if "int8" in blobs:
        meta["int8_weights"] = (
            f"rounded by GPTQ on {args.gptq_rows} calibration inputs (converter.gptq)"
            if args.gptq_rows
            else "rounded to nearest by the converter"
        )
        meta["int8_calibration_pairs"] = args.calibration  # activation ranges measured on these
    write_metadata(out, meta)
    tune_photos, tune_face_scores = photo_scores(scan_photos(out, photo_files(args.tune_data)[0]))
    if not len(tune_photos):
        raise SystemExit(
            f"no real photo or video under {shown(args.tune_data)} was judged: the threshold is "
            "taken from their scores"
        )
    quantile = float(np.quantile(tune_photos, 1 - args.target_fpr))
    # the same verdicts from the serving file, at the point where its output rounding flips
    threshold = round(Classifier(serving_path).decision_threshold(quantile), 6)
    meta["threshold"] = threshold
    meta["threshold_quantile"] = round(quantile, 6)

    parity: dict[str, dict] = {}
    for variant, blob in blobs.items():
        path = out / f"seed_cnn_{variant}.tflite"
        try:
            parity[variant] = write_if_faithful(
                blob, variant, tune_scores[variant], y_tune, keras_tune, threshold, path
            )
        except ParityError as exc:
            log(str(exc))
            parity[variant] = {**exc.report, "passed": False}
            path.unlink(missing_ok=True)
            files.pop(variant, None)
            continue
        files[variant] = {"path": path.name, "sha256": sha256_file(path), "bytes": len(blob)}
        log(f"{variant}: parity passed at threshold {threshold}: {json.dumps(parity[variant])}")
    if serving in files:
        write_metadata(out, meta)
    return meta, parity, tune_photos, tune_face_scores


def export(args) -> dict:
    keras = keras_module()
    from .model import float32_copy

    out = args.out
    # read before anything is written: a run continued from the model in `out` finds its past
    # in out/metadata.json (training_record)
    notes = args.training_notes
    record = training_record(notes) if notes and notes.exists() else None
    out.mkdir(parents=True, exist_ok=True)
    model = float32_copy(keras.models.load_model(args.checkpoint, compile=False))
    model.save(out / "seed_cnn.keras")

    frames = {"video_frames": args.video_frames, "workers": args.workers}
    train_faces = load_faces(args.train_data, args.cache, **frames)
    tune_faces = load_faces(args.tune_data, args.cache, **frames)
    eval_faces = load_faces(args.eval_data, args.cache, **frames)
    x_tune, y_tune = eval_set(tune_faces, args.eval_fakes, args.seed + 11)
    x_eval, y_eval = eval_set(eval_faces, args.eval_fakes, args.seed + 12)
    keras_tune, keras_eval = predict(model, x_tune), predict(model, x_eval)

    calib = list(representative(train_faces, args.calibration, args.seed))
    variants = dict.fromkeys([*args.serving, *args.variants])
    blobs = {v: to_tflite(model, v, calib, args.gptq_rows) for v in variants}
    x = normalise(x_tune)  # each variant runs once; the gate may judge it at several thresholds
    tune_scores = {v: tflite_scores(blob, x) for v, blob in blobs.items()}
    del x
    for serving in args.serving:  # the first variant in --serving that passes the gate serves
        meta, parity, tune_photos, tune_face_scores = judge(
            args, out, blobs, serving, (tune_scores, y_tune, keras_tune)
        )
        if serving in meta["files"]:
            break
        log(f"{serving} cannot serve: it did not pass the parity gate")
    else:
        (out / METADATA).unlink()
        raise SystemExit(f"no variant of {args.serving} passed the parity gate")
    threshold = meta["threshold"]
    real_files, fake_files = photo_files(args.eval_data)
    verdicts = scan_photos(out, real_files + fake_files)  # one scanner for both
    eval_verdicts = verdicts[: len(real_files)]
    eval_photos, eval_face_scores = photo_scores(eval_verdicts)
    fake_photos, _ = photo_scores(verdicts[len(real_files) :])
    labelled = bool(eval_faces.labels.any())
    kind = "labelled" if labelled else "selfblend"

    serving_scores = tflite_scores(blobs[serving], normalise(x_eval))
    report = {
        "threshold": threshold,
        "threshold_rule": f"{1 - args.target_fpr:.2f} quantile of per-photo scores of the "
        f"tune photos ({len(tune_photos)} real photos), {meta['threshold_quantile']}, moved to "
        "where the serving file's output rounding flips (the same verdicts; "
        "Classifier.decision_threshold)",
        f"{kind}_eval": {
            "what": f"the faces of {shown(args.eval_data)}, as its real/ and fake/ folders "
            "label them"
            if labelled
            else "self-blended pseudo-fakes and their reals, people of the reserved "
            "sources (never trained or tuned on)",
            "people_files": sorted(set(eval_faces.sources.tolist())),
            "keras": classification_report(y_eval, keras_eval, threshold),
            serving: classification_report(y_eval, serving_scores, threshold),
        },
        "real_photos_eval": {
            "what": f"the photos under {shown(args.eval_data)}'s real/"
            if labelled
            else "real photos of the reserved sources, scanned through the serving path",
            "photos": len(eval_photos),
            "faces": len(eval_face_scores),
            "false_positive_rate_photos": share_over(eval_photos, threshold),
            "false_positive_rate_faces": share_over(eval_face_scores, threshold),
            "verdicts": [{k: v[k] for k in ("source", "label", "score")} for v in eval_verdicts],
        },
        **(
            {
                "fake_photos_eval": {
                    "what": "files under the eval data's fake/, scanned through the serving path",
                    "photos": len(fake_photos),
                    "caught_at_threshold": share_over(fake_photos, threshold),
                }
            }
            if fake_files
            else {}
        ),
        "real_photos_tune": {
            "photos": len(tune_photos),
            "faces": len(tune_face_scores),
            "false_positive_rate_photos": share_over(tune_photos, threshold),
            "false_positive_rate_faces": share_over(tune_face_scores, threshold),
        },
        f"{'labelled' if tune_faces.labels.any() else 'selfblend'}_tune_keras_auc": (
            classification_report(y_tune, keras_tune, threshold)["auc"]
        ),
        "parity": parity,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    cm, what = report[f"{kind}_eval"][serving], "labelled faces" if labelled else "self-blends"
    plot_confusion(
        cm["confusion"],
        f"{serving}, {shown(args.eval_data)}, {what}\nthreshold {threshold}",
        out / "confusion_matrix.png",
    )
    plot_roc(
        {
            "keras float32": (y_eval, keras_eval, report[f"{kind}_eval"]["keras"]["auc"]),
            serving: (y_eval, serving_scores, cm["auc"]),
        },
        f"ROC: {what}, " + ("eval data" if labelled else "reserved people"),
        out / "roc.png",
    )

    auc_key = "labelled_auc_eval" if labelled else "selfblend_auc_reserved_people"
    meta["evaluation"] = {
        auc_key: round(cm["auc"], 4),
        f"{auc_key}_keras": round(report[f"{kind}_eval"]["keras"]["auc"], 4),
        ("eval_faces" if labelled else "selfblend_pairs"): int(
            len(y_eval) if labelled else len(y_eval) // 2
        ),
        "false_positive_rate_reserved_photos": (
            None
            if (fpr := report["real_photos_eval"]["false_positive_rate_photos"]) is None
            else round(fpr, 4)
        ),
        "reserved_photos": len(eval_photos),
        "measured_by": "make model-report (python -m converter.export ...); see report.json",
    }
    if fake_files:
        meta["evaluation"]["fake_photos_caught_at_threshold"] = report["fake_photos_eval"][
            "caught_at_threshold"
        ]
    meta["parity"] = {
        v: {
            k: (round(x, 5) if isinstance(x, float) else x)
            for k, x in r.items()
            if k != "tolerances"
        }
        for v, r in parity.items()
    }
    if record is not None:
        meta["training"] = {
            "data": {
                "train": shown(args.train_data),
                "tune": shown(args.tune_data),
                "eval": shown(args.eval_data),
            }
            | (
                {
                    "sources": "tools/assets.json (groups train, tune, eval; group teacher: "
                    "faces that only a teacher run trained on, see runs[].teachers)"
                }
                if all(
                    shown(d).startswith("assets/")
                    for d in (args.train_data, args.tune_data, args.eval_data)
                )
                else {}
            ),
        } | record
    write_metadata(out, meta)
    return report


def main(argv=None) -> int:
    report = export(parse_args(argv))
    print(
        json.dumps(
            {k: report[k] for k in ("threshold", "real_photos_eval")}
            | {"auc": report.get("selfblend_eval") or report.get("labelled_eval")},
            indent=1,
            default=str,
        )[:3000]
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
