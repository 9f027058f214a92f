"""tools/dataset_layout.py on small stand-ins of the Celeb-DF v2 and FaceForensics++ folders
(empty files with the datasets' names): no person ends up on two sides."""

from __future__ import annotations

import re

import pytest

from tools import dataset_layout


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def people_by_side(dest, pattern):
    """{side: set of people} from the linked names."""
    found: dict[str, set[str]] = {}
    for link in dest.glob("*/*/*"):
        found.setdefault(link.parts[-3], set()).update(re.findall(pattern, link.name))
    return found


def test_celeb_df_keeps_the_test_list_and_each_celebrity_on_one_side(tmp_path):
    src, dest = tmp_path / "Celeb-DF-v2", tmp_path / "out"
    for i in range(20):
        for k in range(3):
            touch(src / "Celeb-real" / f"id{i}_{k:04d}.mp4")
            touch(src / "Celeb-synthesis" / f"id{i}_id{(i + 1) % 20}_{k:04d}.mp4")
    for k in range(10):
        touch(src / "YouTube-real" / f"{k:05d}.mp4")
    (src / "List_of_testing_videos.txt").write_text(
        "1 Celeb-real/id3_0000.mp4\n0 Celeb-synthesis/id4_id5_0001.mp4\n1 YouTube-real/00007.mp4\n"
    )
    assert dataset_layout.main(["celeb-df", str(src), str(dest), "--val-share", "0.3"]) == 0
    test = sorted(p.name for p in (dest / "Test").glob("*/*"))
    assert test == [
        "Celeb-real__id3_0000.mp4",
        "Celeb-synthesis__id4_id5_0001.mp4",
        "YouTube-real__00007.mp4",
    ]
    assert (dest / "Test" / "Fake" / "Celeb-synthesis__id4_id5_0001.mp4").resolve() == (
        src / "Celeb-synthesis" / "id4_id5_0001.mp4"
    ).resolve()
    sides = people_by_side(dest, r"id\d+")
    assert sides["Train"] and sides["Validation"] and not sides["Train"] & sides["Validation"]
    for side in ("Train", "Validation"):
        for label in ("Real", "Fake"):
            assert any((dest / side / label).iterdir()), (side, label)
    # a swap between a training and a validation celebrity is on neither side
    linked = {p.name for p in dest.glob("*/*/*")}
    for name in (p.name for p in (src / "Celeb-synthesis").iterdir()):
        a, b = re.findall(r"id\d+", name)
        if (a in sides["Train"]) != (b in sides["Train"]) and name != "id4_id5_0001.mp4":
            assert f"Celeb-synthesis__{name}" not in linked
    # what converter.train and converter.export read: the Kaggle-style labelled layout
    from converter.data import labelled_files

    for split in ("train", "validation"):
        found = labelled_files(dest, split)
        assert found is not None and set(found[1]) == {0, 1}
        assert all(f.is_file() for f in found[0])
    with pytest.raises(SystemExit, match="not empty"):
        dataset_layout.main(["celeb-df", str(src), str(dest)])


def test_ffpp_splits_by_source_id(tmp_path):
    src, dest = tmp_path / "ffpp", tmp_path / "out"
    for i in range(50):
        touch(src / "original_sequences/youtube/c23/videos" / f"{i:03d}.mp4")
        for method in ("Deepfakes", "FaceSwap"):
            touch(
                src
                / "manipulated_sequences"
                / method
                / "c23/videos"
                / f"{i:03d}_{(i + 7) % 50:03d}.mp4"
            )
    touch(src / "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__walking__ABC.mp4")
    assert dataset_layout.main(["ffpp", str(src), str(dest)]) == 0
    sides = people_by_side(dest, r"(?<![0-9])\d{3}(?![0-9])")
    assert {len(sides[s]) for s in ("Train", "Validation", "Test")} and all(sides.values())
    assert not (sides["Train"] & sides["Validation"] or sides["Train"] & sides["Test"])
    assert not sides["Validation"] & sides["Test"]
    assert len(list((dest / "Train" / "Real").iterdir())) == 36  # 72 % of 50
    assert not list(dest.glob("*/*/*DeepFakeDetection*"))  # actors, not source ids: left out
