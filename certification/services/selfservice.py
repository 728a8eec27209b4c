"""Self-service face certification, from the challenge to the certification or the review case.

1. ``start_session``: a random challenge and a one-time upload (presigned POST, or the API).
2. ``submit``: the upload is checked (exists, size, sha256 computed here, never reused),
   the attempt is recorded as pending and committed *before* it is enqueued.
3. ``process_attempt`` (the worker): claims the attempt with a conditional update, runs the
   face engine, stores the evidence, and applies the outcome in one transaction guarded by
   the claim, so a redelivered task cannot certify twice.
4. ``session_status``: what the app shows, with what to do next.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any
from uuid import UUID, uuid4

from certification import access
from certification.access import Actor
from certification.calendar import add_months
from certification.claims import Claim, ClaimLimits, ClaimStatus
from certification.errors import (
    AccessDenied,
    NotFound,
    RuleViolation,
    UnsupportedMedia,
    ValidationFailed,
)
from certification.model import (
    Account,
    Attempt,
    ChallengeSession,
    EnrolmentRequest,
    FaceTemplate,
    Person,
    ReviewCase,
)
from certification.notices import NoticeKind
from certification.ports import (
    EvidenceStore,
    FaceEngine,
    FaceEnrolment,
    ObjectMissing,
    QueueUnavailable,
    TaskQueue,
    TemplatesOutdated,
    UploadTarget,
)
from certification.selfservice import (
    NEXT_STEPS,
    AttemptLimits,
    AttemptStatus,
    CaseReason,
    ChallengePlan,
    ChallengePolicy,
    Decision,
    EnrolmentStatus,
    SessionStatus,
    TemplateRefreshRule,
)
from certification.services import consent, family
from certification.services.accounts import end_sessions
from certification.services.certifications import certify
from certification.services.context import UseCaseContext
from certification.services.notices import tell
from certification.services.persons import load_person
from certification.verification import EVIDENCE_RETENTION_YEARS
from certification.vocabulary import AccountKind, CertificationChannel

log = logging.getLogger(__name__)

VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/3gpp")


@dataclass(frozen=True, slots=True)
class SelfServiceConfig:
    policy: ChallengePolicy = field(default_factory=ChallengePolicy)
    limits: AttemptLimits = field(default_factory=AttemptLimits)
    refresh: TemplateRefreshRule = field(default_factory=TemplateRefreshRule)
    max_video_bytes: int = 40 * 1024 * 1024
    match_model: str = "w600k_mbf"  # templates must come from the engine's model
    match_threshold: float = 0.33
    claim_timeout: timedelta = timedelta(seconds=150)  # a worker's hold older than this is stale
    claim_limits: ClaimLimits = field(default_factory=ClaimLimits)  # an account's claim


# an enrolment photo lives as long as the template made from it (erased together: consent
# withdrawn, or benefits ended and retention over); a refused photo is deleted at once
ENROLMENT_PHOTO_METADATA = {"retain-with": "face-template", "purpose": "enrolment"}


def retention_metadata(now: datetime) -> dict[str, str]:
    until = add_months(now.date(), 12 * EVIDENCE_RETENTION_YEARS)  # 29 Feb: to 28 Feb
    return {"retain-until": until.isoformat(), "purpose": "certification-evidence"}


# --- enrolment --------------------------------------------------------------------------


def request_enrolment(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    queue: TaskQueue,
    person_id: UUID,
    *,
    photo: IO[bytes],
    length: int,
    content_type: str,
    consent_ref: str | None,
) -> EnrolmentRequest:
    """Staff give a person's photo (the agency's ID photo) with the reference of the consent
    form the person signed (unless they consented in the app); a worker makes the template."""
    person = load_person(ctx, person_id)
    access.require_clerk_for(actor, person.region_code, "set this person's enrolled photo")
    consent.record_paper(ctx, actor, person.id, consent_ref)
    if content_type not in ("image/jpeg", "image/png", "image/webp"):
        raise ValidationFailed("The photo must be a JPEG, PNG or WebP image.", field="photo")
    if not 0 < length <= 10 * 1024 * 1024:
        raise ValidationFailed("The photo must be between 1 byte and 10 MB.", field="photo")
    key = f"enrolment/{person.id}/{uuid4().hex}.img"
    store.put_stream(key, photo, length, content_type, ENROLMENT_PHOTO_METADATA)
    request = EnrolmentRequest(person_id=person.id, photo_key=key, requested_by=actor.account_id)
    ctx.uow.enrolments.add(request)
    ctx.audit(actor, "enrolment.requested", "person", person.id, request_id=str(request.id))
    ctx.uow.commit()
    try:
        queue.enqueue_enrolment(request.id)
    except QueueUnavailable as err:
        log.warning("enrolment %s waits for the queue: %s", request.id, err)
    return request


@dataclass(frozen=True, slots=True)
class EnrolmentState:
    templates: list[FaceTemplate]
    latest_request: EnrolmentRequest | None


def enrolment_state(ctx: UseCaseContext, actor: Actor, person_id: UUID) -> EnrolmentState:
    """A person's active templates and latest enrolment request, for those who may see them."""
    person = load_person(ctx, person_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    return EnrolmentState(
        ctx.uow.templates.active_for(person.id), ctx.uow.enrolments.latest_for(person.id)
    )


def compute_template(
    ctx: UseCaseContext, engine: FaceEngine, store: EvidenceStore, request_id: UUID
) -> EnrolmentRequest:
    """The worker's part of enrolment: the engine's quality gate, then the template."""
    request = ctx.uow.enrolments.get(request_id)
    if request is None or request.status is not EnrolmentStatus.PENDING:
        raise NotFound(f"No pending enrolment request {request_id}.")
    actor = Actor.system("enrolment-worker")
    with tempfile.NamedTemporaryFile(suffix=".img") as tmp:
        try:
            store.fetch_to(request.photo_key, tmp.name)
        except ObjectMissing:  # gone: a retry would not bring it back
            result = FaceEnrolment(
                False, None, None, None, "photo_missing", "The photo is no longer stored."
            )
        else:
            result = engine.enrol(Path(tmp.name).read_bytes())
    if not result.accepted or result.template is None:
        request.refuse(result.reason, result.detail, ctx.clock.now())
        store.delete(request.photo_key)  # no template, no purpose: not kept
        ctx.audit(actor, "enrolment.refused", "person", request.person_id, reason=result.reason)
        ctx.uow.commit()
        return request
    for old in ctx.uow.templates.active_for(request.person_id):
        if old.source == "photo" or old.model != result.model:
            old.active = False
    template = FaceTemplate(
        person_id=request.person_id,
        model=result.model or "",
        model_version=result.model_version or "",
        template=result.template,
        source="photo",
        photo_key=request.photo_key,
        created_by=request.requested_by,
    )
    ctx.uow.templates.add(template)
    ctx.uow.flush()
    request.accept(template.id, ctx.clock.now())
    ctx.audit(
        actor, "enrolment.accepted", "person", request.person_id, template_id=str(template.id)
    )
    ctx.uow.commit()
    return request


# --- the session ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartedSession:
    session: ChallengeSession
    plan: ChallengePlan
    upload: UploadTarget | None  # None: upload to the API (direct)
    max_bytes: int


def _person_for(
    ctx: UseCaseContext, actor: Actor, person_id: UUID | None
) -> tuple[Person, UUID | None]:
    """Whom the session certifies, and the assisting family member if any."""
    if actor.kind == AccountKind.BENEFICIARY.value:
        if person_id is not None and person_id != actor.person_id:
            raise AccessDenied("You can start a certification only for yourself.")
        assert actor.person_id is not None
        return load_person(ctx, actor.person_id), None
    if actor.kind == AccountKind.FAMILY.value:
        if person_id is None:
            raise ValidationFailed("Say whom you are helping (person_id).", field="person_id")
        if not family.helps(ctx, actor, person_id):
            raise AccessDenied(
                "You can help only a person you are bound to, once the binding is confirmed."
            )
        return load_person(ctx, person_id), actor.account_id
    raise AccessDenied("Self-service certification is for beneficiaries and their family members.")


def start_session(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    config: SelfServiceConfig,
    *,
    person_id: UUID | None,
    gentle: bool = False,
) -> StartedSession:
    person, assisted_by = _person_for(ctx, actor, person_id)
    if not person.in_force():
        raise RuleViolation("There is no benefit to certify for this person.")
    _require_templates(ctx, config, person)
    now = ctx.clock.now()
    allowed, why, until = config.limits.check(
        ctx.uow.attempts.unsuccessful_since(person.id, now - timedelta(days=1)), now
    )
    if not allowed:
        after = f" after {until.isoformat(timespec='minutes')}" if until else " tomorrow"
        raise RuleViolation(
            f"Too many attempts; please try again{after}, or visit a service point.",
            details={"reason": why, "retry_after": until.isoformat() if until else None},
        )
    return open_session(ctx, actor, store, config, person, assisted_by=assisted_by, gentle=gentle)


def _require_templates(ctx: UseCaseContext, config: SelfServiceConfig, person: Person) -> None:
    templates = [
        t for t in ctx.uow.templates.active_for(person.id) if t.model == config.match_model
    ]
    if not templates:
        raise RuleViolation(
            "No usable registered photo is on file for this person; please visit a service "
            "point to have the photo taken.",
            details={"reason": "no_enrolled_photo"},
        )


def open_session(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    config: SelfServiceConfig,
    person: Person,
    *,
    assisted_by: UUID | None = None,
    claim_id: UUID | None = None,
    gentle: bool = False,
) -> StartedSession:
    """A challenge and a one-time upload for a face check of ``person`` (the caller checked
    who may ask and the limits that apply: the person's, or a claim's). Needs consent to
    face processing: the person's, or for a claim the claimant's own."""
    consent.require_face_consent(
        ctx, person_id=person.id, claimant=actor.account_id if claim_id else None
    )
    now = ctx.clock.now()
    store.ping()  # storage down: say so now (503), not after the person recorded a video
    plan = config.policy.plan(person.birth_date, ctx.clock.today(), gentle=gentle)
    assert actor.account_id is not None
    session_id = uuid4()
    nonce = secrets.token_urlsafe(24)
    expires_at = now + timedelta(minutes=config.policy.session_minutes)
    session = ChallengeSession(
        id=session_id,
        person_id=person.id,
        requested_by=actor.account_id,
        assisted_by=assisted_by,
        claim_id=claim_id,
        nonce=nonce,
        actions=list(plan.actions),
        seconds_per_action=plan.seconds_per_action,
        max_video_seconds=plan.max_video_seconds,
        expires_at=expires_at,
        upload_key=f"selfservice/{person.id}/{session_id}.video",
    )
    upload = store.presigned_post(
        session.upload_key,
        max_bytes=config.max_video_bytes,
        content_type_prefix="video/",
        expires_at=expires_at,
        metadata=retention_metadata(now),
    )
    ctx.uow.challenge_sessions.add(session)
    ctx.audit(
        actor,
        "selfservice.session_started",
        "person",
        person.id,
        session_id=str(session.id),
        actions=list(plan.actions),
        assisted_by=str(assisted_by) if assisted_by else None,
        claim_id=str(claim_id) if claim_id else None,
    )
    ctx.uow.commit()
    return StartedSession(session, plan, upload, config.max_video_bytes)


def _own_session(
    ctx: UseCaseContext, actor: Actor, session_id: UUID, *, for_update: bool = False
) -> ChallengeSession:
    session = ctx.uow.challenge_sessions.get(session_id, for_update=for_update)
    if session is None or session.requested_by != actor.account_id:
        raise NotFound("No such certification session for your account.")
    return session


def _check_open(ctx: UseCaseContext, session: ChallengeSession) -> None:
    if session.expire_if_due(ctx.clock.now()):
        ctx.uow.commit()
    if session.status is SessionStatus.EXPIRED:
        raise RuleViolation(
            "This certification session has expired; please start again.",
            details={"reason": "session_expired"},
        )
    if session.status is not SessionStatus.OPEN:
        raise RuleViolation(
            "This session's video was already submitted.", details={"reason": "already_submitted"}
        )


def upload_direct(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    config: SelfServiceConfig,
    session_id: UUID,
    *,
    data: IO[bytes],
    length: int,
    content_type: str,
) -> int:
    """The fallback upload through the API, streamed to storage (never held in memory)."""
    session = _own_session(ctx, actor, session_id)
    _check_open(ctx, session)
    if not content_type.startswith("video/") and content_type != "application/octet-stream":
        raise ValidationFailed("Upload the video (a video/* content type).", field="file")
    if not 0 < length <= config.max_video_bytes:
        raise ValidationFailed(
            f"The video must be between 1 byte and {config.max_video_bytes // (1024 * 1024)} MB.",
            field="file",
        )
    info = store.put_stream(
        session.upload_key, data, length, content_type, retention_metadata(ctx.clock.now())
    )
    return info.size


def submit(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    queue: TaskQueue,
    config: SelfServiceConfig,
    session_id: UUID,
    *,
    nonce: str,
    mirrored: bool,
) -> Attempt:
    """The upload is complete: check it, record the attempt, then enqueue it (once)."""
    session = _own_session(ctx, actor, session_id, for_update=True)
    if not secrets.compare_digest(session.nonce, nonce):
        raise RuleViolation(
            "The session code does not match; start a new certification.",
            details={"reason": "nonce_mismatch"},
        )
    existing = ctx.uow.attempts.for_session(session.id)
    if existing is not None:
        return existing  # submitting twice is harmless: one attempt, one task
    _check_open(ctx, session)
    # The upload key stays writable until the session expires; the attempt keeps a copy
    # under a key the upload policy cannot reach, and everything after (the size, the hash,
    # the content check, the worker, staff review) reads that copy.
    kept = submitted_key(session)
    try:
        store.copy(session.upload_key, kept)
    except ObjectMissing:
        raise RuleViolation(
            "The video has not arrived yet; upload it, then submit.",
            details={"reason": "upload_missing"},
        ) from None
    info = store.stat(kept)
    if info is None or not 0 < info.size <= config.max_video_bytes:
        store.delete(kept)
        raise RuleViolation(
            "The uploaded video is empty or too large.", details={"reason": "upload_size"}
        )
    digest, head = store.sha256_and_head(kept, 16)
    if video_container(head) is None:
        store.delete(kept)
        raise UnsupportedMedia(
            "The upload is not a video (MP4, MOV, 3GP, WebM or MKV, checked by its content); "
            "record the video again in the app.",
            details={"reason": "not_a_video"},
        )
    if ctx.uow.attempts.by_sha256(digest) is not None:
        store.delete(kept)
        raise RuleViolation(
            "This video was already used for a certification; please record a new one.",
            details={"reason": "video_reused"},
        )
    attempt = Attempt(
        session_id=session.id,
        person_id=session.person_id,
        object_key=kept,
        size=info.size,
        sha256=digest,
        mirrored=mirrored,
    )
    ctx.uow.attempts.add(attempt)
    session.submit()
    ctx.audit(
        actor,
        "selfservice.submitted",
        "person",
        session.person_id,
        attempt_id=str(attempt.id),
        sha256=digest,
        size=info.size,
    )
    ctx.uow.commit()  # recorded before enqueueing: a lost message leaves a pending row
    enqueue(ctx, queue, attempt)
    return attempt


def enqueue(ctx: UseCaseContext, queue: TaskQueue, attempt: Attempt) -> bool:
    try:
        queue.enqueue_attempt(attempt.id)
    except QueueUnavailable as err:
        log.warning("attempt %s stays pending for the sweep: %s", attempt.id, err)
        return False
    attempt.enqueued_at = ctx.clock.now()
    ctx.uow.commit()
    return True


def requeue_stale(
    ctx: UseCaseContext, queue: TaskQueue, *, older_than: timedelta, limit: int = 100
) -> int:
    """The outbox sweep: attempts still pending (the queue was down) are enqueued again."""
    ids = ctx.uow.attempts.stale_pending(ctx.clock.now() - older_than, limit)
    sent = 0
    for attempt_id in ids:
        attempt = ctx.uow.attempts.get(attempt_id)
        if attempt is not None and enqueue(ctx, queue, attempt):
            sent += 1
    return sent


# --- the worker's part -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcessResult:
    attempt_id: UUID
    outcome: str  # decided | skipped | error


def process_attempt(
    open_context: Callable[[], AbstractContextManager[UseCaseContext]],
    engine: FaceEngine,
    store: EvidenceStore,
    config: SelfServiceConfig,
    attempt_id: UUID,
) -> ProcessResult:
    token = secrets.token_hex(16)
    with open_context() as ctx:
        now = ctx.clock.now()
        if not ctx.uow.attempts.claim(attempt_id, token, now, now - config.claim_timeout):
            return ProcessResult(attempt_id, "skipped")  # done, or claimed by a live worker
        ctx.uow.commit()
    with open_context() as ctx:
        attempt = ctx.uow.attempts.get(attempt_id)
        assert attempt is not None
        session = ctx.uow.challenge_sessions.get(attempt.session_id)
        assert session is not None
        templates = [
            t.template
            for t in ctx.uow.templates.active_for(attempt.person_id)
            if t.model == config.match_model
        ]
        actions, mirrored, key = list(session.actions), attempt.mirrored, attempt.object_key
        submitted_sha256 = attempt.sha256
        consented = consent.has_face_consent(
            ctx,
            person_id=attempt.person_id,
            claimant=session.requested_by if session.claim_id else None,
        )
    failure = None
    with tempfile.TemporaryDirectory() as tmp:
        video = str(Path(tmp) / "upload.video")
        try:
            if not consented:
                # withdrawn since the session started: the video is never analysed, and goes
                raise ConsentWithdrawn(key)
            store.fetch_to(key, video)  # an outage raises: the task retries
            if _sha256_of_file(video) != submitted_sha256:
                # the upload key stays writable until the session expires: a file swapped in
                # after submit (an old clip whose hash would have been refused) is never
                # judged; staff see the attempt
                raise VideoChanged(key)
            result = engine.verify(video, actions, templates, mirrored=mirrored)
        except ConsentWithdrawn:
            store.delete(key)
            result, failure = None, CONSENT_WITHDRAWN
        except VideoChanged:
            result, failure = None, "video_changed"
        except ObjectMissing:  # gone: a retry would not bring it back; staff look at it
            result, failure = None, "video_missing"
        except TemplatesOutdated:
            result, failure = None, "template_model_mismatch"
    evidence: list[str] = []
    if result is not None:
        for i, jpeg in enumerate(result.evidence_jpegs):
            frame_key = f"evidence/{attempt_id}/frame_{i}.jpg"
            store.put_bytes(frame_key, jpeg, "image/jpeg", retention_metadata(now))
            evidence.append(frame_key)
    with open_context() as ctx:
        return _apply_outcome(ctx, config, attempt_id, token, result, evidence, failure=failure)


def submitted_key(session: ChallengeSession) -> str:
    """Where a submitted video is kept: a key no upload policy grants (each policy names its
    one upload key exactly), under the evidence prefix the retention sweep knows."""
    return f"selfservice/{session.person_id}/{session.id}.submitted.video"


def video_container(head: bytes) -> str | None:
    """The container a file's first bytes announce: ``mp4`` (MP4, MOV, 3GP: an ISO base media
    box, ``ftyp`` or an older QuickTime atom) or ``matroska`` (WebM, MKV: EBML), else None."""
    if len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    return None


class VideoChanged(Exception):
    """The stored video is not the one whose hash was taken at submit."""


class ConsentWithdrawn(Exception):
    """The consent to face processing was withdrawn after the session started."""


CONSENT_WITHDRAWN = "consent_withdrawn"


def _sha256_of_file(path: str) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _apply_outcome(
    ctx: UseCaseContext,
    config: SelfServiceConfig,
    attempt_id: UUID,
    token: str,
    result: Any,
    evidence: list[str],
    *,
    failure: str | None = None,
) -> ProcessResult:
    attempt = ctx.uow.attempts.get(attempt_id)
    assert attempt is not None
    person = load_person(ctx, attempt.person_id, for_update=True)  # serialises outcomes
    attempt = ctx.uow.attempts.get(attempt_id)
    assert attempt is not None
    if not attempt.held_by(token):
        return ProcessResult(attempt_id, "skipped")  # another delivery finished it first
    session = ctx.uow.challenge_sessions.get(attempt.session_id)
    assert session is not None
    now = ctx.clock.now()
    actor = Actor.system("self-service-worker")
    earlier = ctx.uow.attempts.unsuccessful_since(person.id, now - timedelta(days=1))
    session.close_decided()
    if result is None:
        assert failure is not None, "no verdict without a reason"
        attempt.fail_to_process(failure, evidence, now)
        # a claim's check never opens a case on the person; nor does a withdrawn consent
        # (nobody is to look at that face)
        if session.claim_id is None and failure != CONSENT_WITHDRAWN:
            _open_case(ctx, person, attempt, CaseReason.PROCESSING_ERROR)
            tell(ctx, person, NoticeKind.SENT_TO_REVIEW, key=str(attempt.id))
        ctx.audit(actor, "selfservice.error", "person", person.id, attempt_id=str(attempt.id))
        ctx.uow.commit()
        return ProcessResult(attempt_id, "error")
    attempt.decide(result.decision, list(result.reasons), evidence, now)
    attempt.verdict = result.verdict
    attempt.match_score = result.match_score
    if session.claim_id is not None:
        claim = ctx.uow.claims.get(session.claim_id, for_update=True)
        assert claim is not None
        if claim.status is not ClaimStatus.PENDING:
            # decided meanwhile (another claim won, or a clerk linked one): nothing changes
            ctx.audit(
                actor,
                "claim.check_after_decision",
                "person",
                person.id,
                claim_id=str(claim.id),
                attempt_id=str(attempt.id),
                decision=result.decision,
            )
            ctx.uow.commit()
            return ProcessResult(attempt_id, "decided")
        if result.decision != Decision.PASS.value:
            # a claim pays for its own failures: no lock on the person, no review case
            claim.record_failure(now, config.claim_limits)
            ctx.audit(
                actor,
                "claim.check_failed",
                "person",
                person.id,
                claim_id=str(claim.id),
                attempt_id=str(attempt.id),
                decision=result.decision,
                reasons=list(result.reasons),
                match_score=result.match_score,
            )
            ctx.uow.commit()
            return ProcessResult(attempt_id, "decided")
        confirm_claim(ctx, claim, person, actor, how="face_check")
    if result.decision == Decision.PASS.value:
        assisted = session.assisted_by
        outcome = certify(
            ctx,
            actor,
            person,
            channel=CertificationChannel.FAMILY_ASSISTED
            if assisted
            else CertificationChannel.SELF_SERVICE_FACE,
            certified_at=attempt.created_at,
            evidence=[attempt.object_key, *evidence],
            source_ref=f"attempt:{attempt.id}",
            assisted_by=assisted,
        )
        ctx.uow.flush()
        attempt.certification_id = outcome.certification.id
        _verify_account(ctx, session, person)
        _maybe_refresh(ctx, config, person, result, now)
    else:
        limit = config.limits.reached_now([*earlier, now], now)
        already_open = bool(ctx.uow.review_cases.open_for_person(person.id))
        if result.decision == Decision.FAIL.value:
            _open_case(ctx, person, attempt, CaseReason.FAILED)
            tell(ctx, person, NoticeKind.SENT_TO_REVIEW, key=str(attempt.id))
        elif limit is not None and not already_open:
            _open_case(ctx, person, attempt, CaseReason.TOO_MANY_ATTEMPTS)
            tell(ctx, person, NoticeKind.SENT_TO_REVIEW, key=str(attempt.id))
        else:
            first = (result.verdict.get("reasons") or [{}])[0]
            tell(
                ctx,
                person,
                NoticeKind.RETRY_NEEDED,
                key=str(attempt.id),
                advice_zh=first.get("zh") or NEXT_STEPS["retry"][0],
                advice_en=first.get("en") or NEXT_STEPS["retry"][1],
            )
    ctx.audit(
        actor,
        "selfservice.decided",
        "person",
        person.id,
        attempt_id=str(attempt.id),
        decision=result.decision,
        reasons=list(result.reasons),
        match_score=result.match_score,
    )
    ctx.uow.commit()
    return ProcessResult(attempt_id, "decided")


def confirm_claim(
    ctx: UseCaseContext,
    claim: Claim,
    person: Person,
    actor: Actor,
    *,
    how: str,
) -> Account:
    """The claim's account becomes the person's: any earlier account of the person steps
    back to a plain app account (its sessions end), every other pending claim on the person
    is dropped, and the person is told. Does not commit."""
    now = ctx.clock.now()
    claim.verify(now)
    account = ctx.uow.accounts.get(claim.account_id)
    assert account is not None
    previous = ctx.uow.accounts.beneficiary_for(person.id)
    if previous is not None and previous.id != account.id:
        previous.kind = AccountKind.FAMILY
        previous.person_id = None
        previous.identity_verified = False
        end_sessions(ctx, previous)
        ctx.uow.flush()  # one beneficiary account per person (a unique index)
    account.kind = AccountKind.BENEFICIARY
    account.person_id = person.id
    account.citizen_id = None
    account.identity_verified = True
    dropped = []
    for other in ctx.uow.claims.pending_for_person(person.id):
        if other.id != claim.id:
            other.drop(now)
            dropped.append(str(other.id))
    ctx.audit(
        actor,
        "claim.verified",
        "person",
        person.id,
        claim_id=str(claim.id),
        account_id=str(account.id),
        how=how,
        dropped_claims=dropped,
        previous_account=str(previous.id) if previous is not None else None,
    )
    consent.adopt_claimant_consent(ctx, account.id, person.id)
    tell(ctx, person, NoticeKind.ACCOUNT_CONFIRMED, key=str(claim.id))
    return account


def _open_case(
    ctx: UseCaseContext, person: Person, attempt: Attempt, reason: CaseReason
) -> ReviewCase:
    case = ReviewCase(person_id=person.id, reason=reason.value, attempt_id=attempt.id)
    ctx.uow.review_cases.add(case)
    return case


def _verify_account(ctx: UseCaseContext, session: ChallengeSession, person: Person) -> None:
    """A beneficiary's own successful face certification verifies their account."""
    if session.assisted_by is not None:
        return
    account = ctx.uow.accounts.get(session.requested_by)
    if account is not None and account.person_id == person.id and not account.identity_verified:
        account.identity_verified = True


def _maybe_refresh(
    ctx: UseCaseContext, config: SelfServiceConfig, person: Person, result: Any, now: datetime
) -> None:
    """Follow ageing: a confident pass may add the best verified frame as a template."""
    if result.refresh_template is None or result.match_score is None:
        return
    templates = [
        t for t in ctx.uow.templates.active_for(person.id) if t.model == config.match_model
    ]
    if not templates:
        return
    newest = max(t.created_at for t in templates)
    if not config.refresh.allows(
        score=result.match_score,
        threshold=config.match_threshold,
        newest_template_at=newest,
        now=now,
    ):
        return
    verified = sorted(
        (t for t in templates if t.source == "verified_frame"), key=lambda t: t.created_at
    )
    for old in verified[: max(0, len(verified) - config.refresh.keep_verified + 1)]:
        old.active = False
    first = templates[0]
    ctx.uow.templates.add(
        FaceTemplate(
            person_id=person.id,
            model=first.model,
            model_version=first.model_version,
            template=result.refresh_template,
            source="verified_frame",
        )
    )


# --- status -----------------------------------------------------------------------------------


def _claim_step(ctx: UseCaseContext, claim_id: UUID, state: str) -> str:
    """What a claimant does after a face check: no review case is ever opened for a claim."""
    if state == "pass":
        return "confirmed"
    claim = ctx.uow.claims.get(claim_id)
    step = claim.next_step(ctx.clock.now()) if claim is not None else "none"
    return {"face_check": "claim_retry", "wait": "locked"}.get(step, "service_point")


@dataclass(frozen=True, slots=True)
class SessionView:
    session: ChallengeSession
    attempt: Attempt | None
    state: str  # open | pending | pass | retry | fail | expired | error
    next_step: str
    next_zh: str
    next_en: str


def session_status(ctx: UseCaseContext, actor: Actor, session_id: UUID) -> SessionView:
    session = _own_session(ctx, actor, session_id)
    attempt = ctx.uow.attempts.for_session(session.id)
    if attempt is None:
        expired = session.expires_at <= ctx.clock.now()
        state, step = ("expired", "expired") if expired else ("open", "wait")
    elif attempt.waiting:
        state, step = "pending", "wait"
    elif attempt.status is AttemptStatus.ERROR:
        state, step = "error", "review"
    else:
        state = attempt.decision or "error"
        step = {"pass": "done", "retry": "retry", "fail": "review"}.get(state, "review")
        if session.claim_id is not None:
            step = _claim_step(ctx, session.claim_id, state)
        elif state == "retry" and ctx.uow.review_cases.open_for_person(session.person_id):
            step = "locked"
    zh, en = NEXT_STEPS[step]
    return SessionView(session, attempt, state, step, zh, en)
