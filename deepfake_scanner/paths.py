"""Default locations, relative to the project (or Lambda task) root, and the one way a folder
of inputs is listed."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "models" / "reference"
DETECTOR = ROOT / "assets" / "models" / "face_detection_full_range.tflite"


def files_under(folder: Path) -> list[Path]:
    """Every file under `folder`, in sorted order, leaving out hidden files and folders (a name
    starting with "."). Linked folders are followed, each real folder once (a link loop ends),
    so a dataset assembled from links is read whole: pathlib's rglob on Python 3.11 lists a
    linked folder but not what is in it."""
    found: list[Path] = []
    seen: set[str] = set()
    for top, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # the first name, always
        found += [Path(top) / f for f in files if not f.startswith(".")]
    return sorted(p for p in found if p.is_file())
