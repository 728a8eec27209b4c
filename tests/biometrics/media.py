"""Making test videos from the shared clips (formats, rotation, damage, light)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np


def clip_frames(path: Path, seconds: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    container = av.open(str(path))
    try:
        for frame in container.decode(container.streams.video[0]):
            t = float(frame.time or 0)
            if seconds is not None and t > seconds:
                return
            yield t, frame.to_ndarray(format="bgr24")
    finally:
        container.close()


def encode(
    frames: Iterator[np.ndarray],
    path: Path,
    *,
    codec: str = "libx264",
    rate: int = 30,
    rotation: int | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    out = av.open(str(path), "w")
    stream = None
    for frame in frames:
        if stream is None:
            stream = out.add_stream(codec, rate=rate)
            stream.height, stream.width = (
                frame.shape[0] - frame.shape[0] % 2,
                frame.shape[1] - frame.shape[1] % 2,
            )
            stream.pix_fmt = "yuv420p"
            stream.options = options or ({"preset": "ultrafast"} if codec == "libx264" else {})
            if rotation is not None:
                stream.set_display_rotation(rotation)
        frame = frame[: stream.height, : stream.width]
        for packet in stream.encode(
            av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="bgr24")
        ):
            out.mux(packet)
    assert stream is not None
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path


def transformed(
    clip: Path,
    path: Path,
    fn: Callable[[np.ndarray], np.ndarray],
    seconds: float | None = None,
    **kw: object,
) -> Path:
    """The clip with every frame passed through ``fn``, at the clip's own frame rate."""
    container = av.open(str(clip))
    rate = round(float(container.streams.video[0].average_rate or 30))
    container.close()
    return encode((fn(f) for _, f in clip_frames(clip, seconds)), path, rate=rate, **kw)  # type: ignore[arg-type]


def audio_only(path: Path, seconds: float = 3.0) -> Path:
    out = av.open(str(path), "w")
    stream = out.add_stream("aac", rate=44100)
    samples = np.zeros((1, 1024), dtype=np.float32)
    for i in range(int(seconds * 44100 / 1024)):
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 44100
        frame.pts = i * 1024
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path


def still(
    image: np.ndarray,
    path: Path,
    seconds: float,
    rate: int = 30,
    size: tuple[int, int] | None = None,
) -> Path:
    if size is not None:
        image = cv2.resize(image, size)
    return encode((image for _ in range(int(seconds * rate))), path, rate=rate)


ATTACK_SEEDS = {"still": 3, "print": 4, "screen": 5}


def render_attack(kind: str, clip: str, out: str) -> str:
    """One attack video made from a shared selfie clip: a still photo held to the camera, a
    printed photo, or the clip replayed on a screen (run in a background process). A render
    already in ``out`` is kept (renders are the same every time); while one process makes
    it, another asking for it waits for it (a lock beside it) instead of making it too; it
    is written aside and moved in, so nobody reads one half-written."""
    import fcntl
    import os

    path = Path(out)
    with path.with_name(f".{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            aside = path.with_name(f".part-{path.name}")
            _render(kind, clip, aside)
            os.replace(aside, path)
    return out


def _render(kind: str, clip: str, path: Path) -> None:
    from biometrics.attacks import print_video, screen_replay, still_video
    from tests.biometrics.conftest import SELFIES, frame_at

    source, seed = SELFIES / f"{clip}.mp4", ATTACK_SEEDS[kind]
    if kind == "still":
        still_video(frame_at(source, 0.5), path, seed=seed)
    elif kind == "print":
        print_video(frame_at(source, 0.5), path, seed=seed)
    else:
        screen_replay(source, path, seed=seed)


class AttackRenders:
    """The attack videos, rendered by a background process while the engine judges the ones
    already made: each asked for is started with the next few in ``jobs`` (the order the
    tests ask), so a test process renders only what its tests need. The folder is shared by
    the test processes: a render one of them made is not made again."""

    def __init__(self, folder: Path, jobs: list[tuple[str, str]], ahead: int = 3) -> None:
        import multiprocessing
        from concurrent.futures import Future, ProcessPoolExecutor

        self.folder, self.jobs, self.ahead = folder, jobs, ahead
        folder.mkdir(parents=True, exist_ok=True)
        # spawn: the test process holds ONNX sessions and threads that a fork would copy
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self.futures: dict[tuple[str, str], Future[str]] = {}

    def path(self, kind: str, clip: str) -> Path:
        at = self.jobs.index((kind, clip))
        for job in self.jobs[at : at + 1 + self.ahead]:
            if job not in self.futures:
                out = str(self.folder / f"{job[0]}_{job[1]}.mp4")
                self.futures[job] = self.pool.submit(render_attack, *job, out)
        return Path(self.futures[(kind, clip)].result())

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)
