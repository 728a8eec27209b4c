"""The evaluation harness: labelled live clips and attacks made from them, through the engine.

    python -m biometrics evaluate --clips DIR --labels FILE [--clips DIR --labels FILE ...]
        [--attacks] [--work DIR] [--out REPORT.md] [--json REPORT.json]

Labels are a TSV file with at least the columns ``file`` and ``actions`` (comma-separated);
optional: ``action_times`` (``blink@1.2;turn_left@3.0-3.6``: the order the actions were
performed in), ``apparent_age_band``, ``lighting``, ``notes`` and ``uncertain`` (actions that
may or may not be in the clip). Without times, ``actions`` is read in the order performed.

Every clip is analysed once; then it is asked, as a person would be:
- each action it contains, alone (the live person must pass);
- all its actions in the order performed, when there are two or more (must pass);
- each action it does not contain (the challenge must not be satisfied: these tell how often
  a recorded video of the person, replayed, would satisfy a random challenge).
With ``--attacks``, three attacks are made from each clip, as an attacker holding that
material would film them (``biometrics/attacks.py``): a frame of it held to the camera, the
same printed, and the clip replayed on a screen and refilmed; each is asked the clip's own
actions, and must not pass.

People are told apart by the labels' notes ("SAME PERSON as ..."), so that the calibration
can hold people out (``biometrics/calibrate.py``). Clips below the capture minimum (the
reader refuses them before analysis) are listed and not counted.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from biometrics.challenge import Action
from biometrics.config import EngineConfig
from biometrics.engine import Analysis, Engine, Verdict, decide
from biometrics.errors import InputRejected
from biometrics.recognition import Template

ACTIONS = tuple(a.value for a in Action)
ATTACK_KINDS = ("still", "print", "screen")
_SAME = re.compile(r"SAME PERSON as (\w+?)(?:\.mp4)?\b", re.IGNORECASE)
_PERSON = re.compile(r"person=([^;(]+?)\s*(?:\(|;|,|$)")


@dataclass(frozen=True, slots=True)
class LabelledClip:
    path: Path
    name: str
    person: str  # clips of one person share this (for leave-people-out splits)
    age_band: str
    lighting: str
    actions: tuple[str, ...]  # distinct, in the order first performed
    events: tuple[tuple[str, float, float], ...]  # (action, start, end); empty without times
    uncertain: frozenset[str] = frozenset()

    def sequence(self) -> tuple[str, ...]:
        """The clip's actions as one challenge, in an order the clip satisfies."""
        if not self.events:
            return self.actions
        chain: list[str] = []
        cursor = -1.0
        for action, start, end in sorted(self.events, key=lambda e: (e[1], e[2])):
            if action not in chain and start >= cursor:
                chain.append(action)
                cursor = end
        return tuple(chain)

    def absent(self) -> tuple[str, ...]:
        return tuple(a for a in ACTIONS if a not in self.actions and a not in self.uncertain)


def _uncertain(notes: str, column: str) -> frozenset[str]:
    out = {a.strip() for a in column.split(",") if a.strip()}
    if re.search(r"blink[^;]*UNCERTAIN|blinks not assessed", notes, re.IGNORECASE):
        out.add("blink")
    if re.search(r"uncertain direction", notes, re.IGNORECASE):
        out.update({"turn_left", "turn_right"})
    return frozenset(out)


def _events(times: str) -> list[tuple[str, float, float]]:
    events = []
    for part in filter(None, (p.strip() for p in times.split(";"))):
        action, _, when = part.partition("@")
        start, _, end = when.partition("-")
        events.append((action.strip(), float(start), float(end or start)))
    return events


def read_labels(labels: Path, clips: Path) -> list[LabelledClip]:
    with labels.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    # people: "SAME PERSON as X" in the notes, or the same person= name, join clips
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    named: dict[str, str] = {}
    for row in rows:
        stem = Path(row["file"]).stem
        find(stem)
        notes = row.get("notes") or ""
        for other in _SAME.findall(notes):
            parent[find(stem)] = find(Path(other).stem)
        person = _PERSON.search(notes)
        if person:
            key = person.group(1).strip().lower()
            if key in named:
                parent[find(stem)] = find(named[key])
            named.setdefault(key, stem)
    out = []
    for row in rows:
        stem = Path(row["file"]).stem
        events = _events(row.get("action_times") or "")
        listed = [a.strip() for a in (row.get("actions") or "").split(",") if a.strip()]
        order = [a for a, _, _ in sorted(events, key=lambda e: e[1])] if events else listed
        actions = tuple(dict.fromkeys(a for a in order + listed if a))
        for action in actions:
            Action(action)  # an unknown action in the labels is an error, not a silent skip
        out.append(
            LabelledClip(
                path=clips / row["file"],
                name=stem,
                person=find(stem),
                age_band=(row.get("apparent_age_band") or "unknown").strip() or "unknown",
                lighting=(row.get("lighting") or "unknown").strip() or "unknown",
                actions=actions,
                events=tuple(events),
                uncertain=_uncertain(row.get("notes") or "", row.get("uncertain") or ""),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Trial:
    clip: str
    person: str
    kind: str  # live | absent | still | print | screen
    challenge: tuple[str, ...]
    expect_pass: bool
    decision: str
    reasons: tuple[str, ...]
    challenge_passed: bool
    scores: dict[str, float | None]
    age_band: str
    lighting: str

    @property
    def correct(self) -> bool:
        if self.kind == "absent":
            return not self.challenge_passed
        return (self.decision == "pass") == self.expect_pass


@dataclass
class Evaluation:
    trials: list[Trial] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)  # clip -> why it was not counted
    analyses: dict[str, Analysis] = field(default_factory=dict)  # clip or attack -> analysis

    def rate(self, trials: Iterable[Trial]) -> tuple[int, int]:
        chosen = list(trials)
        return sum(t.correct for t in chosen), len(chosen)

    def live(self) -> list[Trial]:
        return [t for t in self.trials if t.kind == "live"]

    def summary(self) -> dict[str, Any]:
        def pct(pair: tuple[int, int]) -> dict[str, Any]:
            ok, n = pair
            return {"correct": ok, "trials": n, "rate": round(ok / n, 4) if n else None}

        live = self.live()
        single = [t for t in live if len(t.challenge) == 1]
        out: dict[str, Any] = {
            "live_acceptance": pct(self.rate(live)),
            "live_single_action": pct(self.rate(single)),
            "live_sequence": pct(self.rate(t for t in live if len(t.challenge) > 1)),
            "by_action": {
                a: pct(self.rate(t for t in single if t.challenge == (a,)))
                for a in ACTIONS
                if any(t.challenge == (a,) for t in single)
            },
            "by_age_band": {
                b: pct(self.rate(t for t in live if t.age_band == b))
                for b in sorted({t.age_band for t in live})
            },
            "by_lighting": {
                b: pct(self.rate(t for t in live if t.lighting == b))
                for b in sorted({t.lighting for t in live})
            },
            "absent_action_refused": {
                a: pct(
                    self.rate(t for t in self.trials if t.kind == "absent" and t.challenge == (a,))
                )
                for a in ACTIONS
                if any(t.kind == "absent" and t.challenge == (a,) for t in self.trials)
            },
            "attack_refusal": {
                k: pct(self.rate(t for t in self.trials if t.kind == k))
                for k in ATTACK_KINDS
                if any(t.kind == k for t in self.trials)
            },
            "excluded": dict(self.excluded),
            "frames_read_share": round(
                sum(a.video.get("analysed_frames", 0) for a in self.analyses.values())
                / max(1, sum(a.video.get("decoded_frames", 0) for a in self.analyses.values())),
                3,
            ),
        }
        return out

    def wrong(self) -> list[Trial]:
        return [t for t in self.trials if not t.correct]


def _trial(
    clip: LabelledClip, kind: str, challenge: Sequence[str], expect: bool, verdict: Verdict
) -> Trial:
    return Trial(
        clip=clip.name,
        person=clip.person,
        kind=kind,
        challenge=tuple(challenge),
        expect_pass=expect,
        decision=verdict.decision,
        reasons=tuple(verdict.reasons),
        challenge_passed=bool(verdict.challenge.get("passed")),
        scores={k: (None if v is None else round(v, 4)) for k, v in verdict.scores.items()},
        age_band=clip.age_band,
        lighting=clip.lighting,
    )


def enrolment_of(engine: Engine, clip: Path, analysis: Analysis) -> Template | None:
    """The clip's person enrolled from its best frame (the labelled clips have no ID photos).
    Where the enrolment gate refuses that frame (a dim or turned face), its embedding is taken
    without the gate: the harness judges the face check, not the enrolment photo."""
    if not analysis.best:
        return None
    ok, buf = cv2.imencode(".jpg", analysis.best[0].image)
    if not ok:
        return None
    try:
        return engine.enrol(buf.tobytes()).template
    except InputRejected:
        vector = engine.embed_photo(buf.tobytes())
        if vector is None:
            return None
        return Template(engine.embedder.name, engine.embedder.version, vector, "video_frame")


PHOTO_VARIANTS = 2  # stills and prints per clip: two frames, two hands


def make_clip_attacks(clip: LabelledClip, analysis: Analysis, work: Path) -> list[tuple[str, Path]]:
    """Stills and prints of two of the clip's best frames (each held by another hand), and the
    clip replayed on a screen; made once, then reused from ``work``."""
    from biometrics.attacks import print_video, screen_replay, still_video

    work.mkdir(parents=True, exist_ok=True)
    made: list[tuple[str, Path]] = []
    seed = sum(map(ord, clip.name))
    for i, kept in enumerate(analysis.best[:: max(1, len(analysis.best) - 1)][:PHOTO_VARIANTS]):
        suffix = f"_{i}" if i else ""
        for kind, render in (("still", still_video), ("print", print_video)):
            path = work / f"{kind}_{clip.name}{suffix}.mp4"
            if not path.exists():
                render(kept.image, path, seed=seed + 7 * i)
            made.append((kind, path))
    screen = work / f"screen_{clip.name}.mp4"
    if not screen.exists():
        screen_replay(clip.path, screen, seed=seed)
    made.append(("screen", screen))
    return made


def attack_key(kind: str, clip: str, path: str | Path) -> str:
    """``kind:clip`` or ``kind:clip#variant`` (the analyses of a calibration are kept by it)."""
    variant = Path(path).stem.removeprefix(f"{kind}_{clip}").lstrip("_")
    return f"{kind}:{clip}" + (f"#{variant}" if variant else "")


def evaluate(
    engine: Engine,
    clips: Sequence[LabelledClip],
    *,
    attacks: bool = False,
    work: Path | None = None,
    config: EngineConfig | None = None,
    log: Callable[[str], None] = lambda _: None,
    cached: dict[str, Analysis] | None = None,
    templates: dict[str, list[Template]] | None = None,
) -> Evaluation:
    """Every trial of every clip. ``config`` decides (the engine's own by default), so a
    calibration can re-decide cached analyses (and enrolments) under other operating points."""
    cfg = config or engine.config
    result = Evaluation()
    cache = cached if cached is not None else {}
    enrolled_by_clip = templates if templates is not None else {}
    for clip in clips:
        analysis = cache.get(clip.name) or engine.analyse(clip.path)
        cache[clip.name] = analysis
        result.analyses[clip.name] = analysis
        if analysis.rejected is not None and analysis.rejected.reason.code in (
            "video_resolution_too_low",
        ):
            result.excluded[clip.name] = analysis.rejected.reason.code
            continue
        if clip.name not in enrolled_by_clip:
            template = enrolment_of(engine, clip.path, analysis)
            enrolled_by_clip[clip.name] = [template] if template is not None else []

        def run(
            challenge: Sequence[str],
            a: Analysis = analysis,
            enrolled: list[Template] = enrolled_by_clip[clip.name],
        ) -> Verdict:
            return decide(a, challenge, enrolled, cfg)

        for action in clip.actions:
            result.trials.append(_trial(clip, "live", [action], True, run([action])))
        sequence = clip.sequence()
        if len(sequence) > 1:
            result.trials.append(_trial(clip, "live", sequence, True, run(sequence)))
        for action in clip.absent():
            result.trials.append(_trial(clip, "absent", [action], False, run([action])))
        made = [
            (key.split(":", 1)[0], key, key)
            for key in cache
            if ":" in key and key.split(":", 1)[1].split("#")[0] == clip.name
        ]
        if attacks and not made and work is not None:
            made = [
                (k, attack_key(k, clip.name, path), str(path))
                for k, path in make_clip_attacks(clip, analysis, work)
            ]
        if attacks:
            asked = sequence or ("blink",)
            for kind, key, source in made:
                attack = cache.get(key) or engine.analyse(source)
                cache[key] = attack
                result.analyses[key] = attack
                result.trials.append(_trial(clip, kind, asked, False, run(asked, attack)))
        log(f"{clip.name}: {sum(1 for t in result.trials if t.clip == clip.name)} trials")
    return result


def report(result: Evaluation, title: str) -> str:
    s = result.summary()

    def cell(entry: dict[str, Any]) -> str:
        if not entry["trials"]:
            return "-"
        return f"{entry['rate'] * 100:.1f} % ({entry['correct']}/{entry['trials']})"

    lines = [f"# {title}", ""]
    lines += [
        f"- live acceptance: {cell(s['live_acceptance'])} "
        f"(single actions {cell(s['live_single_action'])}, sequences {cell(s['live_sequence'])})",
    ]
    for name, key in (
        ("by action", "by_action"),
        ("by age band", "by_age_band"),
        ("by lighting", "by_lighting"),
        ("absent actions not seen", "absent_action_refused"),
        ("attacks refused", "attack_refusal"),
    ):
        lines.append(f"- {name}: " + ", ".join(f"{k} {cell(v)}" for k, v in s[key].items()))
    if result.excluded:
        lines.append(
            "- not counted (below the capture minimum): "
            + ", ".join(f"{k} ({v})" for k, v in sorted(result.excluded.items()))
        )
    lines += ["", "## Wrong decisions", ""]
    wrong = result.wrong()
    if not wrong:
        lines.append("None.")
    else:
        lines += [
            "| clip | kind | asked | decision | reasons | scores |",
            "|---|---|---|---|---|---|",
        ]
        for t in wrong:
            scores = ", ".join(f"{k} {v}" for k, v in t.scores.items() if v is not None)
            lines.append(
                f"| {t.clip} | {t.kind} | {' '.join(t.challenge)} | {t.decision} "
                f"| {' '.join(t.reasons) or '-'} | {scores} |"
            )
    return "\n".join(lines) + "\n"


def to_json(result: Evaluation) -> dict[str, Any]:
    by_clip: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in result.trials:
        by_clip[t.clip].append(
            {
                "kind": t.kind,
                "asked": list(t.challenge),
                "decision": t.decision,
                "reasons": list(t.reasons),
                "correct": t.correct,
            }
        )
    return {"summary": result.summary(), "trials": by_clip}


def write(result: Evaluation, title: str, out: Path | None, out_json: Path | None) -> None:
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report(result, title), encoding="utf-8")
    if out_json is not None:
        out_json.parent.mkdir(parents=True, exist_ok=True)
        out_json.write_text(json.dumps(to_json(result), indent=1) + "\n", encoding="utf-8")
