"""What people are told: their notices and preferences, their receipts, the public receipt
check, and the operators' view of the outbox."""

from __future__ import annotations

import io
from typing import Any
from uuid import UUID

import marshmallow as ma
from flask import Response, send_file
from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx, runtime
from api.pagination import PageArgs, page_body, page_request, page_schema
from certification.notices import Channel, DeliveryStatus, Language
from certification.receipts import Receipt
from certification.services import notices, receipts
from certification.states import state_named

f = ma.fields

me_blp = Blueprint(
    "me",
    __name__,
    url_prefix="/api/me",
    description="A beneficiary's own notices (通知), how they want to be told, and the receipts "
    "of their certifications (认证回执).",
)
receipts_blp = Blueprint(
    "receipts",
    __name__,
    url_prefix="/api/receipts",
    description="Anyone holding a receipt code can check it: valid with the dates and the "
    "masked name, or not valid. Nothing else is disclosed. Rate-limited per address.",
)
outbox_blp = Blueprint(
    "outbox",
    __name__,
    url_prefix="/api/notices",
    description="Operators: the notice outbox — deliveries that failed or may have been sent "
    "twice, sending again, the backlog; staff: the townships' letter batches.",
)


class NoticeSchema(ma.Schema):
    id = f.UUID()
    kind = f.String(metadata={"example": "certified"})
    title = f.String(metadata={"example": "认证成功"})
    body = f.String()
    created_at = f.DateTime()
    channels = f.Dict(
        keys=f.String(),
        values=f.String(),
        metadata={"description": "channel → delivery status", "example": {"sms": "delivered"}},
    )


class InboxArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    limit = f.Integer(load_default=50, validate=ma.validate.Range(1, 100))


class PreferencesSchema(ma.Schema):
    channels = f.List(f.String(), metadata={"example": ["push", "sms"]})
    language = f.String(metadata={"example": "zh"})
    family_copy = f.Boolean(
        metadata={"description": "A bound family member receives reminders and results too."}
    )
    chosen = f.Boolean(metadata={"description": "false: the defaults, never chosen"})
    reachable = f.Dict(keys=f.String(), values=f.Boolean())
    version = f.Integer()


class PreferencesInSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    channels = f.List(
        f.String(validate=ma.validate.OneOf([c.value for c in Channel])),
        required=True,
        validate=ma.validate.Length(1, len(Channel)),
        metadata={"description": "In your order; every channel listed is used."},
    )
    language = f.String(
        load_default="zh", validate=ma.validate.OneOf([language.value for language in Language])
    )
    family_copy = f.Boolean(load_default=False)
    version = f.Integer(
        load_default=None, allow_none=True, metadata={"description": "The version you read."}
    )


class WeChatSubscriptionSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    accepted = f.Boolean(
        required=True,
        metadata={"description": "The user's answer to wx.requestSubscribeMessage."},
    )


class CertificationReceiptSchema(ma.Schema):
    code = f.String(metadata={"example": "7KQ2-M9XD-4HTA-Q"})
    masked_name = f.String(metadata={"example": "张**"})
    certified_on = f.Date()
    channel = f.String()
    next_due_on = f.Date(allow_none=True)
    key_id = f.String()
    signature = f.String(metadata={"description": "base64url Ed25519 signature"})
    verify_url = f.Method("_verify_url")

    def _verify_url(self, receipt: Receipt) -> str:
        return verify_url(receipt.code)


def verify_url(code: str) -> str:
    return f"{runtime().settings.public_base_url.rstrip('/')}/verify/{code}"


class ReceiptCheckSchema(ma.Schema):
    valid = f.Boolean(required=True)
    masked_name = f.String(allow_none=True)
    certified_on = f.Date(allow_none=True)
    next_due_on = f.Date(allow_none=True)
    channel = f.String(allow_none=True)


class CodePath(ma.Schema):
    code = f.String(validate=ma.validate.Length(1, 40))


@me_blp.route("/notices")
class Inbox(MethodView):
    @me_blp.arguments(InboxArgs, location="query")
    @me_blp.response(200, NoticeSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Your notices, newest first, with how each was delivered."""
        return notices.inbox(ctx(), current_actor(), limit=args["limit"])


@me_blp.route("/notices/preferences")
class Preferences(MethodView):
    @me_blp.response(200, PreferencesSchema)
    def get(self) -> Any:
        """How you are told: the channels in your order, the language, whether a bound family
        member gets a copy, and which channels can reach you now."""
        return notices.get_preferences(ctx(), current_actor())

    @me_blp.arguments(PreferencesInSchema)
    @me_blp.response(200, PreferencesSchema)
    def put(self, data: dict[str, Any]) -> Any:
        """Choose how you are told (a channel that cannot reach you is refused with what to
        do first)."""
        return notices.set_preferences(
            ctx(),
            current_actor(),
            channels=data["channels"],
            language=data["language"],
            family_copy=data["family_copy"],
            expected_version=data["version"],
        )


@me_blp.route("/notices/wechat")
class WeChatSubscription(MethodView):
    @me_blp.arguments(WeChatSubscriptionSchema)
    @me_blp.response(204)
    def put(self, data: dict[str, Any]) -> None:
        """The mini-program reports whether the user accepted its messages."""
        notices.set_wechat_subscription(ctx(), current_actor(), accepted=data["accepted"])


@me_blp.route("/receipts/latest")
class LatestReceipt(MethodView):
    @me_blp.response(200, CertificationReceiptSchema)
    def get(self) -> Any:
        """The receipt of your latest certification (issued now if it had none)."""
        return receipts.latest_receipt(ctx(), current_actor())


@me_blp.route("/receipts/<string:code>/pdf")
class ReceiptPdf(MethodView):
    @me_blp.doc(responses={"200": {"description": "application/pdf"}})
    def get(self, code: str) -> Response:
        """Your receipt as a PDF to print or show, with its QR code."""
        receipt = receipts.own_receipt(ctx(), current_actor(), code)
        pdf = runtime().documents.receipt_pdf(receipt, verify_url(receipt.code))
        return send_file(
            io.BytesIO(pdf),
            mimetype="application/pdf",
            download_name=f"receipt-{receipt.code}.pdf",
            as_attachment=True,
        )


@receipts_blp.route("/<string:code>")
class ReceiptCheck(MethodView):
    @receipts_blp.doc(security=[])
    @receipts_blp.response(200, ReceiptCheckSchema)
    def get(self, code: str) -> Any:
        """Is this receipt genuine? Answers only valid (certified on D, next due D2, the
        masked name) or not valid."""
        return receipts.check_receipt(ctx(), code)


class KeySchema(ma.Schema):
    keys = f.Dict(keys=f.String(), values=f.String())


@receipts_blp.route("/keys")
class ReceiptKeys(MethodView):
    @receipts_blp.doc(security=[])
    @receipts_blp.response(200, KeySchema)
    def get(self) -> Any:
        """The public keys receipts are signed with (key id → base64url raw Ed25519 key), for
        offices that check receipts offline."""
        return {"keys": runtime().signer.public_keys()}


class DeliverySchema(ma.Schema):
    id = f.UUID()
    notice_id = f.UUID()
    person_id = f.UUID()
    recipient = f.String()
    channel = f.String()
    status = f.String()
    attempts = f.Integer()
    failures = f.Integer()
    last_error = f.String(allow_none=True)
    next_attempt_at = f.DateTime(allow_none=True)
    delivered_at = f.DateTime(allow_none=True)
    created_at = f.DateTime()
    version = f.Integer()


class DeliveryArgs(PageArgs):
    class Meta:
        unknown = ma.RAISE

    status = f.String(
        load_default=None, metadata={"description": "dead, uncertain, pending, delivered..."}
    )


@outbox_blp.route("/deliveries")
class Deliveries(MethodView):
    @outbox_blp.arguments(DeliveryArgs, location="query")
    @outbox_blp.response(200, page_schema(DeliverySchema, "DeliveryPage"))
    def get(self, args: dict[str, Any]) -> Any:
        """Deliveries by status: dead and uncertain ones are the operators' work list."""
        status = state_named(DeliveryStatus, args.get("status"))
        return page_body(
            notices.list_deliveries(ctx(), current_actor(), status=status, page=page_request(args))
        )


@outbox_blp.route("/deliveries/<uuid:delivery_id>/send-again")
class SendAgain(MethodView):
    @outbox_blp.response(200, DeliverySchema)
    def post(self, delivery_id: UUID) -> Any:
        """Send a dead or uncertain delivery again (an uncertain one may reach the person
        twice: check the provider's report first)."""
        return notices.send_again(ctx(), current_actor(), delivery_id)


class BacklogSchema(ma.Schema):
    counts = f.Dict(keys=f.String(), values=f.Integer())


@outbox_blp.route("/backlog")
class Backlog(MethodView):
    @outbox_blp.response(200, BacklogSchema)
    def get(self) -> Any:
        """Deliveries by status, and notices not yet routed."""
        return {"counts": notices.backlog(ctx(), current_actor())}


class LetterBatchSchema(ma.Schema):
    id = f.UUID()
    district_code = f.String()
    township_code = f.String(allow_none=True)
    letters = f.Integer()
    created_at = f.DateTime()


@outbox_blp.route("/letters")
class LetterBatches(MethodView):
    @outbox_blp.arguments(PageArgs, location="query")
    @outbox_blp.response(200, page_schema(LetterBatchSchema, "LetterBatchPage"))
    def get(self, args: dict[str, Any]) -> Any:
        """The letter batches of your region, newest first, to print and post."""
        return page_body(notices.letter_batches(ctx(), current_actor(), page_request(args)))


@outbox_blp.route("/letters/<uuid:batch_id>/pdf")
class LetterBatchPdf(MethodView):
    @outbox_blp.doc(responses={"200": {"description": "application/pdf"}})
    def get(self, batch_id: UUID) -> Response:
        """One batch's letters as a PDF (one page per letter)."""
        key = notices.letter_batch_key(ctx(), current_actor(), batch_id)
        with runtime().object_store.open(key) as fh:
            data = fh.read()
        return send_file(
            io.BytesIO(data),
            mimetype="application/pdf",
            download_name=f"letters-{batch_id}.pdf",
            as_attachment=True,
        )
