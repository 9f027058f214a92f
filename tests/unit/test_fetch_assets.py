"""The asset fetcher's archive readers: wheels, tarballs and Debian packages, in one pass."""

from __future__ import annotations

import importlib.util
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("fetch_assets", ROOT / "tools" / "fetch_assets.py")
assert spec and spec.loader
fetch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fetch)

FILES = {"./usr/share/demo/a.jpg": b"first", "./usr/share/demo/b.avi": b"second" * 100}


def tar_bytes(files: dict[str, bytes], mode: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def ar_member(name: str, data: bytes) -> bytes:
    header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
    return header + data + (b"\n" if len(data) % 2 else b"")


def make_deb(path: Path, files: dict[str, bytes]) -> Path:
    """A Debian package as dpkg-deb writes one: debian-binary, control.tar.xz, data.tar.xz
    (odd-sized members padded to even offsets, which the reader must skip correctly)."""
    control = tar_bytes({"./control": b"Package: demo\n"}, "w:xz")
    path.write_bytes(
        b"!<arch>\n"
        + ar_member("debian-binary", b"2.0\n")
        + ar_member("control.tar.xz", control + b"x" * (1 - len(control) % 2))
        + ar_member("data.tar.xz", tar_bytes(files, "w:xz"))
    )
    return path


def entry(files: dict[str, str]) -> dict:
    return {"spec": "demo=1.0", "files": files}


@pytest.fixture
def assets(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "ASSETS", tmp_path / "assets")
    return tmp_path / "assets"


def test_debian_package_members_are_read_in_one_pass(tmp_path, assets):
    deb = make_deb(tmp_path / "demo_1.0_all.deb", FILES)
    got = {name: read() for name, read in fetch.iter_members(deb)}
    assert got == FILES
    n = fetch.extract(entry({"./usr/share/demo/*": "faces/train/demo/"}), deb)
    assert n == 2
    assert (assets / "faces/train/demo/b.avi").read_bytes() == FILES["./usr/share/demo/b.avi"]


@pytest.mark.parametrize("kind", ["whl", "tgz"])
def test_wheels_and_tarballs_extract_the_named_files(tmp_path, assets, kind):
    archive = tmp_path / f"demo.{kind}"
    if kind == "whl":
        with zipfile.ZipFile(archive, "w") as z:
            for name, data in FILES.items():
                z.writestr(name.lstrip("./"), data)
        pattern = "usr/share/demo/a.jpg"
    else:
        archive.write_bytes(tar_bytes(FILES, "w:gz"))
        pattern = "./usr/share/demo/a.jpg"
    assert fetch.extract(entry({pattern: "faces/x/"}), archive) == 1
    assert (assets / "faces/x/a.jpg").read_bytes() == b"first"


def test_a_pattern_that_matches_nothing_stops_the_fetch(tmp_path, assets):
    deb = make_deb(tmp_path / "demo_1.0_all.deb", FILES)
    with pytest.raises(SystemExit, match=r"missing\.jpg"):
        fetch.extract(entry({"./usr/share/demo/missing.jpg": "faces/x/"}), deb)


def test_a_whole_fetch_removes_face_files_no_entry_places(tmp_path, assets, monkeypatch):
    """Photos of an entry taken out of the manifest would otherwise stay in the folders that
    training and evaluation read whole."""
    deb = make_deb(tmp_path / "demo_1.0_all.deb", FILES)
    manifest = tmp_path / "assets.json"
    manifest.write_text(
        '{"_comment": "", "demo": {"spec": "demo=1.0", "group": "train",'
        ' "files": {"./usr/share/demo/a.jpg": "faces/train/demo/"}}}'
    )
    monkeypatch.setattr(fetch, "MANIFEST", manifest)
    monkeypatch.setattr(fetch, "download", lambda entry: deb)
    stale = assets / "faces/train/gone/old.jpg"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"stale")
    (assets / "models").mkdir()
    (assets / "models/keep.tflite").write_bytes(b"model")
    assert fetch.main(["--group", "train"]) == 0  # a partial fetch leaves others' files alone
    assert stale.exists()
    assert fetch.main([]) == 0
    assert not stale.exists() and not stale.parent.exists()
    assert (assets / "faces/train/demo/a.jpg").exists() and (assets / "models/keep.tflite").exists()


def test_a_file_that_is_not_a_debian_package_is_refused(tmp_path):
    bogus = tmp_path / "bogus.deb"
    bogus.write_bytes(b"PK\x03\x04 not an ar archive")
    with pytest.raises(SystemExit, match="not a Debian package"):
        list(fetch.iter_members(bogus))


def test_the_architecture_is_read_from_the_pinned_file_name():
    assert fetch.deb_architecture("kphotoalbum_5.9.1-1_amd64.deb") == "amd64"
    assert fetch.deb_architecture("opencv-doc_4.6.0+dfsg-12_all.deb") is None


@pytest.mark.parametrize("host", ["amd64", "arm64"])
def test_a_package_pinned_for_another_architecture_uses_lists_of_that_architecture(
    tmp_path, monkeypatch, host
):
    """On an arm64 machine the amd64 .deb (pinned by its sha256) is fetched through amd64
    package lists in a temporary folder; on amd64 apt is used as it is. (The commands are
    recorded, not run: this machine is amd64. The arm64 path was run by hand on 2026-11-27 with
    the host architecture overridden, and fetched the pinned kphotoalbum .deb.)"""
    calls: list[list[str]] = []

    class Done:
        returncode = 0

    def run(cmd, **kwargs):
        calls.append(list(cmd))
        return Done()

    monkeypatch.setattr(fetch, "host_architecture", lambda: host)
    monkeypatch.setattr(fetch.subprocess, "run", run)
    fetch.apt_download("kphotoalbum=5.9.1-1", tmp_path, "amd64")
    foreign = [c for c in calls if "APT::Architecture=amd64" in c]
    if host == "amd64":
        assert not foreign and calls[-1][-2:] == ["download", "kphotoalbum=5.9.1-1"]
    else:
        assert [c[-1] for c in foreign] == ["update", "kphotoalbum=5.9.1-1"]
        assert any(arg.startswith("Dir::State::Lists=") for arg in foreign[0])
