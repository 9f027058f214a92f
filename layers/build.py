#!/usr/bin/env python3
"""Build the function's dependency layer for the Lambda Python runtime, per architecture.

    python layers/build.py                      # both architectures into layers/build/
    python layers/build.py --arch x86_64 --out /tmp/layer --max-mb 200

For each architecture this writes `<out>/<arch>/python/...` (Lambda puts /opt/python on
sys.path), the zip `<out>/deepfake-deps-<arch>.zip` and a manifest
`<out>/deepfake-deps-<arch>.json` (versions, sizes, sha256 of the zip).

Wheels only: `pip install --platform ... --only-binary=:all: --python-version 3.12
--implementation cp --target ...`. pip matches platform tags exactly and, given too few, picks
an older release or none, so every manylinux tag the runtime's glibc (AL2023: 2.34) accepts is
passed. What goes in: the serving pins from pyproject.toml's [project] dependencies and
aws-lambda-powertools[tracer] at the `aws` extra's pin. What stays out: boto3, botocore and
s3transfer (the runtime has them) and every dependency that only they need (urllib3,
python-dateutil, six); jmespath stays, Powertools needs it itself. Then the tree is trimmed of
what CPU inference does not use (TRIM_RULES) and debug sections are stripped where that is
checked (see --strip). The script prints unzipped and zipped sizes and the biggest packages, and
exits non-zero when a layer is over --max-mb unzipped (Lambda's limit is 250 MiB for the
function and all its layers together), when a pin was not honoured, or when a check fails.

Check: for the architecture of this machine, the built layer is imported and run by
layers/smoke.py under a Python of the target version started with -S (nothing from any
site-packages), with boto3 supplied from a separate directory the way the runtime supplies it:
LiteRT inference on the reference model and on BlazeFace, and a full Scanner scan of one photo.
Other architectures get a static check: every ELF file is for that machine, every extension is
cp312, the pins hold, and the packages and Python modules are the same as on the checked one.

--compile adds .pyc files made by that Python (unchecked-hash, so unzip mtimes do not matter):
/opt is read-only, so without them every cold start compiles the sources again.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import hashlib
import json
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYPROJECT = ROOT / "pyproject.toml"
DEFAULT_OUT = HERE / "build"
DEFAULT_CACHE = DEFAULT_OUT / ".cache"
SMOKE = HERE / "smoke.py"

MiB = 1 << 20
# Lambda's "250 MB" is 262,144,000 bytes (the error says so), i.e. 250 MiB.
LAMBDA_UNZIPPED_LIMIT_MB = 250.0
LAYER_NAME = "deepfake-deps"
DEFAULT_PYTHON = "3.12"
GLIBC_MAX_MINOR = 34  # Amazon Linux 2023 (python3.12 and newer runtimes): glibc 2.34

ARCHES = ("arm64", "x86_64")  # Lambda's names
MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}  # manylinux / uname names
ELF_MACHINE = {"arm64": 183, "x86_64": 62}  # EM_AARCH64, EM_X86_64
BFD_TARGET = {"arm64": "elf64-littleaarch64", "x86_64": "elf64-x86-64"}
HOST_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}

# Provided by the Lambda Python runtime. Left out together with whatever only they depend on.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
POWERTOOLS = "aws-lambda-powertools"
POWERTOOLS_EXTRAS = ("tracer",)  # aws-xray-sdk (which imports botocore: the runtime's)


# --------------------------------------------------------------------------------------------
# Requirements and platform tags


def normalize(name: str) -> str:
    """PEP 503 name: lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*(.*)$")


@dataclass(frozen=True)
class Requirement:
    name: str
    extras: tuple[str, ...] = ()
    specifier: str = ""  # e.g. "==2.3.0" or ">=2.0,<2.5" (markers, if any, after ';')
    marker: str = ""

    @classmethod
    def parse(cls, text: str) -> Requirement:
        body, _, marker = text.partition(";")
        m = _REQ.match(body)
        if not m:
            raise ValueError(f"cannot parse requirement {text!r}")
        name, extras, spec = m.groups()
        spec = spec.strip().strip("()").replace(" ", "")
        ext = tuple(e.strip() for e in (extras or "").split(",") if e.strip())
        return cls(name, ext, spec, marker.strip())

    @property
    def key(self) -> str:
        return normalize(self.name)

    def with_extras(self, extras: Iterable[str]) -> Requirement:
        merged = tuple(dict.fromkeys((*self.extras, *extras)))
        return Requirement(self.name, merged, self.specifier, self.marker)

    def __str__(self) -> str:
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        marker = f"; {self.marker}" if self.marker else ""
        return f"{self.name}{extras}{self.specifier}{marker}"


def layer_requirements(pyproject: Path = PYPROJECT) -> list[Requirement]:
    """The serving dependencies plus Powertools (with its tracer extra) at the `aws` pin."""
    project = tomllib.loads(pyproject.read_text())["project"]
    reqs = [Requirement.parse(r) for r in project["dependencies"]]
    aws = [Requirement.parse(r) for r in project["optional-dependencies"]["aws"]]
    tools = [r for r in aws if r.key == POWERTOOLS]
    if not tools:
        raise SystemExit(f"{pyproject}: no {POWERTOOLS} in the `aws` extra")
    reqs.append(tools[0].with_extras(POWERTOOLS_EXTRAS))
    if clash := [r for r in reqs if r.key in RUNTIME_PROVIDED]:
        raise SystemExit(f"runtime-provided packages listed as layer roots: {clash}")
    return reqs


def runtime_requirements(pyproject: Path = PYPROJECT) -> list[Requirement]:
    """What the runtime supplies, as the `aws` extra pins it (boto3), for the smoke check."""
    aws = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["aws"]
    return [r for r in map(Requirement.parse, aws) if r.key in RUNTIME_PROVIDED]


def platform_tags(arch: str, glibc_max_minor: int = GLIBC_MAX_MINOR) -> list[str]:
    """Every manylinux tag a runtime with glibc 2.<glibc_max_minor> accepts, newest first.

    pip takes --platform literally (it only adds manylinux2010/1 to manylinux2014_x86_64), so
    a wheel tagged manylinux_2_27 alone is invisible unless manylinux_2_27 is passed. x86_64
    wheels exist from glibc 2.5 (manylinux1), aarch64 ones from 2.17 (manylinux2014).
    """
    machine = MACHINE[arch]
    first = 5 if machine == "x86_64" else 17
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags = []
    for minor in range(glibc_max_minor, first - 1, -1):
        tags.append(f"manylinux_2_{minor}_{machine}")
        if minor in legacy:
            tags.append(f"{legacy[minor]}_{machine}")
    return tags


def pip_target_args(arch: str, python: str) -> list[str]:
    args = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp"]
    for tag in platform_tags(arch):
        args += ["--platform", tag]
    return args


_CMP: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("."):
        m = re.match(r"\d+", piece)
        if not m:
            break
        parts.append(int(m.group()))
        if m.end() != len(piece):  # 2rc1, 0post1: stop at the first non-release piece
            break
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def satisfies(version: str, specifier: str) -> bool:
    """A small check of `version` against `specifier` (release numbers; ==, !=, <, <=, >, >=).

    pip's resolver already enforced the specifiers; this re-checks what landed on disk so a
    silent fallback to another release cannot pass. `==X.*` and `~=` are not used here.
    """
    for clause in filter(None, specifier.replace(" ", "").split(",")):
        m = re.match(r"(==|!=|>=|<=|>|<)(.+)", clause)
        if not m or m.group(2).endswith("*"):
            raise ValueError(f"unsupported specifier clause {clause!r}")
        op, want = m.groups()
        if op in ("==", "!=") and not re.fullmatch(r"[\d.]+", want):
            ok = (version == want) == (op == "==")  # exact string for non-release versions
        else:
            ok = _CMP[op](_release(version), _release(want))
        if not ok:
            return False
    return True


# --------------------------------------------------------------------------------------------
# Resolution: what pip would install, minus what the runtime provides


_EXTRA_MARKER = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")


def layer_closure(
    resolved: dict[str, dict[str, Any]],
    roots: Sequence[Requirement],
    excluded: Iterable[str] = RUNTIME_PROVIDED,
) -> set[str]:
    """Names (normalized) in `resolved` reachable from `roots` without passing an excluded one.

    `resolved` maps a normalized name to pip's report metadata for it (`requires_dist`).
    Edges with `extra == "x"` markers count only when extra x is requested; other markers are
    taken as true (pip already dropped what does not apply, so an edge to a package it did not
    resolve leads nowhere). Over-approximating keeps a package, it never drops a needed one.
    """
    skip = {normalize(n) for n in excluded}
    wanted: dict[str, set[str]] = {}
    stack = [(r.key, set(map(normalize, r.extras))) for r in roots]
    while stack:
        name, extras = stack.pop()
        if name in skip or name not in resolved:
            continue
        seen = wanted.get(name)
        if seen is not None and extras <= seen:
            continue
        wanted[name] = (seen or set()) | extras
        for dep in resolved[name].get("requires_dist") or ():
            req = Requirement.parse(dep)
            needs = {normalize(e) for e in _EXTRA_MARKER.findall(req.marker)}
            if needs and not needs & wanted[name]:
                continue
            stack.append((req.key, set(map(normalize, req.extras))))
    return set(wanted)


def run(cmd: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=True, text=True, **kw)


MIN_PIP = (22, 2)  # pip install --report


def pip_version() -> tuple[int, ...]:
    """The version of the pip this script drives (sys.executable -m pip); () without one."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, text=True, check=False
    )
    m = re.match(r"pip (\d+)\.(\d+)", proc.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else ()


def pip_base(cache_dir: Path, verbose: bool) -> list[str]:
    base = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    base += ["--cache-dir", str(cache_dir)]
    return base if verbose else [*base, "--quiet"]


def resolve(
    arch: str, python: str, reqs: Sequence[Requirement], cache_dir: Path, verbose: bool
) -> dict[str, dict[str, Any]]:
    """pip's full resolution for the target (nothing installed): normalized name -> metadata."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [*pip_base(cache_dir, verbose), "install", "--dry-run", "--ignore-installed"]
        cmd += ["--target", str(Path(tmp) / "unused")]  # pip < 24 wants it even for --dry-run
        cmd += [*pip_target_args(arch, python), "--report", str(report), *map(str, reqs)]
        run(cmd)
        data = json.loads(report.read_text())
    return {normalize(item["metadata"]["name"]): item["metadata"] for item in data["install"]}


def pip_install(
    arch: str, python: str, specs: Sequence[str], target: Path, cache_dir: Path, verbose: bool
) -> None:
    cmd = [*pip_base(cache_dir, verbose), "install", "--no-deps", "--no-compile", "--target"]
    cmd += [str(target), *pip_target_args(arch, python), *specs]
    run(cmd)


# --------------------------------------------------------------------------------------------
# What is on disk


def iter_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.is_file() and not path.is_symlink():
                yield path


def tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in iter_files(root))


def installed_dists(site: Path) -> dict[str, tuple[str, str, Path]]:
    """normalized name -> (name, version, dist-info dir) for each dist-info under `site`."""
    dists = {}
    for info in sorted(site.glob("*.dist-info")):
        meta: dict[str, str] = {}
        for line in (info / "METADATA").read_text(errors="replace").splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            meta.setdefault(key.strip().lower(), value.strip())
        dists[normalize(meta["name"])] = (meta["name"], meta["version"], info)
    return dists


def size_by_dist(site: Path) -> dict[str, int]:
    """Bytes on disk per distribution (by its RECORD); files nobody owns go under '(other)'."""
    owner: dict[Path, str] = {}
    for _key, (name, _version, info) in installed_dists(site).items():
        record = info / "RECORD"
        if not record.exists():
            continue
        with record.open(newline="") as fh:
            for row in csv.reader(fh):
                if row:
                    owner[(site / row[0]).resolve()] = name
    sizes: dict[str, int] = {}
    for path in iter_files(site):
        who = owner.get(path.resolve(), "(other)")
        sizes[who] = sizes.get(who, 0) + path.stat().st_size
    return sizes


def elf_header(path: Path) -> tuple[int, int] | None:
    """(ELF class, e_machine) of an ELF file, None for anything else."""
    with path.open("rb") as fh:
        head = fh.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    order = "<" if head[5] == 1 else ">"
    return head[4], struct.unpack(order + "H", head[18:20])[0]


def elf_section_names(path: Path) -> list[str]:
    """Section names of a little-endian ELF64 file (both Lambda architectures)."""
    with path.open("rb") as fh:
        head = fh.read(64)
        if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return []
        shoff = struct.unpack_from("<Q", head, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", head, 0x3A)
        if not shoff or not shnum or shstrndx >= shnum:
            return []
        fh.seek(shoff)
        table = fh.read(shentsize * shnum)
        headers = [
            (
                struct.unpack_from("<I", table, i * shentsize)[0],
                *struct.unpack_from("<QQ", table, i * shentsize + 0x18),
            )
            for i in range(shnum)
        ]
        _, str_off, str_size = headers[shstrndx]
        fh.seek(str_off)
        strtab = fh.read(str_size)
    return [strtab[n : strtab.find(b"\0", n)].decode(errors="replace") for n, _, _ in headers]


def elf_files(root: Path) -> Iterator[tuple[Path, int, int]]:
    for path in iter_files(root):
        header = elf_header(path)
        if header:
            yield path, *header


# --------------------------------------------------------------------------------------------
# Trimming


@dataclass(frozen=True)
class TrimRule:
    """Paths (relative to python/, '/'-separated; fnmatch, where * also crosses '/') to drop."""

    reason: str
    dirs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()


TRIM_RULES: tuple[TrimRule, ...] = (
    TrimRule(
        "bytecode caches (pip runs with --no-compile; /opt is read-only, never used)",
        dirs=("__pycache__", "*/__pycache__"),
        files=("*.pyc", "*.pyo"),
    ),
    TrimRule("console scripts (f2py, tqdm, litert-benchmark: not on Lambda's PATH)", dirs=("bin",)),
    TrimRule("test suites (numpy's, mostly)", dirs=("tests", "*/tests")),
    TrimRule("type stubs (read by type checkers, never imported)", files=("*.pyi",)),
    TrimRule(
        "LiteRT GPU accelerators (WebGPU/OpenCL/Vulkan; loaded only when a GPU is asked for)",
        files=("ai_edge_litert/libLiteRt*Accelerator.so",),
    ),
    TrimRule(
        "LiteRT tools, NPU vendor plugins and ahead-of-time NPU compilation",
        dirs=("ai_edge_litert/tools", "ai_edge_litert/vendors", "ai_edge_litert/aot"),
    ),
    TrimRule(
        "OpenCV Haar cascades (the scanner detects faces with BlazeFace; cv2.data stays)",
        files=("cv2/data/*.xml",),
    ),
)


@dataclass
class TrimResult:
    removed: dict[str, list[str]] = field(default_factory=dict)  # reason -> paths
    bytes: dict[str, int] = field(default_factory=dict)  # reason -> bytes

    def add(self, rule: TrimRule, rel: str, size: int) -> None:
        self.removed.setdefault(rule.reason, []).append(rel)
        self.bytes[rule.reason] = self.bytes.get(rule.reason, 0) + size

    @property
    def total(self) -> int:
        return sum(self.bytes.values())


def _matches(rel: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) for p in patterns)


def trim(site: Path, rules: Sequence[TrimRule] = TRIM_RULES) -> TrimResult:
    result = TrimResult()
    for dirpath, dirnames, filenames in os.walk(site, topdown=True):
        here = Path(dirpath)
        for name in sorted(dirnames):
            path = here / name
            rel = path.relative_to(site).as_posix()
            rule = next((r for r in rules if _matches(rel, r.dirs)), None)
            if rule and not path.is_symlink():
                result.add(rule, rel + "/", tree_size(path))
                shutil.rmtree(path)
                dirnames.remove(name)
        for name in sorted(filenames):
            path = here / name
            rel = path.relative_to(site).as_posix()
            rule = next((r for r in rules if _matches(rel, r.files)), None)
            if rule:
                result.add(rule, rel, path.lstat().st_size)
                path.unlink()
    return result


# --------------------------------------------------------------------------------------------
# Stripping debug sections


def find_strip(arch: str) -> str | None:
    """A strip that knows the target machine: GNU strip must list its BFD target by name (the
    generic elf64-little it falls back to is not good enough); llvm-strip handles every ELF."""
    for name in (f"{MACHINE[arch]}-linux-gnu-strip", "strip", "llvm-strip"):
        exe = shutil.which(name)
        if not exe:
            continue
        proc = subprocess.run([exe, "--help"], capture_output=True, text=True)
        text = proc.stdout + proc.stderr
        if "supported targets:" in text:
            if BFD_TARGET[arch] in text.split("supported targets:", 1)[1].split():
                return exe
        elif "llvm-strip" in text or "llvm-objcopy" in text:
            return exe
    return None


def strip_debug(site: Path, arch: str, strip: str) -> tuple[int, int]:
    """`strip --strip-debug` every ELF file for `arch` that has .debug_* sections.

    Files without debug sections are left byte-for-byte alone: many were rewritten by
    auditwheel's patchelf, and rewriting them again gains nothing. Returns (files, bytes saved).
    """
    count = saved = 0
    for path, _cls, machine in list(elf_files(site)):
        if machine != ELF_MACHINE[arch]:
            continue
        if not any(s.startswith((".debug_", ".zdebug_")) for s in elf_section_names(path)):
            continue
        before = path.stat().st_size
        run([strip, "--strip-debug", str(path)])
        header = elf_header(path)
        if not header or header[1] != ELF_MACHINE[arch]:
            raise SystemExit(f"{strip} broke {path}")
        count += 1
        saved += before - path.stat().st_size
    return count, saved


# --------------------------------------------------------------------------------------------
# Verification, zip, check


def verify_packages(site: Path, reqs: Sequence[Requirement], expected: dict[str, str]) -> list[str]:
    """The installed dists are exactly the resolved ones, and the pyproject pins hold."""
    problems = []
    got = {k: v for k, (_n, v, _i) in installed_dists(site).items()}
    if got != expected:
        problems.append(f"installed {got} != resolved {expected}")
    for req in reqs:
        version = got.get(req.key)
        if version is None:
            problems.append(f"{req.name} is not installed")
        elif req.specifier and not satisfies(version, req.specifier):
            problems.append(f"{req.name} {version} does not satisfy {req.specifier}")
    if leaked := sorted(set(got) & RUNTIME_PROVIDED):
        problems.append(f"runtime-provided packages in the layer: {leaked}")
    return problems


def verify_binaries(site: Path, arch: str, python: str) -> list[str]:
    """Every ELF file is 64-bit for `arch`; every versioned extension is for `python`."""
    problems = []
    tag = "cpython-" + python.replace(".", "")
    elves = 0
    for path, cls, machine in elf_files(site):
        elves += 1
        rel = path.relative_to(site)
        if cls != 2 or machine != ELF_MACHINE[arch]:
            problems.append(f"{rel}: ELF class {cls} machine {machine}, not {arch}")
        m = re.search(r"\.(cpython-\d+)", path.name)
        if m and m.group(1) != tag:
            problems.append(f"{rel}: built for {m.group(1)}, not {tag}")
    if not elves:
        problems.append("no ELF files at all")
    return problems


def make_zip(layer_dir: Path, zip_path: Path) -> None:
    """Zip `layer_dir`'s contents (python/...) reproducibly: sorted, fixed timestamps."""
    tmp = zip_path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in iter_files(layer_dir):
            info = zipfile.ZipInfo(path.relative_to(layer_dir).as_posix(), (1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | (path.stat().st_mode & 0o777)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with path.open("rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    tmp.replace(zip_path)


def sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _python_version_of(exe: str) -> str | None:
    try:
        proc = subprocess.run(
            [exe, "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def find_python(version: str) -> str | None:
    """An interpreter of exactly `version`: pythonX.Y on PATH, then pyenv's, then the usual."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = os.environ.get("PYENV_ROOT")
    if not pyenv_root and shutil.which("pyenv"):
        proc = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        pyenv_root = proc.stdout.strip() if proc.returncode == 0 else None
    roots = [Path(pyenv_root)] if pyenv_root else []
    roots.append(Path.home() / ".pyenv")
    for root in roots:
        found = sorted((root / "versions").glob(f"{version}.*/bin/python{version}"), reverse=True)
        candidates += [str(p) for p in found]
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for exe in filter(None, candidates):
        if Path(exe).exists() and _python_version_of(exe) == version:
            return exe
    return None


def runtime_stand_in(arch: str, python: str, cache_dir: Path, verbose: bool) -> Path:
    """boto3 and its dependencies in a directory of their own: what the runtime provides."""
    specs = sorted(str(r) for r in runtime_requirements()) or ["boto3"]
    target = cache_dir / f"lambda-runtime-python{python}"
    stamp = target / ".specs"
    if stamp.exists() and stamp.read_text() == "\n".join(specs):
        return target
    shutil.rmtree(target, ignore_errors=True)
    cmd = [*pip_base(cache_dir / "pip", verbose), "install", "--no-compile", "--target"]
    run([*cmd, str(target), *pip_target_args(arch, python), *specs])
    stamp.write_text("\n".join(specs))
    return target


def smoke_check(
    site: Path, interpreter: str, runtime: Path, project: Path = ROOT
) -> dict[str, Any]:
    """Run layers/smoke.py under `interpreter -S` with the layer on PYTHONPATH, as on Lambda:
    function code first, then /opt/python, then the runtime's boto3. Returns its JSON report."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join([str(project), str(site), str(runtime)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep the tree identical to the zip
    env["PYTHONNOUSERSITE"] = "1"
    cmd = [interpreter, "-S", str(SMOKE), "--layer", str(site), "--runtime", str(runtime)]
    cmd += ["--project", str(project)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"smoke check failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compile_bytecode(site: Path, interpreter: str) -> list[str]:
    """Byte-compile the layer with the runtime's Python (opt-in, --compile).

    /opt is read-only on Lambda, so without .pyc files every cold start compiles the sources
    again. unchecked-hash pycs stay valid whatever mtimes the unzipped files get.
    """
    cmd = [interpreter, "-S", "-m", "compileall", "-q", "-j0"]
    cmd += ["--invalidation-mode", "unchecked-hash", str(site)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return [] if proc.returncode == 0 else [f"compileall failed: {proc.stdout}{proc.stderr}"]


# --------------------------------------------------------------------------------------------
# Building one architecture


@dataclass
class LayerResult:
    arch: str
    python: str
    packages: dict[str, str]  # name -> version
    left_out: dict[str, str]  # name -> version: resolved but supplied by the runtime
    installed_bytes: int
    trim: TrimResult
    stripped_files: int
    stripped_bytes: int
    strip_note: str
    unzipped_bytes: int
    zipped_bytes: int
    by_package: dict[str, int]
    zip_path: Path
    zip_sha256: str
    seconds: dict[str, float]
    problems: list[str]
    modules: set[str] = field(default_factory=set)  # *.py paths, to compare architectures
    check: dict[str, Any] | None = None
    check_note: str = ""

    def manifest(self) -> dict[str, Any]:
        return {
            "layer": LAYER_NAME,
            "runtime": f"python{self.python}",
            "architecture": self.arch,
            "packages": self.packages,
            "left_out_runtime_provided": self.left_out,
            "bytes": {
                "installed": self.installed_bytes,
                "trimmed": self.trim.total,
                "stripped": self.stripped_bytes,
                "unzipped": self.unzipped_bytes,
                "zipped": self.zipped_bytes,
            },
            "trim": {k: len(v) for k, v in self.trim.removed.items()},
            "by_package": dict(sorted(self.by_package.items(), key=lambda kv: -kv[1])),
            "zip": self.zip_path.name,
            "zip_sha256": self.zip_sha256,
            "check": self.check,
            "check_note": self.check_note,
            "seconds": self.seconds,
            "problems": self.problems,
        }


def build_arch(
    arch: str,
    out: Path,
    python: str = DEFAULT_PYTHON,
    cache_dir: Path = DEFAULT_CACHE,
    strip: bool = True,
    verbose: bool = False,
    no_strip_reason: str = "--strip none",
    compile_with: str | None = None,
) -> LayerResult:
    reqs = layer_requirements()
    layer_dir = out / arch
    site = layer_dir / "python"
    zip_path = out / f"{LAYER_NAME}-{arch}.zip"
    shutil.rmtree(layer_dir, ignore_errors=True)
    zip_path.unlink(missing_ok=True)
    site.mkdir(parents=True)
    pip_cache = cache_dir / "pip"
    seconds: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        seconds[name] = round(now - t, 1)
        t = now

    resolved = resolve(arch, python, reqs, pip_cache, verbose)
    keep = layer_closure(resolved, reqs)
    versions = {k: m["version"] for k, m in resolved.items()}
    left_out = {resolved[k]["name"]: versions[k] for k in sorted(set(resolved) - keep)}
    lap("resolve")
    specs = sorted(f"{resolved[k]['name']}=={versions[k]}" for k in keep)
    pip_install(arch, python, specs, site, pip_cache, verbose)
    lap("install")
    installed = tree_size(site)
    problems = verify_packages(site, reqs, {k: versions[k] for k in keep})
    trimmed = trim(site)
    lap("trim")
    stripped_files = stripped_bytes = 0
    tool = find_strip(arch) if strip else None
    if not strip:
        strip_note = f"not stripped: {no_strip_reason}"
    elif tool is None:
        strip_note = f"not stripped: no strip tool here knows {BFD_TARGET[arch]}"
    else:
        stripped_files, stripped_bytes = strip_debug(site, arch, tool)
        strip_note = f"{Path(tool).name} --strip-debug on {stripped_files} files"
    lap("strip")
    problems += verify_binaries(site, arch, python)
    if compile_with:
        problems += compile_bytecode(site, compile_with)
        lap("compile")
    packages = {n: v for _k, (n, v, _i) in sorted(installed_dists(site).items())}
    by_package = size_by_dist(site)
    unzipped = tree_size(site)
    modules = {p.relative_to(site).as_posix() for p in site.rglob("*.py")}
    make_zip(layer_dir, zip_path)
    lap("zip")
    return LayerResult(
        arch=arch,
        python=python,
        packages=packages,
        left_out=left_out,
        installed_bytes=installed,
        trim=trimmed,
        stripped_files=stripped_files,
        stripped_bytes=stripped_bytes,
        strip_note=strip_note,
        unzipped_bytes=unzipped,
        zipped_bytes=zip_path.stat().st_size,
        by_package=by_package,
        zip_path=zip_path,
        zip_sha256=sha256(zip_path),
        seconds=seconds,
        problems=problems,
        modules=modules,
    )


# --------------------------------------------------------------------------------------------
# Report


def over_limit(unzipped_bytes: int, max_mb: float) -> bool:
    return unzipped_bytes > max_mb * MiB


def mb(n: int) -> str:
    return f"{n / MiB:.1f}"


def report(results: Sequence[LayerResult], max_mb: float, top: int = 8) -> str:
    cols = [r.arch for r in results]
    rows: list[tuple[str, list[str]]] = [
        ("installed, untrimmed (MiB)", [mb(r.installed_bytes) for r in results]),
        ("trimmed away (MiB)", [mb(r.trim.total) for r in results]),
        ("stripped away (MiB)", [mb(r.stripped_bytes) for r in results]),
        ("unzipped (MiB)", [mb(r.unzipped_bytes) for r in results]),
        ("zipped (MiB)", [mb(r.zipped_bytes) for r in results]),
        (
            f"headroom to {max_mb:g} MiB",
            [mb(int(max_mb * MiB) - r.unzipped_bytes) for r in results],
        ),
        ("build time (s)", [f"{sum(r.seconds.values()):.0f}" for r in results]),
    ]
    width = max(len(label) for label, _ in rows) + 2
    lines = [
        f"{LAYER_NAME} layer, python{results[0].python}".ljust(width)
        + "".join(f"{c:>12}" for c in cols)
    ]
    lines += [label.ljust(width) + "".join(f"{v:>12}" for v in vals) for label, vals in rows]
    for r in results:
        lines.append("")
        lines.append(f"{r.arch}: biggest packages (MiB, unzipped, after trimming)")
        for name, size in sorted(r.by_package.items(), key=lambda kv: -kv[1])[:top]:
            version = r.packages.get(name, "")
            lines.append(f"  {name:<28}{version:<14}{mb(size):>8}")
        lines.append(f"  left out (the runtime has them): {', '.join(r.left_out) or '-'}")
        lines.append(f"  strip: {r.strip_note}")
        for reason, size in r.trim.bytes.items():
            lines.append(f"  trim {mb(size):>6} MiB  {reason}")
        lines.append(f"  zip: {r.zip_path}  sha256 {r.zip_sha256[:16]}")
    return "\n".join(lines)


def compare_arches(results: Sequence[LayerResult]) -> list[str]:
    """Same packages, versions and Python modules on every architecture: the trims checked by
    running one architecture then left the same modules on the others."""
    problems = []
    base = results[0]
    for other in results[1:]:
        if base.modules != other.modules:
            diff = sorted(base.modules ^ other.modules)
            problems.append(f"{base.arch} and {other.arch} differ in modules: {diff[:10]}")
        if set(base.packages) != set(other.packages):
            odd = sorted(set(base.packages) ^ set(other.packages))
            problems.append(f"{base.arch} and {other.arch} differ in packages: {odd}")
        for name in set(base.packages) & set(other.packages):
            if base.packages[name] != other.packages[name]:
                problems.append(
                    f"{name}: {base.packages[name]} on {base.arch}, "
                    f"{other.packages[name]} on {other.arch}"
                )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=[*ARCHES, "all"], default="all")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: layers/build")
    ap.add_argument("--python", default=DEFAULT_PYTHON, help="runtime Python, X.Y (3.12)")
    ap.add_argument(
        "--max-mb",
        type=float,
        default=LAMBDA_UNZIPPED_LIMIT_MB,
        help="fail above this unzipped size in MiB (Lambda: 250 for all layers "
        "and the function together)",
    )
    ap.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help="pip's cache and the boto3 stand-in live here (layers/build/.cache)",
    )
    ap.add_argument(
        "--strip",
        choices=["auto", "all", "none"],
        default="auto",
        help="strip debug sections: auto = only the architecture that is run-checked "
        "here; all = every architecture a strip tool here knows",
    )
    ap.add_argument("--no-check", action="store_true", help="skip the import+inference check")
    ap.add_argument(
        "--compile",
        action="store_true",
        help="ship .pyc files made by the runtime's Python (faster cold starts, about 10 MiB more)",
    )
    ap.add_argument("--check-python", help="interpreter for the check (default: find pythonX.Y)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show pip's output")
    args = ap.parse_args(argv)
    if not re.fullmatch(r"3\.\d+", args.python):
        ap.error("--python takes X.Y, e.g. 3.12")
    if tuple(map(int, args.python.split("."))) < (3, 12):
        print(
            f"note: python{args.python} runtimes are Amazon Linux 2 (glibc 2.26): LiteRT's "
            "manylinux_2_27 wheels will not load there",
            file=sys.stderr,
        )

    arches = list(ARCHES) if args.arch == "all" else [args.arch]
    host = HOST_ARCH.get(platform.machine().lower())
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    cache_dir: Path = args.cache_dir.resolve()

    if (pip := pip_version()) < MIN_PIP:
        found = ".".join(map(str, pip)) if pip else "no pip"
        print(f"{sys.executable} has {found}; --dry-run --report needs pip >= 22.2")
        return 1

    interpreter = None
    if args.check_python:
        if _python_version_of(args.check_python) != args.python:
            print(f"--check-python {args.check_python} is not Python {args.python}")
            return 1
        interpreter = args.check_python
    elif not args.no_check or args.compile:
        interpreter = find_python(args.python)
    if args.compile and not interpreter:
        print(f"--compile needs a python{args.python} interpreter (--check-python)")
        return 1

    results = []
    for arch in arches:
        checked_here = arch == host and interpreter is not None and not args.no_check
        strip = args.strip == "all" or (args.strip == "auto" and checked_here)
        why_not = "--strip none" if args.strip == "none" else "not run-checked here (--strip all)"
        print(f"building {arch} (python{args.python}) in {out / arch} ...", flush=True)
        try:
            res = build_arch(
                arch,
                out,
                args.python,
                cache_dir,
                strip,
                args.verbose,
                no_strip_reason=why_not,
                compile_with=interpreter if args.compile else None,
            )
        except subprocess.CalledProcessError as exc:
            print(f"FAIL {arch}: {Path(exc.cmd[0]).name} {exc.cmd[1:4]} exited {exc.returncode}")
            return 1
        if checked_here and interpreter:
            t = time.perf_counter()
            try:
                runtime = runtime_stand_in(arch, args.python, cache_dir, args.verbose)
                res.check = smoke_check(out / arch / "python", interpreter, runtime)
                res.check_note = f"ok with {interpreter} -S"
            except (RuntimeError, ValueError, subprocess.SubprocessError) as exc:
                res.problems.append(f"check failed: {exc}")
                res.check_note = "FAILED"
            res.seconds["check"] = round(time.perf_counter() - t, 1)
        elif arch != host:
            res.check_note = (
                f"static only (this machine is {platform.machine()}): ELF machine "
                f"{ELF_MACHINE[arch]} for every binary, cp{args.python.replace('.', '')} "
                "extensions, pins, same modules as the other architecture"
            )
        elif args.no_check:
            res.check_note = "skipped (--no-check)"
        else:
            res.check_note = f"SKIPPED: no python{args.python} interpreter (--check-python)"
        (out / f"{LAYER_NAME}-{arch}.json").write_text(json.dumps(res.manifest(), indent=2) + "\n")
        results.append(res)

    print()
    print(report(results, args.max_mb))
    print()
    problems = compare_arches(results)
    for res in results:
        print(f"check {res.arch}: {res.check_note}")
        if res.check:
            print("  " + json.dumps(res.check.get("summary", res.check)))
        problems += [f"{res.arch}: {p}" for p in res.problems]
        if over_limit(res.unzipped_bytes, args.max_mb):
            problems.append(
                f"{res.arch}: unzipped {mb(res.unzipped_bytes)} MiB is over {args.max_mb:g} MiB"
            )
    for p in problems:
        print(f"FAIL {p}")
    failed = bool(problems)
    if not failed:
        print(f"ok: {', '.join(str(r.zip_path) for r in results)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
