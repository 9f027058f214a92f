"""Default locations, relative to the project (or Lambda task) root."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "models" / "reference"
DETECTOR = ROOT / "assets" / "models" / "face_detection_full_range.tflite"
