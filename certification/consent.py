"""Consent to face processing (人脸信息处理单独同意, PIPL Art. 28-29).

A face is sensitive personal information: it is processed only with the person's separate
consent, given after a notice of the purpose, the data, how long it is kept, who sees it and
how to withdraw. Consent is given in the person's own app (the notice's version, the time, the
account) or on paper at a service point or a home visit (staff record the form's reference
when they enrol the photo). A claimant whose account is not yet confirmed as the person's
consents for their own face, as the account; the consent follows the account to the person
once the claim is confirmed.

Withdrawal stops face processing at once (new sessions refused, submitted videos not
analysed and deleted) and erases the person's face templates with their enrolment photos;
they certify at a service point or by a home visit instead, or consent again and have the
photo taken anew.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from certification.errors import RuleViolation, ValidationFailed
from certification.free_text import one_line
from certification.ids import new_id

FACE_PROCESSING = "face_processing"


@dataclass(frozen=True, slots=True)
class Notice:
    version: str
    zh: str
    en: str


# A new wording gets a new version: consents to an older one stay valid for what that notice
# said (the purpose has not changed), and the app shows the current one to new consents.
FACE_NOTICE = Notice(
    version="face-2026-12",
    zh=(
        "为确认是您本人并仍符合领取待遇的条件，社会保险经办机构将处理您的人脸信息："
        "您在认证时录制的视频，以及登记照片生成的人脸特征。认证视频保存3年（资格认证规则"
        "第二十条）；登记照片和人脸特征在您的待遇全部终止、且照片已满3年后一并删除。只有经办机构和乡镇（街道）负责资格认证"
        "的工作人员可以查看，不用于其他目的，不向第三方提供。您可以随时撤回同意，撤回后请到"
        "服务网点或预约上门认证。"
    ),
    en=(
        "To confirm it is you and that you still qualify for your benefit, the social insurance "
        "agency processes your face: the videos you record to certify, and the face template "
        "made from your registered photo. Certification videos are kept 3 years (Art. 20); the "
        "registered photo and its template are deleted together once all your benefits have "
        "ended and the photo is 3 years old. Only the agency's and your "
        "township's certification staff may see them; they are used for nothing else and given "
        "to no one. You may withdraw this consent at any time; then certify at a service point "
        "or by a home visit."
    ),
)


class ConsentChannel(StrEnum):
    APP = "app"  # in the person's own app account, after the notice
    PAPER = "paper"  # a signed form at a service point or a home visit (its reference)


@dataclass(eq=False)
class Consent:
    """One consent, in force until withdrawn. ``person_id`` is None while it is a claimant's
    own consent for a claim's face check (``account_id`` set)."""

    purpose: str
    notice_version: str
    channel: ConsentChannel
    person_id: UUID | None = None
    account_id: UUID | None = None  # the app account that consented
    recorded_by: UUID | None = None  # staff who recorded a paper consent
    reference: str | None = None  # the paper form's number
    given_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    withdrawn_at: datetime | None = None
    withdrawn_by: UUID | None = None
    id: UUID = field(default_factory=new_id)
    version: int = 0

    @property
    def in_force(self) -> bool:
        return self.withdrawn_at is None

    def withdraw(self, actor_id: UUID | None, at: datetime) -> None:
        if not self.in_force:
            raise RuleViolation("This consent was already withdrawn.")
        self.withdrawn_at = at
        self.withdrawn_by = actor_id


def paper_reference(text: str | None) -> str:
    reference = one_line(text)
    if not 3 <= len(reference) <= 64:
        raise ValidationFailed(
            "Give the number of the signed consent form (3 to 64 characters): a face is "
            "processed only with the person's separate consent.",
            field="consent_ref",
        )
    return reference


def consent_required() -> RuleViolation:
    return RuleViolation(
        "Face checks need the person's consent first: read the notice and agree in the app, or "
        "sign the consent form at a service point or during a home visit.",
        details={"reason": "consent_required", "notice_version": FACE_NOTICE.version},
    )
