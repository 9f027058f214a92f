"""Shared fixtures. Face photos and the detector come from tools/fetch_assets.py (make setup)."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
FACE_API = ASSETS / "faces" / "train" / "face-api"
# Keras on JAX without TensorFlow, as on the GPU machines (benchmarks/requirements-jax.txt)
JAX_PYTHON = ROOT / ".cache" / "venv-jax" / "bin" / "python"


def run_here(cmd: list, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    """A command run in the repository root, its output captured as text."""
    return subprocess.run(
        [str(c) for c in cmd], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make setup` (tools/fetch_assets.py) first")
    return path


@pytest.fixture(scope="session")
def group_photo() -> Path:
    """A real photo with five faces (face-api demo sample5)."""
    return require(FACE_API / "sample5.jpg")


@pytest.fixture(scope="session")
def face_photos() -> list[Path]:
    return sorted(require(FACE_API).glob("sample*.jpg"))


def jpeg_bytes(image: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The JPEG with an APP1 Exif segment whose only tag is Orientation."""
    tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + app1 + jpeg[2:]


@pytest.fixture(scope="session")
def scanner():
    """The serving scanner with the shipped reference model, loaded once for the session."""
    from deepfake_scanner.scan import Scanner

    return Scanner(threads=1)
