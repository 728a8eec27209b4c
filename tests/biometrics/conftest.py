"""Real models on real faces: the shared models and face data, never mocks."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from biometrics.engine import Engine, Verdict
from biometrics.recognition import Template
from models.store import ModelStore
from tests.conftest import SHARED

FACEDATA = SHARED / "facedata"
SELFIES = FACEDATA / "videos" / "selfie"
MODEL_DIR = Path(os.environ.get("LIFECERT_MODEL_DIR", SHARED / "models"))

# The actions each shared selfie clip contains, in order (checked by eye on the clips;
# docs/calibration/liveness_scores.md lists what the engine sees in each).
CLIP_ACTIONS: dict[str, list[str]] = {
    "driving_d0": ["blink"],
    "driving_d10": ["open_mouth", "blink"],
    "driving_d11": ["open_mouth", "blink"],
    "driving_d12": ["blink", "open_mouth"],
    "driving_d3": ["blink", "turn_left", "open_mouth"],
    "driving_d6": ["blink", "open_mouth", "nod"],
    "driving_d9": ["blink", "nod"],
    "talking_head_aoc": ["blink", "open_mouth"],
}


def frame_at(path: Path, t: float) -> np.ndarray:
    container = av.open(str(path))
    try:
        for frame in container.decode(container.streams.video[0]):
            if float(frame.time or 0) >= t:
                return frame.to_ndarray(format="bgr24")
    finally:
        container.close()
    raise AssertionError(f"{path} is shorter than {t} s")


def jpeg(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return bytes(buf.tobytes())


@pytest.fixture(scope="session")
def engine() -> Engine:
    if not (MODEL_DIR / "detection" / "yunet_s_dynamic.onnx").exists():
        pytest.fail(f"the shared models are needed in {MODEL_DIR} (python -m models fetch)")
    eng = Engine(ModelStore.open(MODEL_DIR))
    eng.warm_up()
    return eng


@pytest.fixture(scope="session")
def template_of(engine: Engine) -> Callable[[str], Template]:
    """The enrolled template of a clip's person: a frame of that clip (0.5 s in)."""

    @cache
    def make(clip: str) -> Template:
        return engine.enrol(jpeg(frame_at(SELFIES / f"{clip}.mp4", 0.5))).template

    return make


@pytest.fixture(scope="session")
def verdict_of(engine: Engine, template_of: Callable[[str], Template]) -> Callable[..., Verdict]:
    @cache
    def run(video: str, challenge: tuple[str, ...], person: str) -> Verdict:
        return engine.verify(video, list(challenge), [template_of(person)])

    return run
