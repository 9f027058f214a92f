"""Loading TFLite files into LiteRT, with their sha256 checked first."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ai_edge_litert.interpreter import Interpreter

from .errors import ModelError


def sha256_file(path: Path) -> str:
    with Path(path).open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def load_interpreter(path: Path, threads: int | None, sha256: str | None = None) -> Interpreter:
    """An allocated interpreter, or ModelError if the file is missing, altered or unloadable."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    if sha256 is not None and (actual := sha256_file(path)) != sha256:
        raise ModelError(f"{path.name}: sha256 {actual} does not match the pinned {sha256}")
    try:
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{path.name} does not load in LiteRT: {exc}") from exc
    return interpreter
