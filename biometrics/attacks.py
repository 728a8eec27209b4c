"""Presentation attacks made from real photos and clips, for calibration and tests.

The shared data has no attack videos, so they are made here, each imitating
what an attacker with that material would film:

- ``still_video``: a photo shown to the camera and held by hand (small shake,
  drift and zoom, sensor noise, phone compression);
- ``print_video``: the same with a print-like rendering (halftone dots, paper
  white point, lower contrast and saturation, a slight bend);
- ``screen_replay``: a live clip played on a screen and filmed again (pixel
  grid and moiré, display gamma and colour cast, glare, the screen's bezel,
  refilming blur and noise).

These are approximations of real attacks; the decision record says so.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from biometrics.geometry import Image, as_u8

FloatImage = npt.NDArray[np.float32]


def write_video(frames: Iterator[Image], path: Path, fps: int = 30, crf: int = 23) -> Path:
    """Encode BGR frames as H.264 in MP4, as a phone would."""
    import av

    container = av.open(str(path), "w")
    stream = None
    try:
        for frame in frames:
            if stream is None:
                h, w = frame.shape[:2]
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height = w - w % 2, h - h % 2
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": "veryfast"}
            even = frame[: stream.height, : stream.width]
            for packet in stream.encode(av.VideoFrame.from_ndarray(even, format="bgr24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    finally:
        container.close()
    return path


def _fit(image: Image, size: tuple[int, int]) -> Image:
    """Scale to cover ``size`` (w, h) and centre-crop, as a camera framing the picture."""
    w, h = size
    ih, iw = image.shape[:2]
    scale = max(w / iw, h / ih)
    resized = cv2.resize(image, (math.ceil(iw * scale), math.ceil(ih * scale)))
    y = (resized.shape[0] - h) // 2
    x = (resized.shape[1] - w) // 2
    return as_u8(resized[y : y + h, x : x + w])


def _noisy(frame: Image | FloatImage, sigma: float) -> Image:
    """The frame with Gaussian sensor noise of ``sigma``, saturated to 8 bits (one pass in
    OpenCV: a float frame is never clipped and converted by numpy)."""
    noise = np.empty(frame.shape, np.float32)
    # one channel seen as a plane: every channel gets noise (a scalar is one channel's)
    cv2.randn(noise.reshape(frame.shape[0], -1), np.zeros(1), np.full(1, sigma))
    return as_u8(cv2.add(frame, noise, dtype=cv2.CV_8U))


def _hand_held(image: Image, seconds: float, fps: int, seed: int) -> Iterator[Image]:
    """A picture held in front of the camera: slow drift, tremor, a little zoom, noise."""
    rng = np.random.default_rng(seed)
    cv2.setRNGSeed(int(rng.integers(2**31)))  # the noise's generator (:func:`_noisy`)
    h, w = image.shape[:2]
    n = int(seconds * fps)
    phase = rng.uniform(0, 2 * math.pi, 4)
    for i in range(n):
        t = i / fps
        dx = 6 * math.sin(0.7 * t + phase[0]) + rng.normal(0, 0.6)
        dy = 5 * math.sin(0.5 * t + phase[1]) + rng.normal(0, 0.6)
        angle = 1.5 * math.sin(0.4 * t + phase[2])
        scale = 1.0 + 0.03 * math.sin(0.3 * t + phase[3])
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        matrix[:, 2] += np.array([dx, dy])
        moved = cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT_101)
        yield _noisy(as_u8(moved), 2.0)


def still_video(
    photo: Image,
    path: Path,
    *,
    seconds: float = 5.0,
    size: tuple[int, int] = (720, 720),
    seed: int = 0,
) -> Path:
    return write_video(_hand_held(_fit(photo, size), seconds, 30, seed), path)


def print_rendering(photo: Image, seed: int = 0) -> Image:
    """Paper print: halftone dots, paper white, less contrast and saturation, a slight bend."""
    rng = np.random.default_rng(seed)
    img = photo.astype(np.float32)
    hsv = cv2.cvtColor(photo, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[:, :, 1] *= 0.75
    img = np.asarray(cv2.cvtColor(as_u8(np.clip(hsv, 0, 255)), cv2.COLOR_HSV2BGR), dtype=np.float32)
    img = 30 + img * 0.78  # ink never reaches black, paper never pure white
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = max(3.0, w / 220)
    dots = (np.sin(xx * 2 * math.pi / period) * np.sin(yy * 2 * math.pi / period)) * 7
    img += dots[:, :, np.newaxis]
    paper = rng.normal(0, 3.0, (h // 4 + 1, w // 4 + 1)).astype(np.float32)
    img += cv2.resize(paper, (w, h))[:, :, np.newaxis]
    bend = (np.sin(xx / w * math.pi) * 0.015 * h).astype(np.float32)
    bent = cv2.remap(img, xx, yy + bend, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return as_u8(np.clip(bent, 0, 255))


def print_video(
    photo: Image,
    path: Path,
    *,
    seconds: float = 5.0,
    size: tuple[int, int] = (720, 720),
    seed: int = 0,
) -> Path:
    """A printed photo held to the camera: the still-photo attack on a print rendering."""
    return still_video(print_rendering(photo, seed), path, seconds=seconds, size=size, seed=seed)


_GAMMA = 0.85
_DISPLAY_GAMMA = np.asarray(255 * (np.arange(256) / 255) ** _GAMMA, dtype=np.float32)


@functools.lru_cache(maxsize=8)
def _subpixel_grid(sh: int, sw: int, gamma: float) -> npt.NDArray[np.float32]:
    """The monitor's RGB sub-pixel grid (the same for every frame of a size), its factors
    raised to ``gamma``."""
    grid = np.ones((sh, sw, 3), dtype=np.float32)
    pitch = 3
    for c in range(3):
        mask = np.ones(sw, dtype=bool)
        mask[(2 - c) :: pitch] = False
        grid[:, mask, c] *= 0.62
    grid[::pitch, :, :] *= 0.8
    grid **= gamma
    grid.setflags(write=False)
    return grid


@functools.lru_cache(maxsize=8)
def _pixel_coordinates(sh: int, sw: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    yy.setflags(write=False)
    xx.setflags(write=False)
    return yy, xx


def screen_frame(frame: Image, t: float) -> Image:
    """One frame of a live clip as seen through a phone camera pointed at a monitor (its
    noise from OpenCV's generator, seeded by :func:`screen_replay`)."""
    h, w = frame.shape[:2]
    # the screen shows the clip at its own resolution: an RGB sub-pixel grid
    sw, sh = int(w * 0.8), int(h * 0.8)
    resized = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA)
    # display gamma (255 (x g / 255)^0.85 = gamma(x) g^0.85: a table, then the grid), blue
    # cast, lifted blacks
    shown = _DISPLAY_GAMMA[resized] * _subpixel_grid(sh, sw, _GAMMA)
    shown = shown * np.array([1.08, 1.0, 0.92], dtype=np.float32) + 14
    # glare: a soft bright band that drifts
    yy, xx = _pixel_coordinates(sh, sw)
    band = np.exp(
        -(((xx - sw * (0.3 + 0.05 * math.sin(t))) * 0.6 + yy * 0.4 - sh * 0.3) ** 2)
        / (2 * (sw * 0.12) ** 2)
    )
    shown += (45 * band)[:, :, np.newaxis]
    # the monitor in the room: bezel, wall behind, a slight perspective
    room = np.full((h, w, 3), (58, 62, 70), dtype=np.float32)
    bezel = 10
    x0, y0 = (w - sw) // 2, (h - sh) // 2
    room[y0 - bezel : y0 + sh + bezel, x0 - bezel : x0 + sw + bezel] = (20, 20, 22)
    room[y0 : y0 + sh, x0 : x0 + sw] = shown
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    k = 0.03 * w
    dst = np.array(
        [[k, k * 0.5], [w - k * 0.4, 0], [w, h], [k * 0.2, h - k * 0.3]], dtype=np.float32
    )
    transform = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(room, transform, (w, h), borderMode=cv2.BORDER_REPLICATE)
    # refilming: a slight blur (focus on a flat screen) and sensor noise
    return _noisy(np.asarray(cv2.GaussianBlur(warped, (0, 0), 0.8), dtype=np.float32), 2.5)


def screen_replay(clip: Path, path: Path, *, seconds: float | None = None, seed: int = 0) -> Path:
    """A live clip re-rendered as if played on a monitor and filmed with a phone."""
    import av

    def frames() -> Iterator[Image]:
        cv2.setRNGSeed(int(np.random.default_rng(seed).integers(2**31)))
        container = av.open(str(clip))
        try:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                t = float(frame.time or 0.0)
                if seconds is not None and t > seconds:
                    return
                yield screen_frame(as_u8(frame.to_ndarray(format="bgr24")), t)
        finally:
            container.close()

    probe = av.open(str(clip))
    try:
        fps = round(float(probe.streams.video[0].average_rate or 30))
    finally:
        probe.close()
    return write_video(frames(), path, fps=fps)
