"""Self-blended pseudo-fakes (Shiohara & Yamasaki, CVPR 2022) and the augmentations around them.

A face is blended with a colour-, sharpness- and geometry-jittered copy of itself inside a
mask drawn from its landmarks, with a blurred edge. The network can only tell the two apart
by the blend itself, which is what face swaps and reenactments leave behind.

Every global transform (sharpness, resolution, noise, JPEG, colour, flip, crop jitter) is
drawn from the same distribution for reals and fakes: FINDINGS.md measured a model that
learned "sharp means fake" from low-resolution real frames and called real stills fake.

All functions take a numpy Generator so a seed reproduces a run. Images are uint8 BGR.
"""

from __future__ import annotations

import cv2
import numpy as np

Rng = np.random.Generator


def _blur(img: np.ndarray, rng: Rng) -> np.ndarray:
    sigma = rng.uniform(0.4, 1.6)
    return cv2.GaussianBlur(img, (0, 0), sigma)


def _sharpen(img: np.ndarray, rng: Rng) -> np.ndarray:
    amount = rng.uniform(0.3, 1.2)
    soft = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.8, 2.0))
    return cv2.addWeighted(img, 1 + amount, soft, -amount, 0)


def _rescale(img: np.ndarray, rng: Rng) -> np.ndarray:
    """Down and up again: a lower-resolution camera or an upscaled frame."""
    h, w = img.shape[:2]
    f = rng.uniform(0.3, 0.8)
    small = cv2.resize(img, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
    interp = cv2.INTER_LINEAR if rng.random() < 0.5 else cv2.INTER_CUBIC
    return cv2.resize(small, (w, h), interpolation=interp)


def _colour(img: np.ndarray, rng: Rng, strength: float = 1.0) -> np.ndarray:
    """Brightness, contrast, per-channel shift and hue/saturation jitter (lookup tables: fast)."""
    levels = np.arange(256, dtype=np.float32)
    gain = rng.uniform(1 - 0.2 * strength, 1 + 0.2 * strength)
    shift = rng.uniform(-20, 20, size=3).astype(np.float32) * strength
    lut = np.clip(levels[:, None] * gain + shift[None, :], 0, 255).astype(np.uint8)
    img = cv2.LUT(img, lut.reshape(256, 1, 3))
    h, s, v = cv2.split(cv2.cvtColor(img, cv2.COLOR_BGR2HSV))
    hue = (np.arange(256) + int(rng.integers(-5, 6) * strength)) % 180
    sat = np.clip(levels * rng.uniform(1 - 0.25 * strength, 1 + 0.25 * strength), 0, 255)
    h = cv2.LUT(h, hue.astype(np.uint8))
    s = cv2.LUT(s, sat.astype(np.uint8))
    return cv2.cvtColor(cv2.merge([h, s, v]), cv2.COLOR_HSV2BGR)


def _jpeg(img: np.ndarray, rng: Rng) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 96))])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
    return img if decoded is None else decoded


def _noise(img: np.ndarray, rng: Rng) -> np.ndarray:
    n = rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(2, 8))
    return cv2.add(img.astype(np.float32), n).clip(0, 255).astype(np.uint8)


def camera(img: np.ndarray, rng: Rng) -> np.ndarray:
    """Whole-image look of a capture: colour, exposure, sharpness, resolution. Applied to the
    base image before a pair is made, as strongly as the blend source is jittered, so that a
    face's own colour or sharpness says nothing: only the inconsistency a blend leaves does.
    (A first model trained with weak base jitter learned "this face's colour is unusual" and
    called the reals of unseen people fake.)"""
    if rng.random() < 0.8:
        img = _colour(img, rng, rng.uniform(0.5, 1.5))
    if rng.random() < 0.3:  # exposure and skin tone vary; neither may say "fake"
        gamma = rng.uniform(0.6, 1.6)
        img = cv2.LUT(img, ((np.arange(256) / 255.0) ** gamma * 255).astype(np.uint8))
    r = rng.random()
    if r < 0.3:
        img = _sharpen(img, rng)
    elif r < 0.6:
        img = _blur(img, rng)
    if rng.random() < 0.25:
        img = _rescale(img, rng)
    if rng.random() < 0.1:  # black-and-white photos exist; the blend must not need colour
        img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    return img


def delivery(img: np.ndarray, rng: Rng) -> np.ndarray:
    """What happens to a file after capture: colour, noise, JPEG. Same for both classes."""
    if rng.random() < 0.3:
        img = _colour(img, rng, 0.5)
    if rng.random() < 0.2:
        img = _noise(img, rng)
    if rng.random() < 0.5:
        img = _jpeg(img, rng)
    return img


def face_mask(
    shape: tuple[int, int], keypoints: np.ndarray, rng: Rng, softness: float
) -> np.ndarray:
    """float32 mask in [0, 1]: a jittered hull of the face from BlazeFace's six keypoints.

    keypoints: eyes (R, L), nose, mouth, ears (R, L) in pixel coordinates of `shape`.
    """
    eye_r, eye_l, _nose, mouth, ear_r, ear_l = keypoints
    eyes = (eye_r + eye_l) / 2
    down = mouth - eyes  # eyes-to-mouth: the face's vertical scale and direction
    side = (eye_l - eye_r) / 2
    inner = rng.random() < 0.35  # an inner-face mask (eyes to mouth) as SBI also draws
    top = rng.uniform(0.3, 0.9) * (0.6 if inner else 1.0)
    bottom = rng.uniform(0.5, 1.1) * (0.6 if inner else 1.0)
    width = rng.uniform(0.8, 1.1) if not inner else rng.uniform(1.2, 1.6)
    if inner:
        left, right = eyes - side * width * 1.5, eyes + side * width * 1.5
    else:
        left, right = eyes + (ear_r - eyes) * width, eyes + (ear_l - eyes) * width
    pts = np.array(
        [
            left - down * top * 0.8,
            eye_r - down * top,
            eye_l - down * top,
            right - down * top * 0.8,
            right + down * 0.6,
            mouth + down * bottom + side * 0.8,
            mouth + down * (bottom + 0.15),
            mouth + down * bottom - side * 0.8,
            left + down * 0.6,
        ],
        dtype=np.float32,
    )
    pts += rng.normal(0, 0.06, pts.shape).astype(np.float32) * np.linalg.norm(down)
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(pts.astype(np.int32)), 255)
    k = max(3, int(np.linalg.norm(down) * rng.uniform(0.05, 0.25)) | 1)
    grown = (
        cv2.erode(mask, np.ones((k, k), np.uint8))
        if rng.random() < 0.5
        else cv2.dilate(mask, np.ones((k, k), np.uint8))
    )
    sigma = float(np.linalg.norm(down) * rng.uniform(0.05, 0.25) * (1 + 2 * softness))
    m = cv2.GaussianBlur(np.asarray(grown, np.float32) / 255.0, (0, 0), max(sigma, 0.5))
    return m / max(float(m.max()), 1e-6)


def _shift_scale(img: np.ndarray, rng: Rng) -> np.ndarray:
    h, w = img.shape[:2]
    s = rng.uniform(0.95, 1.05)
    tx, ty = rng.uniform(-0.03, 0.03, 2) * (w, h)
    m = np.array([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]], np.float32)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def self_blend(
    base: np.ndarray, keypoints: np.ndarray, rng: Rng, difficulty: float = 1.0
) -> np.ndarray:
    """A pseudo-fake of `base`. difficulty 0 is the curriculum's easy end: full-strength blend,
    3x colour shift, soft edge; 1 is the full SBI distribution."""
    return blend_and_mask(base, keypoints, rng, difficulty)[0]


def blend_and_mask(
    base: np.ndarray, keypoints: np.ndarray, rng: Rng, difficulty: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """self_blend, and the float32 weight of the copy at each pixel (the blend mask times the
    blend ratio): where the fake differs from `base`."""
    strength = 1.0 + 2.0 * (1.0 - difficulty)
    source = _colour(base, rng, strength)
    r = rng.random()
    if r < 0.35:
        source = _sharpen(source, rng)
    elif r < 0.7:
        source = _blur(source, rng)
    source = _shift_scale(source, rng)
    mask = face_mask(base.shape[:2], keypoints, rng, softness=1.0 - difficulty)
    ratio = 1.0 if rng.random() < 1.0 - 0.5 * difficulty else rng.choice([0.25, 0.5, 0.75])
    m = (mask * np.float32(ratio)).astype(np.float32)
    return cv2.blendLinear(source, base, m, 1.0 - m), m


def frame(
    img: np.ndarray, keypoints: np.ndarray, size: int, margin_ratio: float, rng: Rng | None
) -> np.ndarray:
    """The serving crop out of a stored context crop, with random jitter and flip when rng is
    given. margin_ratio: serving margin / context margin (the crop's share of the context)."""
    m, flip, scale = frame_transform(img.shape[0], size, margin_ratio, rng)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = cv2.warpAffine(
        img, m.astype(np.float32), (size, size), flags=interp, borderMode=cv2.BORDER_CONSTANT
    )
    return out[:, ::-1] if flip else out


def frame_transform(
    h: int, size: int, margin_ratio: float, rng: Rng | None
) -> tuple[np.ndarray, bool, float]:
    """frame's affine map (2x3, before the mirror), whether it mirrors, and its scale, for a
    context crop of side h: the jitter draws, in frame's order."""
    side = h * margin_ratio
    cx = cy = h / 2.0
    flip, angle, aspect = False, 0.0, 1.0
    if rng is not None:  # pose and face-shape variety: few identities, so vary the geometry
        side *= rng.uniform(0.93, 1.07)
        cx += rng.uniform(-0.04, 0.04) * side
        cy += rng.uniform(-0.04, 0.04) * side
        flip = rng.random() < 0.5
        angle = rng.uniform(-12, 12)
        aspect = rng.uniform(0.92, 1.08)
    scale = size / side
    m = np.asarray(cv2.getRotationMatrix2D((cx, cy), angle, scale), np.float64)
    m[:, 2] += (size / 2 - cx, size / 2 - cy)
    m[0] *= aspect
    m[0, 2] += size / 2 * (1 - aspect)
    return m, flip, scale


WARP_GRID = 4  # control points a side of warp_face's displacement field
WARP_AMP = (0.05, 0.15)  # warp_face's displacement scale, a share of the eyes-to-mouth distance


def warp_face(img: np.ndarray, keypoints: np.ndarray, rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random warp of a face image (a WARP_GRID x WARP_GRID grid of displacements of
    5-15 % of the eyes-to-mouth distance, cubic-interpolated) and its keypoints moved with it:
    the same person with other proportions. The output pixel at p is the input's at p + d(p),
    so an input point q lands near q - d(q): on an 80-pixel eyes-to-mouth distance the moved
    keypoints sat 1.2 pixels (median) and 4.8 (90th percentile) from where their features went,
    which had moved 7.6 (tests/unit/test_training.py)."""
    h, w = img.shape[:2]
    eyes = (keypoints[0] + keypoints[1]) / 2
    scale = float(np.linalg.norm(keypoints[3] - eyes))
    amp = rng.uniform(*WARP_AMP) * scale
    coarse = rng.normal(0.0, amp, (WARP_GRID, WARP_GRID, 2)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    out = cv2.remap(
        img, xs + field[..., 0], ys + field[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    ix = np.clip(np.round(keypoints[:, 0]).astype(int), 0, w - 1)
    iy = np.clip(np.round(keypoints[:, 1]).astype(int), 0, h - 1)
    return out, (keypoints - field[iy, ix]).astype(keypoints.dtype)


def make_pair(
    context: np.ndarray,
    keypoints: np.ndarray,
    rng: Rng,
    difficulty: float,
    size: int,
    margin_ratio: float,
    warp: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(real, fake) serving-size crops made from one stored face, augmented alike. warp: the
    share of pairs whose base is warped first (warp_face), real and fake alike; on the few
    identities here it raised the reserved AUC in every seed (docs/experiments.md, "New face
    shapes")."""
    base = camera(context, rng)
    if warp and rng.random() < warp:
        base, keypoints = warp_face(base, keypoints, rng)
    fake = self_blend(base, keypoints, rng, difficulty)
    real = delivery(frame(base, keypoints, size, margin_ratio, rng), rng)
    fake = delivery(frame(fake, keypoints, size, margin_ratio, rng), rng)
    return np.ascontiguousarray(real), np.ascontiguousarray(fake)
