"""Datasets: real faces from image/video folders (for self-blending) and labelled folders.

Faces are found with the serving detector and stored once as "context crops": a square of
CONTEXT_MARGIN x the face box at CONTEXT_SIZE pixels, cut with the serving preprocessing code,
so the training crop (SPEC.margin) can be jittered inside it. Everything is cached in one .npz
per folder and settings, keyed by a hash of the file list.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from deepfake_scanner import paths
from deepfake_scanner.errors import ScanError
from deepfake_scanner.faces import FaceDetector
from deepfake_scanner.media import decode_image, sniff
from deepfake_scanner.preprocess import SPEC, crop_square, resize_square, square_region

CONTEXT_MARGIN = SPEC.margin * 1.25
CONTEXT_SIZE = round(SPEC.size * 1.25)
MARGIN_RATIO = SPEC.margin / CONTEXT_MARGIN
VIDEO_STEP = 25  # every 25th frame: identities are few, consecutive frames add little
VIDEO_MAX_FRAMES = 60
MIN_FACE = 48  # pixels; smaller faces carry too little detail to blend convincingly


@dataclass
class FaceSet:
    crops: np.ndarray  # N x CONTEXT_SIZE x CONTEXT_SIZE x 3 uint8 BGR
    keypoints: np.ndarray  # N x 6 x 2 float32, in crop pixels
    sources: np.ndarray  # N str: the file each face came from (the identity unit for splits)
    labels: np.ndarray  # N int8: 0 real, 1 fake (labelled folders), all 0 for real-only

    def subset(self, mask: np.ndarray) -> FaceSet:
        return FaceSet(
            self.crops[mask], self.keypoints[mask], self.sources[mask], self.labels[mask]
        )

    def __len__(self) -> int:
        return len(self.crops)


def iter_frames(path: Path, max_frames: int = VIDEO_MAX_FRAMES):
    """Images: the decoded image. Videos: every VIDEO_STEP-th frame, at most max_frames."""
    data = path.read_bytes()
    kind = sniff(data) or ""
    if kind.startswith("image/"):
        try:
            yield decode_image(data)[0]
        except ScanError:
            return
    elif kind.startswith("video/"):
        cap = cv2.VideoCapture(str(path))
        index = kept = 0
        while kept < max_frames:
            ok = cap.grab()
            if not ok:
                break
            if index % VIDEO_STEP == 0:
                ok, img = cap.retrieve()
                if ok:
                    kept += 1
                    yield img
            index += 1
        cap.release()


def context_crop(image: np.ndarray, face) -> tuple[np.ndarray, np.ndarray]:
    """The stored crop and the keypoints moved into its pixel frame."""
    x0, y0, side = square_region(face.box, CONTEXT_MARGIN)
    crop = resize_square(crop_square(image, face.box, CONTEXT_MARGIN), CONTEXT_SIZE)
    k = (np.asarray(face.keypoints, np.float32) - (x0, y0)) * (CONTEXT_SIZE / side)
    return crop, k


def list_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and not p.name.startswith("."))


def extract_faces(
    files: list[Path],
    root: Path,
    labels: list[int] | None = None,
    detector: FaceDetector | None = None,
    video_frames: int = VIDEO_MAX_FRAMES,
) -> FaceSet:
    detector = detector or FaceDetector(paths.DETECTOR, threads=None, min_size=MIN_FACE)
    crops, kps, sources, ys = [], [], [], []
    for i, path in enumerate(files):
        for image in iter_frames(path, video_frames):
            for face in detector.detect(image):
                c, k = context_crop(image, face)
                crops.append(c)
                kps.append(k)
                sources.append(str(path.relative_to(root)))
                ys.append(labels[i] if labels else 0)
    if not crops:
        return FaceSet(
            np.zeros((0, CONTEXT_SIZE, CONTEXT_SIZE, 3), np.uint8),
            np.zeros((0, 6, 2), np.float32),
            np.array([], str),
            np.array([], np.int8),
        )
    return FaceSet(np.stack(crops), np.stack(kps), np.array(sources), np.array(ys, np.int8))


LAYOUTS = {  # folder name (case-insensitive) -> label
    "real": 0,
    "fake": 1,
}


def labelled_files(root: Path, split: str | None = None) -> tuple[list[Path], list[int]] | None:
    """real/ + fake/ under root (or under root/<split>/, the Train|Validation|Test layout).
    None when the folder has no labelled layout: it is then read as real faces only."""
    base = Path(root)
    if split is not None:
        found = [d for d in base.iterdir() if d.is_dir() and d.name.lower() == split]
        if not found:
            return None
        base = found[0]
    classes = {d.name.lower(): d for d in base.iterdir() if d.is_dir()}
    if not set(LAYOUTS) <= set(classes):
        return None
    files, labels = [], []
    for name, label in LAYOUTS.items():
        for p in list_files(classes[name]):
            files.append(p)
            labels.append(label)
    return files, labels


def load_faces(
    root: Path, cache_dir: Path, split: str | None = None, video_frames: int = VIDEO_MAX_FRAMES
) -> FaceSet:
    """Faces under root: labelled when it has real/ and fake/ folders, else all real. Every
    face is held in memory as a CONTEXT_SIZE crop (235 KB), so a large video dataset needs a
    smaller video_frames (frames read from each video)."""
    root = Path(root)
    labelled = labelled_files(root, split)
    files, labels = labelled if labelled else (list_files(root), None)
    key = hashlib.sha256(
        json.dumps(
            [
                CONTEXT_MARGIN,
                CONTEXT_SIZE,
                VIDEO_STEP,
                video_frames,
                MIN_FACE,
                labels,
                [(str(p), p.stat().st_size) for p in files],
            ]
        ).encode()
    ).hexdigest()[:16]
    cache = Path(cache_dir) / f"faces-{key}.npz"
    if cache.exists():
        z = np.load(cache)
        return FaceSet(z["crops"], z["keypoints"], z["sources"], z["labels"])
    faces = extract_faces(files, root, labels, video_frames=video_frames)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        cache,
        crops=faces.crops,
        keypoints=faces.keypoints,
        sources=faces.sources,
        labels=faces.labels,
    )
    return faces


def split_by_source(faces: FaceSet, fraction: float, seed: int) -> tuple[FaceSet, FaceSet]:
    """(train, validation) with whole source files on one side: no person in both."""
    sources = sorted(set(faces.sources.tolist()))
    rng = np.random.default_rng(seed)
    rng.shuffle(sources)
    n_val = max(1, round(len(sources) * fraction)) if len(sources) > 1 else 0
    held = np.isin(faces.sources, sources[:n_val])
    return faces.subset(~held), faces.subset(held)
