"""The face check on every labelled clip of other people, through the evaluation harness.

These are the product's acceptance figures (docs/calibration/evaluation.md), re-measured on
each run: live people asked for the actions they performed are accepted, at every age band;
attacks made from the clips of the oldest people are refused. The calibration's held-out
figures (each person judged by thresholds fitted without them) are in
docs/calibration/heldout.md.
"""

import subprocess
import sys

import pytest

from biometrics.calibrate import labelled_clips
from biometrics.evaluate import evaluate, read_labels
from tests.biometrics.conftest import FACEDATA, MODEL_DIR
from tests.conftest import PROJECT

LABELS = FACEDATA / "videos" / "labelled" / "labels.tsv"


@pytest.fixture(scope="module")
def everyone(engine):
    return evaluate(engine, labelled_clips(FACEDATA))


def test_live_people_are_accepted_at_every_age(everyone):
    summary = everyone.summary()
    live = summary["live_acceptance"]
    # 64 of 66: the two refused trials are one borderline head turn (below)
    assert live["trials"] == 66 and live["correct"] >= 64, everyone.wrong()
    for band, entry in summary["by_age_band"].items():
        assert entry["rate"] >= 0.95, (band, everyone.wrong())
    # blinks, mouths and nods as people do them; the one turn refused is a 20-degree
    # conversational turn that the labels call borderline (decision 0012)
    for action in ("blink", "open_mouth", "nod", "turn_right"):
        assert summary["by_action"][action]["rate"] >= 0.95, (action, everyone.wrong())
    assert summary["by_action"]["turn_left"]["rate"] >= 0.8


def test_clips_below_the_capture_minimum_are_not_counted(everyone):
    assert set(everyone.excluded) == {"pcavs_1", "pcavs_2", "pcavs_4", "pcavs_7"}
    assert set(everyone.excluded.values()) == {"video_resolution_too_low"}


def test_the_labels_are_read_with_people_and_order(tmp_path):
    clips = {c.name: c for c in read_labels(LABELS, LABELS.parent)}
    # "SAME PERSON as lipnet_3" in the notes: one person for the held-out splits
    assert clips["lipnet_8"].person == clips["lipnet_3"].person
    assert clips["dpe_1"].person == clips["dpe_2"].person
    assert clips["aniportrait_1"].person != clips["tss_1"].person
    # the sequence follows the times: turn_right, then blink, then turn_left, then nod
    assert clips["headposeest_1"].sequence() == ("turn_right", "blink", "turn_left", "nod")
    # blinks the labeller could not confirm are never held against the engine
    assert "blink" in clips["faceanimrt_1"].uncertain
    assert "blink" not in clips["faceanimrt_1"].absent()


def test_attacks_made_from_the_oldest_peoples_clips_are_refused(engine, tmp_path):
    old = [c for c in labelled_clips(FACEDATA) if c.age_band in ("60-74", "75+") and c.actions]
    assert {c.name for c in old} >= {"aniportrait_1", "tss_1"}
    result = evaluate(engine, old, attacks=True, work=tmp_path)
    attacks = [t for t in result.trials if t.kind in ("still", "print", "screen")]
    assert len(attacks) >= 10
    assert all(t.decision != "pass" for t in attacks), [t for t in attacks if t.correct is False]
    assert all(t.decision == "pass" for t in result.live())


def test_cli_evaluate_prints_the_figures(tmp_path):
    labels = tmp_path / "labels.tsv"
    rows = LABELS.read_text(encoding="utf-8").splitlines()
    keep = [rows[0]] + [r for r in rows[1:] if r.split("\t")[0] in ("lipnet_1.mp4", "lipnet_5.mp4")]
    labels.write_text("\n".join(keep) + "\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "biometrics",
            "--models",
            str(MODEL_DIR),
            "evaluate",
            "--clips",
            str(LABELS.parent),
            "--labels",
            str(labels),
            "--out",
            str(tmp_path / "report.md"),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("live_acceptance=1.0 (1/1)"), result.stdout
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "live acceptance: 100.0 % (1/1)" in report
