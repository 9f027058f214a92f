"""A model is a folder: model files plus metadata.json describing and pinning them.

metadata.json (written by converter/) carries name, version, each file's sha256, the serving
variant, the input spec, the preprocessing spec, the threshold, and how it was trained and
evaluated. Loading checks the preprocessing spec against this code's and the file's sha256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelError
from .preprocess import SPEC, PreprocessSpec

METADATA = "metadata.json"
SCHEMA = "deepfake-model/1"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    variant: str  # which converted file serves: int8, dynamic, float16, float32
    path: Path
    sha256: str
    threshold: float
    output: str  # logit | probability

    def describe(self) -> dict[str, Any]:
        """What every verdict says about the model that made it."""
        return {
            "name": self.name,
            "version": self.version,
            "variant": self.variant,
            "sha256": self.sha256,
        }


def read_metadata(model_dir: Path) -> dict[str, Any]:
    path = Path(model_dir) / METADATA
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
    if meta.get("schema") != SCHEMA:
        raise ModelError(f"{path}: schema {meta.get('schema')!r} is not {SCHEMA!r}")
    return meta


def resolve(model_dir: Path, variant: str | None = None, spec: PreprocessSpec = SPEC) -> ModelInfo:
    """The TFLite file to serve from a model folder, after checking it matches this code."""
    meta = read_metadata(model_dir)
    spec.check(meta.get("preprocess", {}))
    variant = variant or meta["serving"]
    entry = meta["files"].get(variant)
    if entry is None or not entry["path"].endswith(".tflite"):
        raise ModelError(f"{model_dir}: no TFLite variant {variant!r} in {sorted(meta['files'])}")
    return ModelInfo(
        name=meta["name"],
        version=meta["version"],
        variant=variant,
        path=Path(model_dir) / entry["path"],
        sha256=entry["sha256"],
        threshold=float(meta["threshold"]),
        output=meta["output"]["kind"],
    )
