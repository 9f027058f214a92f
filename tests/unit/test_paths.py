"""Listing a folder of inputs: one walker for the scan CLI and the trainer."""

from __future__ import annotations

from pathlib import Path

from converter.data import list_files
from deepfake_scanner.cli import iter_files
from deepfake_scanner.paths import files_under


def make_tree(tmp_path: Path) -> Path:
    """root/ with a file, a hidden file and folder, a linked folder, a link back to root (a
    loop), a second link to the same folder and a broken link."""
    outside = tmp_path / "elsewhere" / "people"
    outside.mkdir(parents=True)
    (outside / "b.jpg").write_bytes(b"b")
    (outside / "deeper").mkdir()
    (outside / "deeper" / "c.jpg").write_bytes(b"c")
    root = tmp_path / "root"
    (root / ".cache").mkdir(parents=True)
    (root / ".cache" / "x.jpg").write_bytes(b"x")
    (root / "a.jpg").write_bytes(b"a")
    (root / ".hidden.jpg").write_bytes(b"h")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "again").symlink_to(outside, target_is_directory=True)
    (outside / "loop").symlink_to(root, target_is_directory=True)
    (root / "broken.jpg").symlink_to(tmp_path / "missing.jpg")
    return root


def test_linked_folders_are_read_once_and_hidden_entries_left_out(tmp_path):
    root = make_tree(tmp_path)
    found = [p.relative_to(root).as_posix() for p in files_under(root)]
    # the linked folder's files once, under the first name the walk meets; the loop ends
    assert found == ["a.jpg", "again/b.jpg", "again/deeper/c.jpg"]


def test_cli_and_trainer_list_a_folder_alike(tmp_path):
    root = make_tree(tmp_path)
    assert list(iter_files(root)) == list_files(root) == files_under(root)
    assert list(iter_files(root / "a.jpg")) == [root / "a.jpg"]  # a file is itself
