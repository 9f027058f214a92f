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
    """The bytes are not an image or video format we decode (sniffed from content, not the name)."""

    code = "UNSUPPORTED_MEDIA"


class UndecodableError(ScanError):
    """The bytes claim a supported format but do not decode (truncated or corrupt): for a video,
    a container that does not open or whose sampled frames all fail to decode."""

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


class NoVideoStreamError(ScanError):
    """A video container without a video track (an audio-only MP4 or M4A, say)."""

    code = "NO_VIDEO_STREAM"


class ZeroFramesError(ScanError):
    """The video track holds no frames."""

    code = "ZERO_FRAMES"


class UnsupportedCodecError(ScanError):
    """The container opens but its video codec is not one this build of OpenCV decodes."""

    code = "UNSUPPORTED_CODEC"


class VideoTooLongError(ScanError):
    """The video is longer than the duration limit (read from its header, before decoding)."""

    code = "VIDEO_TOO_LONG"


class OutOfTimeError(ScanError):
    """The time budget (the caller's deadline) ran out before one video frame was judged."""

    code = "OUT_OF_TIME"


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
        NoVideoStreamError,
        ZeroFramesError,
        UnsupportedCodecError,
        VideoTooLongError,
        OutOfTimeError,
        ModelError,
    )
}
