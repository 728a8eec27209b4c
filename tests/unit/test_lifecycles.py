"""Every record with a status moves only along its lifecycle; a decided record stays decided."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from certification.errors import RuleViolation, ValidationFailed
from certification.model import (
    Attempt,
    ChallengeSession,
    EnrolmentRequest,
    FamilyBinding,
    ReviewCase,
)
from certification.selfservice import (
    ATTEMPT_LIFECYCLE,
    BINDING_LIFECYCLE,
    CASE_LIFECYCLE,
    ENROLMENT_LIFECYCLE,
    SESSION_LIFECYCLE,
    AttemptStatus,
    BindingStatus,
    CaseStatus,
    EnrolmentStatus,
    SessionStatus,
)
from certification.states import Lifecycle, state_named
from certification.verification import (
    IMPORT_LIFECYCLE,
    RUN_LIFECYCLE,
    FeedImport,
    ImportStatus,
    RunStatus,
)

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
LIFECYCLES = [
    (SESSION_LIFECYCLE, SessionStatus),
    (ATTEMPT_LIFECYCLE, AttemptStatus),
    (CASE_LIFECYCLE, CaseStatus),
    (BINDING_LIFECYCLE, BindingStatus),
    (ENROLMENT_LIFECYCLE, EnrolmentStatus),
    (RUN_LIFECYCLE, RunStatus),
    (IMPORT_LIFECYCLE, ImportStatus),
]


@pytest.mark.parametrize(("lifecycle", "states"), LIFECYCLES)
def test_every_move_not_in_the_table_is_refused(lifecycle: Lifecycle, states):
    for current in states:
        for to in states:
            if lifecycle.allows(current, to):
                assert lifecycle.move(current, to) is to
            else:
                with pytest.raises(RuleViolation, match=f"{current.value} cannot become"):
                    lifecycle.move(current, to)


@pytest.mark.parametrize(("lifecycle", "states"), LIFECYCLES)
def test_every_state_is_reachable_from_the_first_and_final_states_stay(lifecycle, states):
    first = next(iter(states))
    reached, frontier = {first}, [first]
    while frontier:
        for to in lifecycle.moves.get(frontier.pop(), ()):
            if to not in reached:
                reached.add(to)
                frontier.append(to)
    unreachable = set(states) - reached
    # an import also starts running when the caller imports the file itself (the CLI)
    assert unreachable <= {ImportStatus.RUNNING} - {first}
    for state in states:
        if lifecycle.is_final(state):
            assert not lifecycle.moves.get(state)


def test_the_attempt_claim_in_sql_is_a_move_of_the_lifecycle():
    # storage.selfservice_repos.claim: pending -> processing, a timed-out claim again
    assert ATTEMPT_LIFECYCLE.allows(AttemptStatus.PENDING, AttemptStatus.PROCESSING)
    assert ATTEMPT_LIFECYCLE.allows(AttemptStatus.PROCESSING, AttemptStatus.PROCESSING)
    assert not ATTEMPT_LIFECYCLE.allows(AttemptStatus.DECIDED, AttemptStatus.PROCESSING)


def test_a_session_expires_once_and_cannot_then_be_submitted():
    session = ChallengeSession(
        person_id=uuid4(),
        requested_by=uuid4(),
        nonce="n",
        actions=["blink"],
        seconds_per_action=3,
        max_video_seconds=15,
        expires_at=NOW,
        upload_key="k",
    )
    assert session.expire_if_due(NOW - timedelta(seconds=1)) is False
    assert session.expire_if_due(NOW) is True
    assert session.expire_if_due(NOW) is False
    with pytest.raises(RuleViolation):
        session.submit()


def test_an_attempt_is_decided_once_by_the_worker_holding_the_claim():
    attempt = Attempt(session_id=uuid4(), person_id=uuid4(), object_key="k", size=1, sha256="s")
    assert attempt.waiting and not attempt.held_by("t")
    attempt.status, attempt.claim_token = AttemptStatus.PROCESSING, "t"
    assert attempt.held_by("t") and not attempt.held_by("other")
    attempt.decide("pass", [], ["e.jpg"], NOW)
    assert (attempt.status, attempt.decided_at, attempt.evidence_keys) == (
        AttemptStatus.DECIDED,
        NOW,
        ["e.jpg"],
    )
    with pytest.raises(RuleViolation):
        attempt.fail_to_process("template_model_mismatch", [], NOW)


def test_a_review_case_and_a_binding_are_decided_once():
    case = ReviewCase(person_id=uuid4(), reason="failed")
    case.decide(CaseStatus.APPROVED, uuid4(), "the face matches the ID photo", NOW)
    with pytest.raises(RuleViolation, match="already decided"):
        case.decide(CaseStatus.REJECTED, uuid4(), "no", NOW)
    binding = FamilyBinding(family_account_id=uuid4(), person_id=uuid4(), relationship="child")
    assert binding.in_force and not binding.is_active
    binding.decide(BindingStatus.ACTIVE, "beneficiary_confirmed", uuid4(), NOW)
    with pytest.raises(RuleViolation):
        binding.decide(BindingStatus.REJECTED, "staff_rejected", uuid4(), NOW)
    with pytest.raises(RuleViolation):
        binding.decide(BindingStatus.REVOKED, "staff_rejected", uuid4(), NOW)  # revoke() does
    binding.revoke(uuid4(), NOW)
    with pytest.raises(RuleViolation, match="already revoked"):
        binding.revoke(uuid4(), NOW)


def test_enrolment_and_feed_import_end_once():
    request = EnrolmentRequest(person_id=uuid4(), photo_key="p", requested_by=None)
    request.refuse("no_face", "no face found", NOW)
    with pytest.raises(RuleViolation):
        request.accept(uuid4(), NOW)
    record = FeedImport("f.csv", "csv", None, status=ImportStatus.QUEUED)
    record.start("csv", "utf-8")
    record.finish("done", NOW)
    with pytest.raises(RuleViolation):
        record.refuse("late", NOW)


def test_a_status_filter_is_a_known_state_or_a_422():
    assert state_named(CaseStatus, None) is None and state_named(CaseStatus, "") is None
    assert state_named(CaseStatus, "open") is CaseStatus.OPEN
    with pytest.raises(ValidationFailed, match="use one of: open, approved"):
        state_named(CaseStatus, "closed")


def test_the_notice_templates_document_lists_every_kind_with_its_parameters():
    """docs/notices.md is what the agency registers with the providers: it must follow the
    catalogue (a kind added or a parameter moved without it would be refused by them)."""
    from pathlib import Path

    from certification.notices import CATALOGUE

    text = (Path(__file__).resolve().parents[2] / "docs" / "notices.md").read_text()
    for kind, template in CATALOGUE.items():
        row = next((ln for ln in text.splitlines() if ln.startswith(f"| `{kind.value}` |")), "")
        assert ", ".join(template.params) in row, kind
