"""Typed errors with stable codes users can match on.

A `ScanError` is about the input: it becomes a verdict with `label: unknown` and the code.
A `ModelError` is about our own artifacts: it is a deployment fault and is raised, never
turned into a verdict.
"""

from __future__ import annotations


class ScannerError(Exception):
    """Base of everything this package raises on purpose."""


class ScanError(ScannerError):
    """The input cannot be judged. Subclasses fix the code."""

    code = "SCAN_FAILED"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyInputError(ScanError):
    """The input has no bytes."""

    code = "EMPTY_INPUT"


class UnsupportedMediaError(ScanError):
    """The bytes are not an image format we decode (sniffed from content, not the name)."""

    code = "UNSUPPORTED_MEDIA"


class UndecodableError(ScanError):
    """The bytes claim a supported format but do not decode (truncated or corrupt)."""

    code = "UNDECODABLE"


class TooLargeError(ScanError):
    """The input is over the configured byte limit."""

    code = "TOO_LARGE"


class TooManyPixelsError(ScanError):
    """The header declares more pixels than the configured limit (checked before decoding)."""

    code = "TOO_MANY_PIXELS"


class UnreadableError(ScanError):
    """The input could not be read from where it was (a local file that vanished, say)."""

    code = "UNREADABLE"


class ModelError(ScannerError):
    """A model or detector file is missing, corrupt, or does not match the code."""

    code = "MODEL_LOAD_FAILED"


ERROR_CODES = {
    cls.code: cls.__doc__ or ""
    for cls in (
        EmptyInputError,
        UnsupportedMediaError,
        UndecodableError,
        TooLargeError,
        TooManyPixelsError,
        UnreadableError,
        ModelError,
    )
}
