"""Decoding uploads with PyAV: what phones and WeChat send, within hard limits.

The reader checks the container, codec, size and duration before decoding,
then streams frames sampled at the analysis rate, rotated upright from the
display matrix and scaled to the working size. It never keeps the whole video.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from biometrics.errors import InputRejected
from biometrics.geometry import Image, as_u8

ALLOWED_CONTAINERS = ("mov", "mp4", "matroska", "webm", "avi", "3gp")
ALLOWED_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})


@dataclass(frozen=True, slots=True)
class VideoLimits:
    max_bytes: int = 60 * 1024 * 1024
    max_duration_s: float = 45.0
    min_duration_s: float = 1.0
    max_long_side: int = 3840
    max_pixels: int = 3840 * 2160
    min_short_side: int = 240
    max_decoded_frames: int = 2700  # 45 s at 60 fps
    max_decode_s: float = 20.0
    analysis_fps: float = 15.0
    work_long_side: int = 640


@dataclass(frozen=True, slots=True)
class Frame:
    index: int  # position among sampled frames
    t: float  # seconds from the start
    image: Image  # BGR, upright, scaled to the working size
    scale: float  # working size / original size


_ROTATIONS = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}


def _rotate(image: Image, degrees: int) -> Image:
    code = _ROTATIONS.get(degrees)
    return image if code is None else as_u8(cv2.rotate(image, code))


def _clockwise_rotation(display_rotation: float) -> int:
    """Degrees to turn a decoded frame clockwise for display (as ffmpeg's autorotate)."""
    theta = round(-display_rotation) % 360
    return min((0, 90, 180, 270), key=lambda a: min(abs(a - theta), 360 - abs(a - theta)))


class VideoReader:
    """Open with ``VideoReader(source, limits)``; iterate for frames; close when done."""

    def __init__(self, source: str | Path | IO[bytes], limits: VideoLimits | None = None) -> None:
        import av

        self.limits = limits or VideoLimits()
        self.decoded_frames = 0
        self.decode_seconds = 0.0
        self.truncated = False
        size = self._size_of(source)
        if size == 0:
            raise InputRejected("video_empty")
        if size is not None and size > self.limits.max_bytes:
            raise InputRejected("video_too_large", f"{size} bytes")
        try:
            self.container: Any = av.open(source, mode="r", timeout=10.0)
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError, OSError) as err:
            raise InputRejected("video_unreadable", str(err)) from err
        try:
            self._inspect()
        except Exception:
            self.container.close()
            raise

    @staticmethod
    def _size_of(source: str | Path | IO[bytes]) -> int | None:
        if isinstance(source, str | Path):
            return Path(source).stat().st_size
        try:
            pos = source.tell()
            source.seek(0, 2)
            end = source.tell()
            source.seek(pos)
            return end
        except (OSError, AttributeError):
            return None

    def _inspect(self) -> None:
        limits = self.limits
        fmt = self.container.format.name or ""
        if not any(name in fmt.split(",") for name in ALLOWED_CONTAINERS):
            raise InputRejected("video_format_unsupported", f"container {fmt}")
        if not self.container.streams.video:
            raise InputRejected("no_video_track")
        self.stream = self.container.streams.video[0]
        codec = self.stream.codec_context.name
        if codec not in ALLOWED_CODECS:
            raise InputRejected("video_format_unsupported", f"codec {codec}")
        width, height = int(self.stream.width or 0), int(self.stream.height or 0)
        if width <= 0 or height <= 0:
            raise InputRejected("video_unreadable", "no frame size")
        if max(width, height) > limits.max_long_side or width * height > limits.max_pixels:
            raise InputRejected("video_resolution_too_high", f"{width}x{height}")
        if min(width, height) < limits.min_short_side:
            raise InputRejected("video_resolution_too_low", f"{width}x{height}")
        duration = self._declared_duration()
        if duration is not None and duration > limits.max_duration_s:
            raise InputRejected("video_too_long", f"{duration:.1f} s")
        self.codec = codec
        self.container_format = fmt
        self.width, self.height = width, height
        self.declared_duration = duration
        self.stream.thread_type = "AUTO"
        self.work_scale = min(1.0, limits.work_long_side / max(width, height))
        self.rotation = 0

    def _declared_duration(self) -> float | None:
        if self.container.duration:
            return float(self.container.duration) / 1_000_000
        if self.stream.duration and self.stream.time_base:
            return float(self.stream.duration * self.stream.time_base)
        return None

    def __iter__(self) -> Iterator[Frame]:
        import av

        limits = self.limits
        step = 1.0 / limits.analysis_fps
        next_t = 0.0
        started = time.perf_counter()
        first_pts: float | None = None
        index = 0
        ww = max(2, round(self.width * self.work_scale) // 2 * 2)
        wh = max(2, round(self.height * self.work_scale) // 2 * 2)
        frames = self.container.decode(self.stream)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                break
            except (av.error.FFmpegError, ValueError) as err:
                if index == 0:
                    raise InputRejected("video_unreadable", str(err)) from err
                self.truncated = True
                break
            self.decoded_frames += 1
            elapsed = time.perf_counter() - started
            if elapsed > limits.max_decode_s:
                raise InputRejected("decode_timeout", f"{elapsed:.1f} s")
            if self.decoded_frames > limits.max_decoded_frames:
                raise InputRejected(
                    "video_too_long", f"more than {limits.max_decoded_frames} frames"
                )
            if frame.time is None:
                t_abs = self.decoded_frames / float(self.stream.average_rate or 30)
            else:
                t_abs = float(frame.time)
            if first_pts is None:
                first_pts = t_abs
                self.rotation = _clockwise_rotation(float(frame.rotation or 0))
            t = t_abs - first_pts
            if t > limits.max_duration_s:
                raise InputRejected("video_too_long", f"over {limits.max_duration_s:.0f} s")
            if t + 1e-6 < next_t:
                continue
            next_t = max(next_t + step, t)
            image = frame.reformat(
                width=ww, height=wh, format="bgr24", interpolation="AREA"
            ).to_ndarray()
            image = np.ascontiguousarray(_rotate(image, self.rotation))
            yield Frame(index, t, image, self.work_scale)
            index += 1
        self.decode_seconds = time.perf_counter() - started

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prefetch(frames: Iterable[Frame], depth: int = 16) -> Iterator[Frame]:
    """Decode in a background thread while the caller analyses (two cores, two stages).

    Errors raised while decoding (InputRejected included) reach the caller; if the
    caller stops early the decoder stops too.
    """
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for frame in frames:
                if not put(frame):
                    return
            put(done)
        except BaseException as err:  # noqa: BLE001 - handed to the consumer, re-raised there
            put(err)

    thread = threading.Thread(target=produce, name="video-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, Frame)
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
