"""Active liveness: were the asked actions performed, in the asked order?

Each action is found as an event in the landmark time series, measured against the
person's own values, so small eyes, glasses and a slightly tilted phone do not matter:
- a blink is a short dip of the eye opening, and rise of the eye-closed state, against the
  frames just before and after it (the eyes reopen within ``blink_half_window_s``); read at
  the clip's own frame rate around the moment (see tracking), with no minimum duration, so a
  blink shut for a single frame counts and so does an elderly person's slow one;
- a head turn is what the labels call one: the head rotates by ``turn_swing_deg`` and ends at
  least ``turn_end_deg`` towards that side (0 = facing the camera);
- a nod goes down against the resting pose and comes back up;
- an open mouth opens wide against its resting opening.
Timing is generous: an action may take as long as the person needs; only the order matters:
each action must start after the previous one was done (a blink at its deepest, a movement
once it went as far as asked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from biometrics.config import ChallengeConfig
from biometrics.tracking import Observation


class Action(StrEnum):
    BLINK = "blink"
    TURN_LEFT = "turn_left"  # the person's own left
    TURN_RIGHT = "turn_right"
    OPEN_MOUTH = "open_mouth"
    NOD = "nod"


@dataclass(frozen=True, slots=True)
class Event:
    action: Action
    start: float
    peak: float
    end: float
    strength: float  # how far past the threshold, for explanations

    def as_dict(self) -> dict[str, float | str]:
        return {
            "action": self.action.value,
            "start": round(self.start, 2),
            "peak": round(self.peak, 2),
            "end": round(self.end, 2),
        }


@dataclass(frozen=True, slots=True)
class ChallengeResult:
    asked: tuple[Action, ...]
    passed: bool
    matched: tuple[Event, ...]
    seen: tuple[Event, ...]
    missing: tuple[Action, ...]
    wrong_order: bool


def parse_actions(raw: Sequence[str]) -> tuple[Action, ...]:
    try:
        return tuple(Action(a.strip()) for a in raw if a.strip())
    except ValueError as err:
        known = ", ".join(a.value for a in Action)
        raise ValueError(f"unknown challenge action ({err}); known: {known}") from None


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Index ranges [i, j] where mask is True."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, value in enumerate(mask):
        if value and start is None:
            start = i
        elif not value and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(mask) - 1))
    return runs


def valley_depth(
    t: npt.NDArray[np.float64], x: npt.NDArray[np.float64], half: float
) -> npt.NDArray[np.float64]:
    """How far each sample lies below the lower of the highest values within ``half`` seconds
    before it and after it: the depth of a short dip; 0 where either side has no sample (the
    start or the end of the clip) or the signal does not come back up."""
    out = np.zeros(len(x))
    lo = np.searchsorted(t, t - half, side="left")
    hi = np.searchsorted(t, t + half, side="right")
    for i in range(len(x)):
        if lo[i] >= i or hi[i] <= i + 1:
            continue
        out[i] = max(0.0, min(float(x[lo[i] : i].max()), float(x[i + 1 : hi[i]].max())) - x[i])
    return out


@dataclass(frozen=True, slots=True)
class Series:
    """The time series the detectors read, from the observations of one video."""

    head_t: npt.NDArray[np.float64]  # base frames (an even sampling, for nods)
    head_pitch: npt.NDArray[np.float64]  # degrees, head down positive (NaN where unreadable)
    turn_t: npt.NDArray[np.float64]  # every frame read, profiles included (a turn's furthest
    turn_yaw: npt.NDArray[np.float64]  # is read at the clip's rate), degrees, own left positive
    t: npt.NDArray[np.float64]  # readable frames (the face turned little enough)
    ear: npt.NDArray[np.float64]  # eye opening (mean of both eyes)
    eye_closed: npt.NDArray[np.float64]  # eye-closed logit
    mar: npt.NDArray[np.float64]  # mouth opening / width
    yaw: npt.NDArray[np.float64]
    pitch: npt.NDArray[np.float64]  # degrees, head down positive


def series(observations: Sequence[Observation], *, mirrored: bool = False) -> Series:
    tracked = sorted((o for o in observations if o.measures is not None), key=lambda o: o.t)
    sign = -1.0 if mirrored else 1.0
    head = [o.measures for o in tracked if o.base and o.measures is not None]
    head_readable = [o.readable for o in tracked if o.base]
    read = [o for o in tracked if o.features]
    m = [o.measures for o in read if o.measures is not None]
    return Series(
        head_t=np.array([o.t for o in tracked if o.base], dtype=np.float64),
        turn_t=np.array([o.t for o in tracked], dtype=np.float64),
        turn_yaw=np.array([o.measures.yaw for o in tracked if o.measures], dtype=np.float64) * sign,
        head_pitch=np.array(
            [x.pitch if ok else np.nan for x, ok in zip(head, head_readable, strict=True)],
            dtype=np.float64,
        ),
        t=np.array([o.t for o in read], dtype=np.float64),
        ear=np.array([x.ear for x in m], dtype=np.float64),
        eye_closed=np.array([x.eye_closed for x in m], dtype=np.float64),
        mar=np.array([x.mar for x in m], dtype=np.float64),
        yaw=np.array([x.yaw for x in m], dtype=np.float64) * sign,
        pitch=np.array([x.pitch for x in m], dtype=np.float64),
    )


def blink_components(
    s: Series, config: ChallengeConfig
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Times, the dip of the eye opening (relative to the open eye) and the rise of the
    eye-closed logit at every frame where the eyes can be read, against the frames just
    before and after it."""
    if s.t.size < 3:
        empty = np.zeros(0)
        return empty, empty, empty
    steady = (np.abs(s.yaw - np.median(s.yaw)) < config.max_pose_for_eyes) & (
        np.abs(s.pitch - np.median(s.pitch)) < config.max_pose_for_eyes
    )
    t, ear, closed = s.t[steady], s.ear[steady], s.eye_closed[steady]
    if t.size < 3:
        empty = np.zeros(0)
        return empty, empty, empty
    half = config.blink_half_window_s
    open_eye = float(np.median(ear)) or 1e-6
    return t, valley_depth(t, ear, half) / open_eye, valley_depth(t, -closed, half)


def blink_evidence(
    dip: npt.NDArray[np.float64], rise: npt.NDArray[np.float64], config: ChallengeConfig
) -> npt.NDArray[np.float64]:
    """Both signals in units of a typical blink, summed."""
    out: npt.NDArray[np.float64] = dip / config.blink_ear_scale + rise / config.blink_logit_scale
    return out


def turn_components(
    t: npt.NDArray[np.float64], yaw: npt.NDArray[np.float64], sign: float, config: ChallengeConfig
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Towards one side: how far the head rotated from the pose of the last few seconds
    (swing), and where it is, 0 = facing the camera (a single wild sample is not believed:
    its neighbours must agree)."""
    toward = yaw * sign
    if toward.size == 0:
        return toward, toward
    lo = np.searchsorted(t, t - config.turn_lookback_s, side="left")
    swing = np.array([toward[i] - float(toward[lo[i] : i + 1].min()) for i in range(len(t))])
    steady = np.minimum(toward, np.maximum(np.roll(toward, 1), np.roll(toward, -1)))
    steady[0], steady[-1] = toward[0], toward[-1]
    return swing, steady


def _merge(events: list[Event]) -> list[Event]:
    """One event per action where runs overlap (noise splits a slow movement into pieces)."""
    merged: list[Event] = []
    for event in events:
        prev = next((m for m in reversed(merged) if m.action is event.action), None)
        if prev is not None and event.start <= prev.end:
            stronger = event if event.strength > prev.strength else prev
            merged[merged.index(prev)] = Event(
                event.action, prev.start, stronger.peak, max(prev.end, event.end), stronger.strength
            )
        else:
            merged.append(event)
    return merged


class ChallengeDetector:
    def __init__(self, config: ChallengeConfig, *, mirrored: bool = False) -> None:
        self.config = config
        self.mirrored = mirrored

    def events(self, observations: Sequence[Observation]) -> list[Event]:
        s = series(observations, mirrored=self.mirrored)
        events: list[Event] = []
        if s.turn_t.size >= 3:  # head turns: every frame read, profiles included
            events += self._turns(s.turn_t, s.turn_yaw)
        nod = ~np.isnan(s.head_pitch)
        if nod.sum() >= 3:  # nods: base frames where the face can be read
            events += self._nods(s.head_t[nod], s.head_pitch[nod])
        if s.t.size >= 3:  # eyes and mouth: every frame read where the face can be read
            events += self._blinks(s)
            events += self._mouth(s.t, s.mar)
        return _merge(sorted(events, key=lambda e: (e.start, e.peak)))

    def _blinks(self, s: Series) -> list[Event]:
        t, dip, rise = blink_components(s, self.config)
        evidence = blink_evidence(dip, rise, self.config)
        events = []
        for i, j in _runs(evidence >= self.config.blink_threshold):
            k = i + int(np.argmax(evidence[i : j + 1]))
            events.append(
                Event(Action.BLINK, float(t[i]), float(t[k]), float(t[j]), float(evidence[k]))
            )
        return events

    def _turns(self, t: npt.NDArray[np.float64], yaw: npt.NDArray[np.float64]) -> list[Event]:
        cfg = self.config
        events = []
        for action, sign in ((Action.TURN_LEFT, 1.0), (Action.TURN_RIGHT, -1.0)):
            swing, steady = turn_components(t, yaw, sign, cfg)
            hit = (swing >= cfg.turn_swing_deg) & (steady >= cfg.turn_end_deg)
            for i, j in _runs(hit):
                k = i + int(np.argmax(steady[i : j + 1]))
                events.append(Event(action, float(t[i]), float(t[k]), float(t[j]), float(swing[k])))
        return events

    def _mouth(self, t: npt.NDArray[np.float64], mar: npt.NDArray[np.float64]) -> list[Event]:
        cfg = self.config
        rest = float(np.percentile(mar, 25))
        limit = max(cfg.mouth_open_mar, rest + cfg.mouth_open_gain)
        events = []
        for i, j in _runs(mar >= limit):
            k = i + int(np.argmax(mar[i : j + 1]))
            events.append(
                Event(Action.OPEN_MOUTH, float(t[i]), float(t[k]), float(t[j]), float(mar[k]))
            )
        return events

    def _nods(self, t: npt.NDArray[np.float64], pitch: npt.NDArray[np.float64]) -> list[Event]:
        cfg = self.config
        rest = float(np.median(pitch))
        delta = pitch - rest
        events = []
        for i, j in _runs(delta >= cfg.nod_deg):
            k = i + int(np.argmax(delta[i : j + 1]))
            dip = float(delta[k])
            # the head must come back up by part of the dip afterwards
            back = np.nonzero(delta[j + 1 :] <= dip * (1 - cfg.nod_return))[0]
            if back.size == 0:
                continue
            end = j + 1 + int(back[0])
            events.append(Event(Action.NOD, float(t[i]), float(t[k]), float(t[end]), dip))
        return events

    def evaluate(
        self, asked: Sequence[Action], observations: Sequence[Observation]
    ) -> ChallengeResult:
        seen = self.events(observations)
        matched: list[Event] = []
        cursor = -1.0
        for action in asked:
            found = next((e for e in seen if e.action is action and e.start >= cursor), None)
            if found is None:
                break
            matched.append(found)
            # the next action may start once this one is done: a blink at its deepest, a
            # movement once it reached what was asked (a person may blink while holding a
            # turned head)
            cursor = found.peak if action is Action.BLINK else found.start
        passed = len(matched) == len(asked)
        seen_kinds = {e.action for e in seen}
        missing = tuple(a for a in asked if a not in seen_kinds)
        return ChallengeResult(
            asked=tuple(asked),
            passed=passed,
            matched=tuple(matched),
            seen=tuple(seen),
            missing=missing,
            wrong_order=not passed and not missing,
        )
