"""Certification receipts: issued with the certification, downloadable by the person, and
checkable by anyone who holds the code (a pension office, a bank, a family member)."""

from __future__ import annotations

from datetime import date

from certification.access import Actor
from certification.errors import AccessDenied, NotFound
from certification.model import Certification, Person
from certification.ports import PageRequest
from certification.privacy import mask_name
from certification.receipts import Receipt, ReceiptCheck, new_code, normalise_code, statement
from certification.services.context import UseCaseContext
from certification.services.persons import load_person
from certification.vocabulary import AccountKind

NOT_VALID = ReceiptCheck(False)


def issue_receipt(
    ctx: UseCaseContext, person: Person, certification: Certification, next_due_on: date | None
) -> Receipt | None:
    """The certification's signed receipt (None when this context signs none). Does not
    commit."""
    if ctx.signer is None:
        return None
    existing = ctx.uow.receipts.for_certification(certification.id)
    if existing is not None:
        return existing
    code = new_code()
    masked = mask_name(person.name) or ""
    channel = certification.channel.value
    signature = ctx.signer.sign(
        statement(code, masked, certification.certified_on, channel, next_due_on)
    )
    receipt = Receipt(
        code=code,
        certification_id=certification.id,
        person_id=person.id,
        masked_name=masked,
        certified_on=certification.certified_on,
        channel=channel,
        next_due_on=next_due_on,
        key_id=ctx.signer.key_id,
        signature=signature,
        issued_at=ctx.clock.now(),
    )
    ctx.uow.receipts.add(receipt)
    return receipt


def check_receipt(ctx: UseCaseContext, code: str) -> ReceiptCheck:
    """Anyone's check of a code: valid with the dates and the masked name, or not valid (a
    mistyped, unknown, altered or unsigned receipt all read the same)."""
    if ctx.signer is None:
        return NOT_VALID
    normal = normalise_code(code)
    if normal is None:
        return NOT_VALID
    receipt = ctx.uow.receipts.by_code(normal)
    if receipt is None:
        return NOT_VALID
    if not ctx.signer.verify(receipt.key_id, receipt.statement(), receipt.signature):
        return NOT_VALID
    certification = ctx.uow.certifications.get(receipt.certification_id)
    if certification is None or certification.annulled:
        return NOT_VALID  # annulled by two clerks: the receipt no longer proves anything
    return ReceiptCheck(
        True, receipt.masked_name, receipt.certified_on, receipt.next_due_on, receipt.channel
    )


def latest_receipt(ctx: UseCaseContext, actor: Actor) -> Receipt:
    """The receipt of the person's latest certification, issued now if it has none yet (a
    certification from the comparison of department data)."""
    if actor.kind != AccountKind.BENEFICIARY.value or actor.person_id is None:
        raise AccessDenied("Receipts are shown to the beneficiary's own app account.")
    receipt = receipt_of_latest(ctx, load_person(ctx, actor.person_id))
    if receipt is None:
        raise NotFound("You have no certification yet, or receipts are not issued here.")
    return receipt


def latest_valid(ctx: UseCaseContext, person: Person) -> Certification | None:
    """The person's latest certification that is not annulled (among the last 20)."""
    recent = ctx.uow.certifications.for_person(person.id, PageRequest(limit=20)).items
    return next((c for c in recent if not c.annulled), None)


def receipt_of_latest(ctx: UseCaseContext, person: Person) -> Receipt | None:
    """The receipt of the person's latest certification, issued (and committed) now if it
    has none yet; None when there is no certification or no signer. The caller has checked
    who may see it."""
    certification = latest_valid(ctx, person)
    return None if certification is None else receipt_for(ctx, person, certification)


def receipt_for(
    ctx: UseCaseContext, person: Person, certification: Certification
) -> Receipt | None:
    """The certification's receipt, issued (and committed) now if it has none yet; None
    when no signer is configured."""
    receipt = ctx.uow.receipts.for_certification(certification.id)
    if receipt is None:
        period = person.period(ctx.config.period)
        receipt = issue_receipt(ctx, person, certification, period.due_on if period else None)
        if receipt is not None:
            ctx.uow.commit()
    return receipt


def own_receipt(ctx: UseCaseContext, actor: Actor, code: str) -> Receipt:
    normal = normalise_code(code)
    receipt = ctx.uow.receipts.by_code(normal) if normal else None
    if receipt is None or actor.person_id is None or receipt.person_id != actor.person_id:
        raise NotFound("No receipt of yours has this code.")
    return receipt
