"""The scanner with the shipped reference model: one verdict schema for every input."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from deepfake_scanner.verdict import SCHEMA
from tests.conftest import jpeg_bytes

REQUIRED = {
    "schema",
    "source",
    "label",
    "score",
    "threshold",
    "faces",
    "model",
    "error",
    "timings_ms",
    "media",
    "content_type",
    "region",
    "scanned_at",
}


def test_group_photo_gets_a_verdict_per_face(scanner, group_photo):
    v = scanner.scan_bytes(group_photo.read_bytes(), str(group_photo)).to_dict()
    assert set(v) >= REQUIRED and v["schema"] == SCHEMA
    assert v["error"] is None and v["media"] == "image" and v["region"] == "faces"
    assert len(v["faces"]) == 5
    assert v["score"] == max(f["score"] for f in v["faces"])
    assert v["label"] == ("fake" if v["score"] >= v["threshold"] else "real")
    assert v["model"]["sha256"] == scanner.model.sha256
    assert v["model"]["variant"] == scanner.model.variant
    for key in ("decode", "detect", "classify", "total"):
        assert v["timings_ms"][key] >= 0
    json.loads(scanner.scan_bytes(group_photo.read_bytes(), "x").to_json())  # serialisable


def test_no_face_falls_back_to_the_full_frame(scanner):
    img = np.full((300, 400, 3), 90, np.uint8)
    cv2.rectangle(img, (50, 50), (200, 150), (10, 200, 30), -1)
    v = scanner.scan_bytes(jpeg_bytes(img), "plain.jpg")
    assert v.faces == [] and v.region == "full_frame"
    assert v.score is not None and 0 <= v.score <= 1 and v.label in ("real", "fake")


@pytest.mark.parametrize(
    "data,code",
    [
        (b"", "EMPTY_INPUT"),
        (b"plain text", "UNSUPPORTED_MEDIA"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "UNDECODABLE"),
    ],
)
def test_bad_input_gives_an_error_verdict(scanner, data, code):
    v = scanner.scan_bytes(data, "bad").to_dict()
    assert v["label"] == "unknown" and v["score"] is None
    assert v["error"]["code"] == code and v["error"]["message"]
    assert v["faces"] == [] and v["model"]["version"]


def test_threshold_override_changes_only_the_label(group_photo):
    from deepfake_scanner.scan import Scanner

    low, high = Scanner(threads=1, threshold=0.0), Scanner(threads=1, threshold=1.0)
    a = low.scan_bytes(group_photo.read_bytes(), "a")
    b = high.scan_bytes(group_photo.read_bytes(), "b")
    assert a.score == b.score and a.label == "fake" and a.threshold == 0.0
    assert b.label == ("fake" if b.score >= 1.0 else "real")


def test_model_with_another_preprocessing_is_refused(tmp_path):
    import shutil

    from deepfake_scanner import paths
    from deepfake_scanner.errors import ModelError
    from deepfake_scanner.scan import Scanner

    shutil.copytree(paths.MODEL_DIR, tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    meta["preprocess"]["margin"] = 1.6
    (tmp_path / "m" / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="preprocessing"):
        Scanner(tmp_path / "m")
    meta["preprocess"]["margin"] = 1.3
    meta["files"][meta["serving"]]["sha256"] = "0" * 64
    (tmp_path / "m" / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="sha256"):
        Scanner(tmp_path / "m")
