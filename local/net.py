"""Loopback helpers shared by the local stack's processes."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout_s: float = 20.0, proc=None) -> None:
    """Until `url` answers at all (any status), or raise with the reason."""
    end = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before answering")
        try:
            urllib.request.urlopen(url, timeout=1).close()  # nosec B310: our loopback URLs
            return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            last = exc
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in {timeout_s} s: {last}")
