"""Active liveness: were the asked actions performed, in the asked order?

Each action is found as an event in the landmark time series, measured against
the person's own resting values (eye openness and head pose differ from person
to person), so small eyes, glasses and a slightly tilted phone do not matter.
Timing is generous: an action may take as long as the person needs; only the
order matters, and each action must start after the previous one peaked.
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
        tracked = [o for o in observations if o.measures is not None]
        if len(tracked) < 3:
            return []
        t = np.array([o.t for o in tracked])
        m = [o.measures for o in tracked]
        assert all(x is not None for x in m)
        ear_r = np.array([x.ear_right for x in m if x is not None])
        ear_l = np.array([x.ear_left for x in m if x is not None])
        mar = np.array([x.mar for x in m if x is not None])
        yaw = np.array([x.yaw for x in m if x is not None]) * (-1 if self.mirrored else 1)
        pitch = np.array([x.pitch for x in m if x is not None])
        events: list[Event] = []
        events += self._blinks(t, ear_r, ear_l, yaw, pitch)
        events += self._turns(t, yaw)
        events += self._mouth(t, mar)
        events += self._nods(t, pitch)
        return _merge(sorted(events, key=lambda e: (e.start, e.peak)))

    def _hold_ok(self, t: npt.NDArray[np.float64], i: int, j: int) -> bool:
        # a single sampled frame counts as one frame interval of hold
        dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.07
        return float(t[j] - t[i]) + dt >= self.config.min_hold_s - 1e-6

    def _blinks(
        self,
        t: npt.NDArray[np.float64],
        ear_r: npt.NDArray[np.float64],
        ear_l: npt.NDArray[np.float64],
        yaw: npt.NDArray[np.float64],
        pitch: npt.NDArray[np.float64],
    ) -> list[Event]:
        cfg = self.config
        frontal = (np.abs(yaw - np.median(yaw)) < cfg.max_pose_for_eyes) & (
            np.abs(pitch - np.median(pitch)) < cfg.max_pose_for_eyes
        )
        if frontal.sum() < 3:
            return []
        base_r = float(np.percentile(ear_r[frontal], 75))
        base_l = float(np.percentile(ear_l[frontal], 75))
        closed = frontal & (ear_r < cfg.blink_drop * base_r) & (ear_l < cfg.blink_drop * base_l)
        opened = (ear_r > cfg.blink_reopen * base_r) & (ear_l > cfg.blink_reopen * base_l)
        events = []
        for i, j in _runs(closed):
            if float(t[j] - t[i]) > cfg.blink_max_s:
                continue  # eyes kept shut, not a blink
            before = opened[:i].any()
            after = opened[j + 1 :].any()
            if not (before and after):
                continue
            k = i + int(np.argmin(ear_r[i : j + 1] + ear_l[i : j + 1]))
            depth = 1 - float(ear_r[k] + ear_l[k]) / (base_r + base_l)
            events.append(Event(Action.BLINK, float(t[i]), float(t[k]), float(t[j]), depth))
        return events

    def _turns(self, t: npt.NDArray[np.float64], yaw: npt.NDArray[np.float64]) -> list[Event]:
        cfg = self.config
        rest = float(np.median(yaw))
        events = []
        for action, sign in ((Action.TURN_LEFT, 1.0), (Action.TURN_RIGHT, -1.0)):
            delta = (yaw - rest) * sign
            for i, j in _runs(delta >= cfg.turn_deg):
                if not self._hold_ok(t, i, j):
                    continue
                k = i + int(np.argmax(delta[i : j + 1]))
                events.append(Event(action, float(t[i]), float(t[k]), float(t[j]), float(delta[k])))
        return events

    def _mouth(self, t: npt.NDArray[np.float64], mar: npt.NDArray[np.float64]) -> list[Event]:
        cfg = self.config
        rest = float(np.percentile(mar, 25))
        limit = max(cfg.mouth_open_mar, rest + cfg.mouth_open_gain)
        events = []
        for i, j in _runs(mar >= limit):
            if not self._hold_ok(t, i, j):
                continue
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
            if back.size == 0 or not self._hold_ok(t, i, j):
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
            cursor = found.peak
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
