"""Lambda layer tooling (see layers/build.py)."""
