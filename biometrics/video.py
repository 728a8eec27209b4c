"""Decoding uploads with PyAV: what phones and WeChat send, within hard limits.

The reader checks the container, codec, size and duration before decoding,
then streams every decoded frame; a frame becomes a picture (upright from the
display matrix, scaled to the working size) only when the analysis asks for
it. It never keeps the whole video.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np
import numpy.typing as npt

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
    work_long_side: int = 640


_FULL_RANGE = {"yuvj420p"}
_PLANAR = {"yuv420p", "yuvj420p"}
# 8-bit limited range (what phones record, unless the stream says full range) to full range,
# then OpenCV's full-range BT.601 YCrCb -> BGR: the conversion swscale makes by default
_LUMA = np.clip((np.arange(256) - 16) * 255 / 219 + 0.5, 0, 255).astype(np.uint8)
_CHROMA = np.clip((np.arange(256) - 128) * 255 / 224 + 128.5, 0, 255).astype(np.uint8)


def _plane(frame: Any, index: int) -> npt.NDArray[np.uint8]:
    plane = frame.planes[index]
    data: npt.NDArray[np.uint8] = np.frombuffer(plane, dtype=np.uint8)
    return data.reshape(plane.height, plane.line_size)[:, : plane.width]


def _warp_plane(
    plane: npt.NDArray[np.uint8], to_out: npt.NDArray[np.float64], size: tuple[int, int]
) -> npt.NDArray[np.uint8]:
    """``plane`` mapped through ``to_out`` (3x3, plane pixels -> output pixels). A strong
    reduction (a large face in a 1080p frame) is first made over the region it covers with
    area averaging, as the working picture would be, so that the crop does not alias."""
    raw_per_out = 1.0 / math.sqrt(max(abs(float(np.linalg.det(to_out[:2, :2]))), 1e-12))
    if raw_per_out >= 3.0:
        inverse = np.linalg.inv(to_out)
        w, h = size
        corners = inverse @ np.array([[0, w, 0, w], [0, 0, h, h], [1, 1, 1, 1]], dtype=np.float64)
        x0 = max(0, math.floor(corners[0].min()) - 2)
        y0 = max(0, math.floor(corners[1].min()) - 2)
        x1 = min(plane.shape[1], math.ceil(corners[0].max()) + 3)
        y1 = min(plane.shape[0], math.ceil(corners[1].max()) + 3)
        if x1 - x0 >= 4 and y1 - y0 >= 4:
            f = int(raw_per_out / 1.5)
            rw, rh = max(1, (x1 - x0) // f), max(1, (y1 - y0) // f)
            small = as_u8(cv2.resize(plane[y0:y1, x0:x1], (rw, rh), interpolation=cv2.INTER_AREA))
            sx, sy = (x1 - x0) / rw, (y1 - y0) / rh
            # small pixel -> plane pixel (pixel centres), then on to the output
            back = np.array([[sx, 0, x0 + sx / 2 - 0.5], [0, sy, y0 + sy / 2 - 0.5], [0, 0, 1]])
            plane, to_out = small, to_out @ back
    return as_u8(
        cv2.warpAffine(
            plane, to_out[:2], size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    )


class Frame:
    """One decoded frame. Converting it to a picture costs time, so it happens only when the
    analysis asks, and only where it looks: ``warp`` makes a small crop (a face for the
    landmarks, a region for the detector) straight from the decoded planes; ``image`` makes
    the whole working picture (the detector's search, the kept frames). Most frames of a
    clip are never converted at all."""

    __slots__ = ("_image", "_reformat", "_rotation", "_size", "index", "scale", "source", "t")

    def __init__(
        self,
        index: int,
        t: float,
        source: Any,
        scale: float,
        size: tuple[int, int],
        rotation: int,
        reformat: Any = None,
    ) -> None:
        self.index = index  # position among decoded frames
        self.t = t  # seconds from the start
        self.source = source  # the decoded frame (av.VideoFrame) or a ready BGR array
        self.scale = scale  # working size / original size
        self._size = size  # working (width, height) before rotation
        self._rotation = rotation
        self._reformat = reformat
        self._image: Image | None = source if isinstance(source, np.ndarray) else None

    @property
    def size(self) -> tuple[int, int]:
        """The working picture's (width, height), upright."""
        if self._image is not None:
            return self._image.shape[1], self._image.shape[0]
        w, h = self._size
        return (h, w) if self._rotation in (90, 270) else (w, h)

    def _to_working(self) -> npt.NDArray[np.float64]:
        """3x3: decoded pixel (luma plane) -> upright working picture pixel."""
        w, h = self._size
        sx, sy = w / self.source.width, h / self.source.height
        scale = np.array([[sx, 0, sx / 2 - 0.5], [0, sy, sy / 2 - 0.5], [0, 0, 1]])
        turn = {
            0: np.eye(3),
            90: np.array([[0, -1, h - 1], [1, 0, 0], [0, 0, 1]], dtype=np.float64),
            180: np.array([[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]], dtype=np.float64),
            270: np.array([[0, 1, 0], [-1, 0, w - 1], [0, 0, 1]], dtype=np.float64),
        }[self._rotation]
        out: npt.NDArray[np.float64] = turn @ scale
        return out

    def warp(
        self, matrix: npt.NDArray[np.float64], size: tuple[int, int], *, gray: bool = False
    ) -> Image:
        """The working picture mapped through ``matrix`` (2x3, working pixel -> output pixel)
        into ``size``, BGR or gray, made from the decoded planes when they are 8-bit 4:2:0
        (what phones record), else from the working picture."""
        fmt = None if self._image is not None else getattr(self.source.format, "name", None)
        if fmt not in _PLANAR:
            image = as_u8(cv2.cvtColor(self.image, cv2.COLOR_BGR2GRAY)) if gray else self.image
            return as_u8(
                cv2.warpAffine(
                    image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
                )
            )
        to_out = np.vstack([np.asarray(matrix, dtype=np.float64), [0, 0, 1]]) @ self._to_working()
        y = _warp_plane(_plane(self.source, 0), to_out, size)
        full = fmt in _FULL_RANGE
        if not full:
            y = as_u8(cv2.LUT(y, _LUMA))
        if gray:
            return y
        chroma = to_out @ np.array([[2, 0, 0.5], [0, 2, 0.5], [0, 0, 1]], dtype=np.float64)
        u = _warp_plane(_plane(self.source, 1), chroma, size)
        v = _warp_plane(_plane(self.source, 2), chroma, size)
        if not full:
            u, v = as_u8(cv2.LUT(u, _CHROMA)), as_u8(cv2.LUT(v, _CHROMA))
        return as_u8(cv2.cvtColor(cv2.merge([y, v, u]), cv2.COLOR_YCrCb2BGR))

    def luma_outside(self, box: tuple[float, float, float, float]) -> float:
        """Mean luminance of the frame outside ``box`` (working picture pixels), on a coarse
        grid of the decoded luma: the background, for the backlight check."""
        fmt = None if self._image is not None else getattr(self.source.format, "name", None)
        if fmt not in _PLANAR:
            gray = cv2.cvtColor(self.image[::8, ::8], cv2.COLOR_BGR2GRAY).astype(np.float32)
            step_x = step_y = 8.0
            x1, y1, x2, y2 = box
        else:
            plane = _plane(self.source, 0)
            stride = max(1, round(8 / self.scale))
            gray = plane[::stride, ::stride].astype(np.float32)
            if fmt not in _FULL_RANGE:
                gray = (gray - 16) * (255 / 219)
            corners = np.linalg.inv(self._to_working()) @ np.array(
                [[box[0], box[2], box[0], box[2]], [box[1], box[1], box[3], box[3]], [1, 1, 1, 1]]
            )
            x1, x2 = float(corners[0].min()), float(corners[0].max())
            y1, y2 = float(corners[1].min()), float(corners[1].max())
            step_x = step_y = float(stride)
        inside = np.zeros(gray.shape, dtype=bool)
        inside[
            max(0, int(y1 / step_y)) : max(0, math.ceil(y2 / step_y)),
            max(0, int(x1 / step_x)) : max(0, math.ceil(x2 / step_x)),
        ] = True
        return float(gray[~inside].mean()) if (~inside).any() else float(gray.mean())

    @property
    def image(self) -> Image:
        """BGR, upright, scaled to the working size."""
        if self._image is None:
            w, h = self._size
            # one thread: swscale's automatic threads cost three times the CPU on frames this
            # small, and the workers run several clips side by side
            if self._reformat is not None:
                converted = self._reformat.reformat(
                    self.source, width=w, height=h, format="bgr24", interpolation="AREA", threads=1
                )
            else:
                converted = self.source.reformat(
                    width=w, height=h, format="bgr24", interpolation="AREA", threads=1
                )
            self._image = np.ascontiguousarray(_rotate(converted.to_ndarray(), self._rotation))
            self.source = None  # the decoder's buffer is not needed any more
        return self._image


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
        # one decoding thread (beside the analysis, see prefetch): frame or slice threads
        # decode sooner but cost 10-30 % more CPU in all, and the workers run several clips
        # side by side (decision 0012)
        self.stream.thread_count = 1
        self.work_scale = min(1.0, limits.work_long_side / max(width, height))
        self.rotation = 0

    def _declared_duration(self) -> float | None:
        if self.container.duration:
            return float(self.container.duration) / 1_000_000
        if self.stream.duration and self.stream.time_base:
            return float(self.stream.duration * self.stream.time_base)
        return None

    def __iter__(self) -> Iterator[Frame]:
        """Every decoded frame, in order (converted to a picture only when asked)."""
        import av
        from av.video.reformatter import VideoReformatter

        limits = self.limits
        started = time.perf_counter()
        first_pts: float | None = None
        ww = max(2, round(self.width * self.work_scale) // 2 * 2)
        wh = max(2, round(self.height * self.work_scale) // 2 * 2)
        reformatter = VideoReformatter()
        rate = float(self.stream.average_rate or 30)
        frames = self.container.decode(self.stream)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                break
            except (av.error.FFmpegError, ValueError) as err:
                if self.decoded_frames == 0:
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
            t_abs = self.decoded_frames / rate if frame.time is None else float(frame.time)
            if first_pts is None:
                first_pts = t_abs
                self.rotation = _clockwise_rotation(float(frame.rotation or 0))
            t = t_abs - first_pts
            if t > limits.max_duration_s:
                raise InputRejected("video_too_long", f"over {limits.max_duration_s:.0f} s")
            yield Frame(
                self.decoded_frames - 1,
                t,
                frame,
                self.work_scale,
                (ww, wh),
                self.rotation,
                reformatter,
            )
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
