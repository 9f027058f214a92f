"""Datasets: real faces from image/video folders (for self-blending) and labelled folders.

Faces are found with the serving detector and stored once as "context crops": a square of
CONTEXT_MARGIN x the face box at CONTEXT_SIZE pixels, cut with the serving preprocessing code,
so the training crop (SPEC.margin) can be jittered inside it. They are cached per folder and
settings, keyed by a hash of the file list: the crops in a raw uint8 file that training reads
memory-mapped (a face is 235 KB; a real video dataset does not fit in memory once per batch-making
process), the rest in a small .npz written last.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterator
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
# In the cache key with OpenCV's version: bump it when finding, cropping or storing faces
# changes. Until 2026-11-27 the key had neither, and caches made before the detector's letterbox
# change of 2026-11-26 14:31 kept serving older crops (README, "What the shipped model was
# trained on"). 3: crops in a raw file.
EXTRACTION = 3
SHAPE = (CONTEXT_SIZE, CONTEXT_SIZE, 3)


class Crops:
    """n face crops in a raw uint8 file, memory-mapped and read-only: a row is read from disk
    when it is used, the operating system's page cache holds it once for every process, and a
    spawned batch-making process reopens the file instead of being sent a copy. `index` picks
    rows (a subset), so a split copies nothing."""

    def __init__(self, path: Path, n: int, index: np.ndarray | None = None) -> None:
        self.path, self.n, self.index = Path(path), n, index
        self.rows = np.memmap(self.path, np.uint8, "r", shape=(n, *SHAPE))

    def __len__(self) -> int:
        return len(self.rows) if self.index is None else len(self.index)

    def __getitem__(self, key):
        if isinstance(key, int | np.integer):
            return np.asarray(self.rows[key if self.index is None else self.index[key]])
        picked = np.arange(len(self))[key]  # a mask or indices: a view of those rows
        return Crops(self.path, self.n, picked if self.index is None else self.index[picked])

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[i] for i in range(len(self)))

    def __reduce__(self):
        return Crops, (self.path, self.n, self.index)


@dataclass
class FaceSet:
    crops: np.ndarray | Crops  # N x CONTEXT_SIZE x CONTEXT_SIZE x 3 uint8 BGR
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
    """The files a folder dataset holds: deepfake_scanner.paths.files_under (hidden ones left
    out, linked folders followed, as the scan CLI reads a folder)."""
    return paths.files_under(Path(folder))


def _file_faces(detector, path: Path, video_frames: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        context_crop(image, face)
        for image in iter_frames(path, video_frames)
        for face in detector.detect(image)
    ]


_DETECTOR = None  # one per extraction worker process


def _worker_faces(path: Path, video_frames: int) -> list[tuple[np.ndarray, np.ndarray]]:
    global _DETECTOR
    if _DETECTOR is None:
        _DETECTOR = FaceDetector(paths.DETECTOR, threads=1, min_size=MIN_FACE)
    return _file_faces(_DETECTOR, path, video_frames)


def extract_faces(
    files: list[Path],
    root: Path,
    labels: list[int] | None = None,
    video_frames: int = VIDEO_MAX_FRAMES,
    workers: int = 1,
) -> Iterator[tuple[np.ndarray, np.ndarray, str, int]]:
    """(context crop, keypoints, source, label) of every face found, file by file, in the
    files' order. workers > 1: files are read and searched in that many spawned processes,
    a few files ahead, and come back in order, so the faces are the same as with one."""
    found: Iterator[list[tuple[np.ndarray, np.ndarray]]]
    if workers > 1 and len(files) > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(min(workers, len(files)), mp.get_context("spawn"))
        ahead = 2 * workers  # files in flight: decoded crops wait in memory, not the dataset
        pending = deque(pool.submit(_worker_faces, f, video_frames) for f in files[:ahead])

        def in_order():
            try:
                for later in files[ahead:]:
                    pending.append(pool.submit(_worker_faces, later, video_frames))
                    yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                pool.shutdown(cancel_futures=True)

        found = in_order()
    else:
        detector = FaceDetector(paths.DETECTOR, threads=None, min_size=MIN_FACE)
        found = (_file_faces(detector, path, video_frames) for path in files)
    for i, (path, faces) in enumerate(zip(files, found, strict=True)):
        for crop, keypoints in faces:
            yield crop, keypoints, str(path.relative_to(root)), labels[i] if labels else 0


def _store(faces: Iterator, cache: Path) -> FaceSet:
    """Write faces to the cache as they come (crops straight to disk, so memory holds none of
    them) and return them read back from it. The .npz goes last: when it exists, the cache is
    whole."""
    kps, sources, ys = [], [], []
    with cache.with_suffix(".crops").open("wb") as out:
        for crop, keypoints, source, label in faces:
            out.write(np.ascontiguousarray(crop, np.uint8).tobytes())
            kps.append(keypoints)
            sources.append(source)
            ys.append(label)
    np.savez(
        cache,
        keypoints=np.array(kps, np.float32).reshape(len(kps), 6, 2),
        sources=np.array(sources, str),
        labels=np.array(ys, np.int8),
    )
    return _cached(cache)


def _cached(cache: Path) -> FaceSet:
    z = np.load(cache)
    n = len(z["labels"])
    if "crops" in z.files:  # a cache made before crops had a file of their own: in memory
        crops: np.ndarray | Crops = z["crops"]
    else:  # an empty file cannot be mapped
        crops = Crops(cache.with_suffix(".crops"), n) if n else np.zeros((0, *SHAPE), np.uint8)
    return FaceSet(crops, z["keypoints"], z["sources"], z["labels"])


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
    root: Path,
    cache_dir: Path,
    split: str | None = None,
    video_frames: int = VIDEO_MAX_FRAMES,
    workers: int = 1,
) -> FaceSet:
    """Faces under root: labelled when it has real/ and fake/ folders, else all real. Every
    face is a CONTEXT_SIZE crop (235 KB) on disk, memory-mapped; video_frames bounds the frames
    read from each video; workers: processes that find the faces on a first read (the cache
    is the same with any number)."""
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
                EXTRACTION,
                cv2.__version__,
                labels,
                [(str(p), p.stat().st_size) for p in files],
            ]
        ).encode()
    ).hexdigest()[:16]
    cache = Path(cache_dir) / f"faces-{key}.npz"
    if cache.exists():
        return _cached(cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    return _store(extract_faces(files, root, labels, video_frames, workers), cache)


def split_by_source(faces: FaceSet, fraction: float, seed: int) -> tuple[FaceSet, FaceSet]:
    """(train, validation) with whole source files on one side: no person in both."""
    sources = sorted(set(faces.sources.tolist()))
    rng = np.random.default_rng(seed)
    rng.shuffle(sources)
    n_val = max(1, round(len(sources) * fraction)) if len(sources) > 1 else 0
    held = np.isin(faces.sources, sources[:n_val])
    return faces.subset(~held), faces.subset(held)
