"""BlazeFace through LiteRT on real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deepfake_scanner import paths
from deepfake_scanner.errors import ModelError
from deepfake_scanner.faces import FaceDetector


@pytest.fixture(scope="module")
def detector():
    return FaceDetector(paths.DETECTOR, threads=1)


def test_finds_every_face_in_a_group_photo(detector, group_photo):
    image = cv2.imread(str(group_photo))
    faces = detector.detect(image)
    assert len(faces) == 5
    h, w = image.shape[:2]
    for f in faces:
        x, y, bw, bh = f.box
        assert 0 <= x < w and 0 <= y < h and 100 < bw < 400 and 100 < bh < 400
        assert f.score >= 0.6
        # keypoints (eyes, nose, mouth) fall inside the box
        for px, py in f.keypoints[:4]:
            assert x <= px <= x + bw and y <= py <= y + bh


def test_finds_faces_in_every_sample_photo(detector, face_photos):
    counts = [len(detector.detect(cv2.imread(str(p)))) for p in face_photos]
    assert all(c >= 2 for c in counts), counts


def test_no_face_in_noise_or_flat_images(detector):
    rng = np.random.default_rng(0)
    assert detector.detect(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)) == []
    assert detector.detect(np.full((200, 300, 3), 127, np.uint8)) == []


def test_boxes_follow_the_face_when_the_image_is_shifted(detector, group_photo):
    image = cv2.imread(str(group_photo))
    padded = cv2.copyMakeBorder(image, 100, 0, 300, 0, cv2.BORDER_CONSTANT, value=0)
    a = sorted(f.box for f in detector.detect(image))
    b = sorted(f.box for f in detector.detect(padded))
    assert len(a) == len(b)
    # The detector sees a 192-pixel letterbox: allow two of its pixels in image units.
    tol = 2 * max(padded.shape[:2]) / 192
    for (x, y, _, _), (x2, y2, _, _) in zip(a, b, strict=False):
        assert abs(x2 - x - 300) <= tol and abs(y2 - y - 100) <= tol


def test_small_faces_are_skipped(group_photo):
    big = FaceDetector(paths.DETECTOR, threads=1, min_size=1000)
    assert big.detect(cv2.imread(str(group_photo))) == []


def test_altered_detector_file_is_refused(tmp_path):
    bad = tmp_path / "blazeface.tflite"
    data = bytearray(paths.DETECTOR.read_bytes())
    data[-1] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        FaceDetector(bad)
    with pytest.raises(ModelError, match="not found"):
        FaceDetector(tmp_path / "missing.tflite")
