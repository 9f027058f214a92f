"""layers/build.py: platform tags, pins, what is left out, trim rules, the size gate; and (slow)
a real build whose x86_64 layer is imported and run under Python 3.12 with -S."""

from __future__ import annotations

import json
import platform
import struct
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from layers import build
from layers.build import MiB, Requirement

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------- tags, pins


@pytest.mark.parametrize(("arch", "machine"), [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_platform_tags_cover_every_glibc_up_to_2_34(arch, machine):
    tags = build.platform_tags(arch)
    assert tags[0] == f"manylinux_2_34_{machine}"  # newest first: pip prefers earlier tags
    assert len(tags) == len(set(tags))
    assert all(t.endswith(f"_{machine}") for t in tags)
    for minor in range(17, 35):  # every one: pip matches tags exactly
        assert f"manylinux_2_{minor}_{machine}" in tags
    assert f"manylinux2014_{machine}" in tags
    assert not any(f"manylinux_2_{minor}_" in t for t in tags for minor in (35, 36, 39))


def test_platform_tags_legacy_aliases_per_arch():
    x86 = build.platform_tags("x86_64")
    arm = build.platform_tags("arm64")
    assert {"manylinux1_x86_64", "manylinux2010_x86_64", "manylinux_2_5_x86_64"} <= set(x86)
    assert x86.index("manylinux2014_x86_64") == x86.index("manylinux_2_17_x86_64") + 1
    assert arm[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]  # no aarch64 before
    assert build.platform_tags("x86_64", glibc_max_minor=28)[0] == "manylinux_2_28_x86_64"


def test_pip_args_pin_interpreter_and_binary_only():
    args = build.pip_target_args("arm64", "3.12")
    assert args[:5] == ["--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp"]
    platforms = [args[i + 1] for i, a in enumerate(args) if a == "--platform"]
    assert platforms == build.platform_tags("arm64")


def test_requirements_come_from_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = {r.key: r for r in build.layer_requirements()}
    for text in project["dependencies"]:
        r = Requirement.parse(text)
        assert reqs[r.key].specifier == r.specifier
    pt = next(Requirement.parse(t) for t in project["optional-dependencies"]["aws"] if "power" in t)
    assert reqs["aws-lambda-powertools"].specifier == pt.specifier
    assert "tracer" in reqs["aws-lambda-powertools"].extras
    assert not set(reqs) & build.RUNTIME_PROVIDED
    assert [r.key for r in build.runtime_requirements()] == ["boto3"]


def test_requirements_follow_an_edited_pyproject(tmp_path):
    py = tmp_path / "pyproject.toml"
    py.write_text(
        '[project]\ndependencies = ["ai-edge-litert==9.9.9", "numpy>=2"]\n'
        '[project.optional-dependencies]\naws = ["boto3", "aws-lambda-powertools[parser]==1.2.3"]\n'
    )
    got = [str(r) for r in build.layer_requirements(py)]
    assert got == [
        "ai-edge-litert==9.9.9",
        "numpy>=2",
        "aws-lambda-powertools[parser,tracer]==1.2.3",
    ]
    py.write_text(
        '[project]\ndependencies = []\n[project.optional-dependencies]\naws = ["boto3"]\n'
    )
    with pytest.raises(SystemExit, match="powertools"):
        build.layer_requirements(py)


@pytest.mark.parametrize(
    ("text", "name", "extras", "spec", "marker"),
    [
        ("numpy>=2.0,<2.5", "numpy", (), ">=2.0,<2.5", ""),
        ("jmespath (<2.0.0,>=0.7.1)", "jmespath", (), "<2.0.0,>=0.7.1", ""),
        (
            "aws-xray-sdk<3,>=2.8; extra == 'tracer'",
            "aws-xray-sdk",
            (),
            "<3,>=2.8",
            "extra == 'tracer'",
        ),
        ("foo.bar[x, y] == 1.0", "foo.bar", ("x", "y"), "==1.0", ""),
        ("wrapt", "wrapt", (), "", ""),
    ],
)
def test_requirement_parse(text, name, extras, spec, marker):
    r = Requirement.parse(text)
    assert (r.name, r.extras, r.specifier, r.marker) == (name, extras, spec, marker)


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ("2.4.6", ">=2.0,<2.5", True),
        ("2.5.0", ">=2.0,<2.5", False),
        ("1.26.4", ">=2.0,<2.5", False),
        ("2.3.0", "==2.3.0", True),
        ("1.4.0", "==2.3.0", False),  # the silent fallback with too few platform tags
        ("2.3", "==2.3.0", True),
        ("4.14.0.94", "==4.14.0.94", True),
        ("2.9.0.post0", ">=2.1", True),
        ("1.0", "!=1.0", False),
    ],
)
def test_satisfies(version, spec, ok):
    assert build.satisfies(version, spec) is ok


# ---------------------------------------------------------------------------- what is left out


def _meta(name, *deps):
    return {"name": name, "version": "1", "requires_dist": list(deps) or None}


RESOLVED = {
    build.normalize(m["name"]): m
    for m in [
        _meta("ai-edge-litert", "numpy>=1.23", "tqdm", 'lark; extra == "model-utils"'),
        _meta("numpy"),
        _meta("tqdm", 'colorama; platform_system == "Windows"'),
        _meta(
            "aws-lambda-powertools",
            "jmespath<2,>=1.0.1",
            "typing-extensions>=4.11",
            "aws-xray-sdk<3,>=2.8; extra == 'tracer'",
        ),
        _meta("aws-xray-sdk", "wrapt", "botocore >=1.11.3"),
        _meta("wrapt"),
        _meta("botocore", "jmespath (<2.0.0,>=0.7.1)", "python-dateutil (<3,>=2.1)", "urllib3"),
        _meta("python-dateutil", "six >=1.5"),
        _meta("six"),
        _meta("urllib3"),
        _meta("jmespath"),
        _meta("typing_extensions"),
    ]
}


def test_closure_drops_the_runtime_and_what_only_it_needs():
    roots = [Requirement.parse(r) for r in ("ai-edge-litert", "aws-lambda-powertools[tracer]")]
    keep = build.layer_closure(RESOLVED, roots)
    assert keep == {
        "ai-edge-litert",
        "numpy",
        "tqdm",
        "aws-lambda-powertools",
        "jmespath",  # Powertools needs it itself, not only botocore
        "typing-extensions",
        "aws-xray-sdk",
        "wrapt",
    }
    assert not keep & {"botocore", "python-dateutil", "six", "urllib3"}


def test_closure_follows_extras_only_when_asked():
    keep = build.layer_closure(RESOLVED, [Requirement.parse("aws-lambda-powertools")])
    assert "aws-xray-sdk" not in keep and "wrapt" not in keep
    keep_all = build.layer_closure(RESOLVED, [Requirement.parse("aws-xray-sdk")], excluded=())
    assert {"botocore", "six", "urllib3"} <= keep_all


# ---------------------------------------------------------------------------------- trimming


def _tree(root: Path, files: dict[str, int]) -> None:
    for rel, size in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)


REMOVED = {
    "numpy/__pycache__/__init__.cpython-312.pyc": 10,
    "numpy/_core/tests/test_umath.py": 100,
    "numpy/_core/tests/data/x.csv": 7,
    "numpy/__init__.pyi": 5,
    "stray.pyc": 3,
    "tests/__init__.py": 1,
    "bin/tqdm": 2,
    "cv2/data/haarcascade_frontalface_default.xml": 900,
    "ai_edge_litert/libLiteRtWebGpuAccelerator.so": 1900,
    "ai_edge_litert/libLiteRtOpenClAccelerator.so": 190,
    "ai_edge_litert/tools/apply_plugin_main": 800,
    "ai_edge_litert/vendors/qualcomm/compiler/libLiteRtCompilerPlugin_Qualcomm.so": 95,
    "ai_edge_litert/aot/aot_compile.py": 4,
}
KEPT = {
    "numpy/__init__.py": 1,
    "numpy/testing/__init__.py": 1,  # not a test suite: other packages import it
    "numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so": 50,
    "numpy-2.4.6.dist-info/RECORD": 3,
    "cv2/data/__init__.py": 1,  # cv2.data still imports
    "cv2/cv2.abi3.so": 60,
    "ai_edge_litert/interpreter.py": 4,
    "ai_edge_litert/libLiteRt.so": 77,
    "ai_edge_litert/libpywrap_litert_common.so": 180,
    "ai_edge_litert/tflite/tools.py": 1,
    "mytests/__init__.py": 1,
    "tests.py": 1,
}


def test_trim_rules_on_a_fake_tree(tmp_path):
    _tree(tmp_path, {**REMOVED, **KEPT})
    result = build.trim(tmp_path)
    left = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert left == set(KEPT)
    assert result.total == sum(REMOVED.values())
    removed = [p for paths in result.removed.values() for p in paths]
    assert "numpy/_core/tests/" in removed and "ai_edge_litert/tools/" in removed
    assert not (tmp_path / "numpy" / "__pycache__").exists()
    assert (tmp_path / "ai_edge_litert" / "tflite").is_dir()
    assert build.trim(tmp_path).total == 0  # idempotent


def test_every_trim_rule_has_a_reason_and_a_pattern():
    for rule in build.TRIM_RULES:
        assert rule.reason and (rule.dirs or rule.files)


# ------------------------------------------------------------------------- binaries, sizes, zip


def _fake_elf(path: Path, machine: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + struct.pack("<HH", 3, machine))


def test_verify_binaries_catches_wrong_arch_and_abi(tmp_path):
    _fake_elf(tmp_path / "ok.cpython-312-x86_64-linux-gnu.so", 62)
    assert build.verify_binaries(tmp_path, "x86_64", "3.12") == []
    _fake_elf(tmp_path / "arm.so", 183)
    _fake_elf(tmp_path / "old.cpython-311-x86_64-linux-gnu.so", 62)
    problems = build.verify_binaries(tmp_path, "x86_64", "3.12")
    assert len(problems) == 2
    assert any("arm.so" in p and "183" in p for p in problems)
    assert any("cpython-311" in p for p in problems)
    assert build.verify_binaries(tmp_path / "missing", "arm64", "3.12") == ["no ELF files at all"]


def test_elf_readers_on_a_real_extension_module():
    import numpy._core._multiarray_umath as umath

    so = Path(umath.__file__)
    cls, machine = build.elf_header(so)
    assert cls == 2 and machine in build.ELF_MACHINE.values()
    assert {".text", ".dynsym", ".shstrtab"} <= set(build.elf_section_names(so))
    assert build.elf_header(Path(build.__file__)) is None
    assert build.elf_section_names(Path(build.__file__)) == []


def test_size_gate():
    assert not build.over_limit(250 * MiB, 250)
    assert build.over_limit(250 * MiB + 1, 250)
    assert build.over_limit(101 * MiB, 100)


def _fake_result(tmp_path: Path, arch: str, unzipped: int) -> build.LayerResult:
    zip_path = tmp_path / f"deepfake-deps-{arch}.zip"
    zip_path.write_bytes(b"PK")
    return build.LayerResult(
        arch=arch,
        python="3.12",
        packages={"numpy": "2.4.6"},
        left_out={"botocore": "1"},
        installed_bytes=unzipped + MiB,
        trim=build.TrimResult(),
        stripped_files=0,
        stripped_bytes=0,
        strip_note="-",
        unzipped_bytes=unzipped,
        zipped_bytes=unzipped // 3,
        by_package={"numpy": unzipped},
        zip_path=zip_path,
        zip_sha256="0" * 64,
        seconds={"install": 1.0},
        problems=[],
        modules={"numpy/__init__.py"},
    )


@pytest.mark.parametrize(("max_mb", "code"), [("250", 1), ("400", 0)])
def test_main_fails_above_the_limit(tmp_path, monkeypatch, capsys, max_mb, code):
    monkeypatch.setattr(
        build, "build_arch", lambda arch, out, *a, **k: _fake_result(out, arch, 300 * MiB)
    )
    argv = ["--arch", "all", "--out", str(tmp_path), "--no-check", "--max-mb", max_mb]
    assert build.main(argv) == code
    out = capsys.readouterr().out
    assert "unzipped (MiB)" in out and "300.0" in out and "zipped (MiB)" in out
    assert ("is over 250 MiB" in out) == (code == 1)
    manifest = json.loads((tmp_path / "deepfake-deps-arm64.json").read_text())
    assert manifest["bytes"]["unzipped"] == 300 * MiB


def test_architectures_must_agree(tmp_path):
    a, b = _fake_result(tmp_path, "x86_64", MiB), _fake_result(tmp_path, "arm64", MiB)
    assert build.compare_arches([a, b]) == []
    b.packages = {"numpy": "2.4.5", "extra": "1"}
    b.modules = {"numpy/__init__.py", "numpy/other.py"}
    problems = build.compare_arches([a, b])
    assert len(problems) == 3


def test_zip_is_reproducible_and_rooted_at_python(tmp_path):
    _tree(tmp_path / "layer" / "python", {"pkg/__init__.py": 3, "pkg/lib.so": 10})
    one, two = tmp_path / "1.zip", tmp_path / "2.zip"
    build.make_zip(tmp_path / "layer", one)
    build.make_zip(tmp_path / "layer", two)
    assert build.sha256(one) == build.sha256(two)
    with zipfile.ZipFile(one) as zf:
        assert zf.namelist() == ["python/pkg/__init__.py", "python/pkg/lib.so"]
        assert zf.testzip() is None


# ------------------------------------------------------------------------------ a real build


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Both layers, built by the script as a user runs it (pip's cache: layers/build/.cache)."""
    py312 = build.find_python("3.12")
    if py312 is None:
        pytest.skip("no python3.12 interpreter here (PATH or pyenv): the layer cannot be run")
    out = tmp_path_factory.mktemp("layer")
    cmd = [sys.executable, str(ROOT / "layers" / "build.py"), "--out", str(out)]
    cmd += ["--check-python", py312]  # named, so a failed check fails the build
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc.stdout


@pytest.mark.slow
def test_x86_64_layer_imports_and_infers_under_python312(built, scanner):
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip(f"the x86_64 layer cannot run on {platform.machine()}")
    out, stdout = built
    manifest = json.loads((out / "deepfake-deps-x86_64.json").read_text())
    check = manifest["check"]
    assert check is not None, stdout
    assert check["python"].startswith("3.12.")
    assert check["ffmpeg"] is True
    if (ROOT / "assets").is_dir():  # make setup fetched videos: one frame decodes via FFmpeg
        assert check["video"] is not None and check["video"]["frame"][2] == 3
    assert check["seed_cnn"]["outputs"] and check["blazeface"]["input"] == [1, 192, 192, 3]
    assert check["powertools"]["http"] == 200 and check["powertools"]["s3_key"] == "a b.jpg"
    # the same photo, the same model, this environment's LiteRT: the same score
    scan = check["scan"]
    here = scanner.scan_file(ROOT / scan["image"])
    assert scan["faces"] == len(here.faces) and abs(scan["score"] - here.score) < 1e-3
    assert manifest["bytes"]["unzipped"] < 250 * MiB
    assert "unzipped (MiB)" in stdout and "zipped (MiB)" in stdout


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_layer_zip_contents(built, arch):
    out, _ = built
    manifest = json.loads((out / f"deepfake-deps-{arch}.json").read_text())
    pins = {r.key: r for r in build.layer_requirements()}
    packages = {build.normalize(k): v for k, v in manifest["packages"].items()}
    for key, req in pins.items():
        assert build.satisfies(packages[key], req.specifier), (key, packages[key])
    assert not set(packages) & {"boto3", "botocore", "s3transfer", "urllib3", "six"}
    assert {"jmespath", "aws-xray-sdk", "wrapt"} <= set(packages)
    with zipfile.ZipFile(out / f"deepfake-deps-{arch}.zip") as zf:
        names = zf.namelist()
        unzipped = sum(i.file_size for i in zf.infolist())
    assert all(n.startswith("python/") for n in names)
    assert unzipped == manifest["bytes"]["unzipped"]
    assert "python/ai_edge_litert/interpreter.py" in names
    assert "python/cv2/__init__.py" in names
    banned = ("__pycache__", ".pyc", "/tests/", "WebGpu", "ai_edge_litert/tools/")
    assert not [n for n in names if any(b in n for b in banned)]
    runtime = ("python/boto3/", "python/botocore/", "python/s3transfer/", "python/urllib3/")
    assert not [n for n in names if n.startswith(runtime)]
    site = out / arch / "python"
    machines = {m for _p, _c, m in build.elf_files(site)}
    assert machines == {build.ELF_MACHINE[arch]}
    assert len(list(site.rglob("*.so*"))) > 20
