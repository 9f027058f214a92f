"""The built function (`sam build` output) under the real Lambda runtime interface.

AWS's runtime interface emulator (shipped inside the aws-sam-cli wheel) runs `awslambdaric`
with the function's code as task root and the dependency layer where Lambda mounts it
(/opt/python, here the layer's build folder on PYTHONPATH), under Python 3.12 like the
template's runtime. Both addresses are bound to 127.0.0.1. No Docker.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from .net import HOST, free_port, wait_http

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".aws-sam" / "build"
SAM_VENV = ROOT / ".venv-sam"
FUNCTION_VENV = ROOT / ".venv-fn"  # python3.12 + awslambdaric + boto3, as the runtime has
ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
LAYER = {"x86_64": "DepsLayerX86", "arm64": "DepsLayerArm64"}
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


def rie_binary() -> Path:
    arch = ARCH[platform.machine().lower()]
    found = list(
        SAM_VENV.glob(f"lib/python3*/site-packages/samcli/local/rapid/aws-lambda-rie-{arch}")
    )
    if not found:
        raise FileNotFoundError(f"aws-lambda-rie-{arch} not found in {SAM_VENV}: run `make sam`")
    found[0].chmod(0o755)
    return found[0]


def function_python() -> Path:
    python = FUNCTION_VENV / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"{python} missing: run `make sam` (it makes the 3.12 venv)")
    return python


def built(build: Path = BUILD) -> tuple[Path, Path]:
    """(task root, layer python folder) of this machine's architecture in a `sam build`."""
    arch = ARCH[platform.machine().lower()]
    task_root, layer = build / "ScannerFunction", build / LAYER[arch] / "python"
    for p in (task_root / "handler.py", layer):
        if not p.exists():
            raise FileNotFoundError(f"{p} missing: run `make build` (sam build) first")
    return task_root, layer


class Emulator:
    """One function instance: the emulator process and its runtime. Invocations are serial,
    one at a time, like one Lambda execution environment."""

    def __init__(
        self,
        env: dict[str, str],
        timeout_s: int = 120,
        memory_mb: int = 1024,
        log: Path | None = None,
        build: Path = BUILD,
    ) -> None:
        self.env, self.timeout_s, self.memory_mb, self.log = env, timeout_s, memory_mb, log
        self.task_root, self.layer = built(build)
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}{INVOKE_PATH}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Emulator:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(self.task_root),
            "PYTHONPATH": f"{self.task_root}:{self.layer}",
            "AWS_LAMBDA_FUNCTION_NAME": "deepfake-scanner",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.timeout_s),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            **self.env,
        }
        api_port = free_port()
        cmd = [
            str(rie_binary()),
            "--runtime-interface-emulator-address",
            f"{HOST}:{self.port}",
            "--runtime-api-address",
            f"{HOST}:{api_port}",
            str(function_python()),
            "-m",
            "awslambdaric",
            "handler.lambda_handler",
        ]
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(  # its own process group: stop/kill reach the runtime too
            cmd, cwd=self.task_root, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_http(f"http://{HOST}:{self.port}/", proc=self.proc)
        return self

    def invoke(self, event: dict[str, Any], timeout_s: float | None = None) -> Any:
        """Invoke and return the function's response (an error response is a dict with
        errorType/errorMessage, as Lambda returns it)."""
        req = urllib.request.Request(
            self.url, data=json.dumps(event).encode(), headers={"Content-Type": "application/json"}
        )
        # the URL is the emulator on 127.0.0.1, built above (bandit B310)
        with urllib.request.urlopen(req, timeout=timeout_s or self.timeout_s + 10) as r:  # nosec B310
            return json.loads(r.read() or b"null")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the emulator and the runtime: a crash, mid-invocation if one is running."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sam() -> str:
    return shutil.which("sam", path=str(SAM_VENV / "bin")) or "sam"
