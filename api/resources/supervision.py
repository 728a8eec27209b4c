"""Public tip-offs (举报, Art. 22): the same intake as the /tipoff page, for other front ends."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import marshmallow as ma
from flask import request
from flask.views import MethodView

from api.abuse import channels, human_check
from api.blueprint import Blueprint
from api.context import ctx
from api.schemas import citizen_id_field
from certification.access import Actor
from certification.errors import ValidationFailed
from certification.services import supervision as supervision_service
from certification.supervision import TipOffCategory

blp = Blueprint(
    "tipoffs",
    __name__,
    url_prefix="/api/tipoffs",
    description="Report a fraudulent benefit claim (举报), without an account. Rate-limited; "
    "answer the check question from /api/tipoffs/challenge.",
)
f = ma.fields


class ChallengeSchema(ma.Schema):
    question = f.String(metadata={"example": "三 加 4 等于几？ / 3 + 4 = ?"})
    token = f.String(metadata={"description": "Send back as check_token, once."})
    channels = f.Dict(
        metadata={
            "example": {
                "phone": "12333",
                "fax": "023-00000000",
                "address": "…",
                "postcode": "400000",
            }
        }
    )


class ReportSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    category = f.String(
        required=True,
        validate=ma.validate.OneOf([c.value for c in TipOffCategory]),
        metadata={"example": "death_concealed"},
    )
    description = f.String(
        required=True,
        validate=ma.validate.Length(1, 4000),
        metadata={"example": "邻居王某去年已去世，家属仍在领取养老金。"},
    )
    subject_name = f.String(
        required=True, validate=ma.validate.Length(1, 64), metadata={"example": "王某"}
    )
    district_code = f.String(
        required=True,
        validate=ma.validate.Regexp(r"^\d{6}$", error="A district code has 6 digits."),
        metadata={"example": "500103"},
    )
    subject_citizen_id = citizen_id_field(load_default=None, allow_none=True)
    reporter_name = f.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=64),
        metadata={"example": "李四"},
    )
    reporter_phone = f.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=32),
        metadata={"example": "13800000000"},
    )
    wants_reward = f.Boolean(load_default=False)
    check_token = f.String(required=True, validate=ma.validate.Length(1, 512))
    check_answer = f.String(
        required=True, validate=ma.validate.Length(1, 8), metadata={"example": "7"}
    )


class ReceiptSchema(ma.Schema):
    reference = f.String(metadata={"example": "JB-20261127-7QX2MA"})
    received_at = f.DateTime()


@blp.route("/challenge")
class Challenge(MethodView):
    @blp.doc(security=[])
    @blp.response(200, ChallengeSchema)
    def get(self) -> Any:
        """A check question to answer with the report (valid once, 30 minutes)."""
        question, token = human_check().new()
        c = channels()
        return {
            "question": question,
            "token": token,
            "channels": asdict(c),
        }


@blp.route("")
class Reports(MethodView):
    @blp.doc(security=[])
    @blp.arguments(ReportSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Send a report; keep the reference to follow it up by phone."""
        if not human_check().passes(data.pop("check_token"), data.pop("check_answer")):
            raise ValidationFailed(
                "The check answer is wrong or the question expired; ask for a new question.",
                field="check_answer",
            )
        tip = supervision_service.submit(
            ctx(),
            Actor.system("public-tipoff", origin=request.remote_addr),
            supervision_service.Report(channel="api", **data),
        )
        return {"reference": tip.reference, "received_at": tip.received_at}
