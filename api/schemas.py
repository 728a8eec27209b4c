"""Request and response schemas (marshmallow). Field rules of form live here; rules of the
procedure live in the domain and come back as field errors of the same shape."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from api.pagination import cursor_field
from certification.vocabulary import (
    AccountKind,
    BenefitKind,
    CertificationChannel,
    ContactChannel,
    ContactOutcome,
    DependantRelationship,
    EntitlementStatus,
    RecipientRole,
    StaffRole,
    SuspensionReason,
    SuspensionStatus,
)

CID_EXAMPLE = "500103195003011114"
REASON = f.String(required=True, validate=v.Length(min=4, max=500))
CID_PATTERN = r"^\d{17}[\dXx]$"
REGION_PATTERN = r"^\d{6}(\d{3}(\d{3})?)?$"


def citizen_id_field(**kw: Any) -> f.String:
    """A citizen ID number: 18 characters (the check digit is the domain's to verify)."""
    metadata = {"example": CID_EXAMPLE, "description": "18 characters, GB 11643 check digit."}
    return f.String(
        validate=v.Regexp(CID_PATTERN, error="A citizen ID number has 18 characters."),
        metadata={**metadata, **kw.pop("metadata", {})},
        **kw,
    )


def region_code_field(**kw: Any) -> f.String:
    """A region code: district (6 digits), township (9) or village (12)."""
    metadata = {"example": "500103", "description": "6, 9 or 12 digits (GB/T 2260 and below)."}
    return f.String(
        validate=v.Regexp(REGION_PATTERN, error="A region code has 6, 9 or 12 digits."),
        metadata={**metadata, **kw.pop("metadata", {})},
        **kw,
    )


def _enum(enum_cls: Any, **kw: Any) -> f.Enum[Any]:
    return f.Enum(enum_cls, by_value=True, **kw)


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


# --- regions -----------------------------------------------------------------


class RegionSchema(ma.Schema):
    code = f.String(metadata={"example": "500103001"})
    name = f.String(metadata={"example": "七星岗街道"})
    level = f.String(metadata={"example": "township"})
    parent_code = f.String(allow_none=True)


class RegionCreateSchema(StrictSchema):
    code = f.String(
        required=True, validate=v.Regexp(r"^\d{9}(\d{3})?$"), metadata={"example": "500103001"}
    )
    name = f.String(required=True, validate=v.Length(1, 64), metadata={"example": "七星岗街道"})


class RegionQuerySchema(StrictSchema):
    parent = region_code_field(
        load_default=None, metadata={"description": "Parent code; omit for the districts."}
    )


# --- persons -----------------------------------------------------------------


class PeriodSchema(ma.Schema):
    starts_on = f.Date()
    due_on = f.Date()
    basis = f.String(metadata={"description": "first_period | came_of_age | certified"})


class EntitlementAmountSchema(ma.Schema):
    effective_from = f.Date()
    monthly_amount_fen = f.Integer()
    reason = f.String()
    recorded_at = f.DateTime()


class StatusChangeSchema(ma.Schema):
    from_status = f.String(allow_none=True)
    to_status = f.String()
    effective_on = f.Date()
    reason = f.String()
    actor_id = f.UUID(allow_none=True)
    recorded_at = f.DateTime()


class EntitlementSchema(ma.Schema):
    id = f.UUID()
    person_id = f.UUID()
    kind = _enum(BenefitKind)
    role = _enum(RecipientRole)
    relationship = _enum(DependantRelationship, allow_none=True)
    start_date = f.Date()
    monthly_amount_fen = f.Integer(metadata={"description": "Current monthly amount in fen."})
    status = _enum(EntitlementStatus)
    version = f.Integer()
    created_at = f.DateTime()


class EntitlementDetailSchema(EntitlementSchema):
    status_changes = f.List(f.Nested(StatusChangeSchema))
    amounts = f.List(f.Nested(EntitlementAmountSchema))


class PersonSchema(ma.Schema):
    id = f.UUID()
    citizen_id = f.String(metadata={"example": CID_EXAMPLE})
    name = f.String(metadata={"example": "张秀兰"})
    phone = f.String(allow_none=True, metadata={"example": "13800138000"})
    address = f.String(allow_none=True, metadata={"example": "渝中区解放碑街道民族路 88 号 3-2"})
    birth_date = f.Date()
    sex = f.String(metadata={"example": "female"})
    region_code = f.String(metadata={"example": "500103001"})
    district_code = f.String()
    township_code = f.String(allow_none=True)
    village_code = f.String(allow_none=True)
    last_certified_on = f.Date(allow_none=True)
    period = f.Method("_period", metadata={"description": "The current certification period."})
    entitlements = f.List(f.Nested(EntitlementSchema))
    version = f.Integer()
    created_at = f.DateTime()
    updated_at = f.DateTime()

    def _period(self, person: Any) -> dict[str, Any] | None:
        if person.due_on is None:
            return None
        return {
            "starts_on": person.period_starts_on.isoformat(),
            "due_on": person.due_on.isoformat(),
            "basis": person.period_basis,
        }


class PersonSummarySchema(ma.Schema):
    id = f.UUID()
    citizen_id = f.String()
    name = f.String()
    region_code = f.String()
    district_code = f.String()
    township_code = f.String(allow_none=True)
    due_on = f.Date(allow_none=True)
    last_certified_on = f.Date(allow_none=True)


class PersonCreateSchema(StrictSchema):
    citizen_id = citizen_id_field(required=True)
    name = f.String(required=True, validate=v.Length(1, 64), metadata={"example": "张秀兰"})
    phone = f.String(load_default=None, allow_none=True, validate=v.Length(max=20))
    address = f.String(load_default=None, allow_none=True, validate=v.Length(max=200))
    region_code = region_code_field(
        required=True,
        metadata={
            "example": "500103",
            "description": "Household registration (户籍): district (6 digits), township (9) "
            "or village (12).",
        },
    )


class PersonUpdateSchema(StrictSchema):
    name = f.String(validate=v.Length(1, 64))
    phone = f.String(allow_none=True, validate=v.Length(max=20))
    address = f.String(validate=v.Length(max=200))
    region_code = region_code_field()
    reason = REASON


class PersonQuerySchema(StrictSchema):
    region = f.String(
        load_default=None, metadata={"description": "Narrow to a region in your scope."}
    )
    name = f.String(
        load_default=None,
        validate=v.Length(1, 64),
        metadata={"description": "The whole name (names are sealed: exact match)."},
    )
    limit = f.Integer(load_default=50, validate=v.Range(1, 200))
    cursor = cursor_field()


# --- entitlements ------------------------------------------------------------


class EntitlementCreateSchema(StrictSchema):
    kind = _enum(BenefitKind, required=True)
    role = _enum(RecipientRole, load_default=RecipientRole.INSURED)
    relationship = _enum(DependantRelationship, load_default=None, allow_none=True)
    start_date = f.Date(required=True, metadata={"example": "2015-07-01"})
    monthly_amount_fen = f.Integer(
        required=True,
        strict=True,
        metadata={"example": 325000, "description": "Whole fen (1 yuan = 100 fen)."},
    )


class AmountChangeSchema(StrictSchema):
    effective_from = f.String(
        required=True, validate=v.Regexp(r"^\d{4}-\d{2}$"), metadata={"example": "2027-01"}
    )
    monthly_amount_fen = f.Integer(required=True, strict=True, metadata={"example": 341000})
    reason = REASON


class TerminationSchema(StrictSchema):
    terminated_on = f.Date(required=True)
    reason = REASON


# --- certifications ----------------------------------------------------------


class CertificationSchema(ma.Schema):
    id = f.UUID()
    person_id = f.UUID()
    certified_at = f.DateTime()
    certified_on = f.Date()
    channel = _enum(CertificationChannel)
    recorded_by = f.UUID(allow_none=True)
    assisted_by = f.UUID(allow_none=True)
    evidence = f.List(f.String())
    note = f.String(allow_none=True)
    source_ref = f.String(allow_none=True)
    annulment_requested_by = f.UUID(allow_none=True)
    annulment_requested_at = f.DateTime(allow_none=True)
    annulment_reason = f.String(allow_none=True)
    annulled_by = f.UUID(allow_none=True)
    annulled_at = f.DateTime(
        allow_none=True, metadata={"description": "set: it no longer counts (two clerks)"}
    )
    review_flag = f.String(
        allow_none=True,
        metadata={"description": "outside_clerk_district, id_card_not_read (comma-separated)"},
    )
    review_cleared_by = f.UUID(allow_none=True)
    review_cleared_at = f.DateTime(allow_none=True)


class AnnulmentRequestSchema(StrictSchema):
    reason = f.String(
        required=True,
        validate=v.Length(10, 1000),
        metadata={
            "description": "why the certification is wrong (the second clerk reads it)",
            "example": "the counter record names another person: wrong ID card number typed",
        },
    )


class AnnulmentDecisionSchema(StrictSchema):
    confirm = f.Boolean(required=True, metadata={"example": True})
    note = f.String(load_default=None, validate=v.Length(max=500))


class CertificationCreateSchema(StrictSchema):
    channel = _enum(CertificationChannel, required=True, metadata={"example": "partner_bank"})
    certified_at = f.AwareDateTime(
        load_default=None, metadata={"description": "When it happened (default: now)."}
    )
    evidence = f.List(
        f.String(validate=v.Length(1, 500)), load_default=list, validate=v.Length(max=20)
    )
    note = f.String(load_default=None, allow_none=True, validate=v.Length(max=1000))
    source_ref = f.String(load_default=None, allow_none=True, validate=v.Length(max=200))


class CertificationOutcomeSchema(ma.Schema):
    certification = f.Nested(CertificationSchema)
    period = f.Nested(PeriodSchema, allow_none=True)
    restoration_pending = f.List(
        f.UUID(),
        metadata={"description": "Suspended benefits that an agency clerk may now restore."},
    )
    restoration_proposals = f.Method(
        "_restoration_proposals",
        metadata={
            "description": "The restoration proposals this certification opened for the "
            "district clerk (one per suspended benefit not already proposed).",
            "type": "array",
            "items": {"type": "string", "format": "uuid"},
        },
    )
    tasks_closed = f.List(
        f.UUID(),
        metadata={"description": "Open verification tasks this certification settled."},
    )

    def _restoration_proposals(self, outcome: Any) -> list[str]:
        return [str(p.id) for p in outcome.restorations]


class CounterLookupSchema(StrictSchema):
    citizen_id = citizen_id_field(required=True)
    name = f.String(
        required=True,
        validate=v.Length(1, 64),
        metadata={"description": "As printed on the ID card.", "example": "张秀兰"},
    )


class CounterCertifySchema(CounterLookupSchema):
    note = f.String(load_default=None, allow_none=True, validate=v.Length(max=1000))
    id_check = f.String(
        required=True,
        validate=v.OneOf(("chip", "visual")),
        metadata={
            "description": "chip: read by the counter's ID card reader (give reader_ref); "
            "visual: only looked at (the person's district reviews it)",
            "example": "chip",
        },
    )
    reader_ref = f.String(
        load_default=None,
        allow_none=True,
        validate=v.Length(max=64),
        metadata={"example": "RD-0311-20261204-0042"},
    )


class CounterViewSchema(ma.Schema):
    person_id = f.UUID()
    citizen_id_masked = f.String(metadata={"example": "500103********1114"})
    name = f.String()
    birth_year = f.Integer()
    district_code = f.String()
    benefit_kinds = f.List(f.String())
    due_on = f.Date(allow_none=True)


class CounterCertifiedSchema(ma.Schema):
    person = f.Nested(CounterViewSchema)
    certification = f.Nested(CertificationSchema)
    due_on = f.Date(allow_none=True)
    restoration_proposed = f.Boolean(
        metadata={
            "description": "The person has suspended benefits; their restoration (with "
            "arrears) now waits for the district clerk: tell the person so."
        }
    )


# --- periods -----------------------------------------------------------------


class PeriodStatusSchema(ma.Schema):
    person_id = f.UUID()
    period = f.Nested(PeriodSchema, allow_none=True)
    last_certified_on = f.Date(allow_none=True)
    today = f.Date()
    days_left = f.Integer(allow_none=True, metadata={"description": "Negative once overdue."})
    state = f.String(metadata={"description": "not_in_scope | not_started | current | overdue"})


class DueQuerySchema(StrictSchema):
    days = f.Integer(load_default=30, validate=v.Range(0, 366))
    region = f.String(load_default=None)
    limit = f.Integer(load_default=50, validate=v.Range(1, 200))
    cursor = cursor_field()


class OverdueQuerySchema(StrictSchema):
    region = f.String(load_default=None)
    limit = f.Integer(load_default=50, validate=v.Range(1, 200))
    cursor = cursor_field()


class SummaryQuerySchema(StrictSchema):
    days = f.Integer(load_default=30, validate=v.Range(0, 366))
    region = f.String(load_default=None)


class RegionCountSchema(ma.Schema):
    region_code = f.String()
    count = f.Integer()


class DueSummarySchema(ma.Schema):
    today = f.Date()
    within_days = f.Integer()
    overdue = f.List(f.Nested(RegionCountSchema))
    due_soon = f.List(f.Nested(RegionCountSchema))


# --- contact attempts --------------------------------------------------------


class ContactAttemptSchema(ma.Schema):
    id = f.UUID()
    person_id = f.UUID()
    channel = _enum(ContactChannel)
    outcome = _enum(ContactOutcome)
    attempted_at = f.DateTime()
    attempted_on = f.Date()
    recorded_by = f.UUID(allow_none=True)
    note = f.String(allow_none=True)


class ContactAttemptCreateSchema(StrictSchema):
    channel = _enum(ContactChannel, required=True)
    outcome = _enum(ContactOutcome, required=True)
    attempted_at = f.AwareDateTime(load_default=None)
    note = f.String(load_default=None, allow_none=True, validate=v.Length(max=1000))


class ReachabilitySchema(ma.Schema):
    unreachable = f.Boolean()
    channels_tried = f.List(f.String())
    reached_on = f.Date(allow_none=True)
    min_channels = f.Integer()
    explanation = f.Function(lambda finding: finding.explain())


# --- suspensions -------------------------------------------------------------


class SuspensionSchema(ma.Schema):
    id = f.UUID()
    person_id = f.UUID()
    entitlement_id = f.UUID()
    reason = _enum(SuspensionReason)
    suspended_on = f.Date()
    explanation = f.String()
    decided_by = f.UUID(allow_none=True)
    decided_at = f.DateTime()
    evidence = f.Dict()
    status = _enum(SuspensionStatus)
    restored_on = f.Date(allow_none=True)
    restoration_reason = f.String(allow_none=True)
    restored_by = f.UUID(allow_none=True)
    restored_at = f.DateTime(allow_none=True)
    arrears_fen = f.Integer(allow_none=True)
    arrears_months = f.List(f.Dict())
    version = f.Integer()


class SuspensionCreateSchema(StrictSchema):
    reason = _enum(
        SuspensionReason, required=True, metadata={"example": "period_expired_unreachable"}
    )
    suspended_on = f.Date(load_default=None)
    explanation = f.String(load_default="", validate=v.Length(max=2000))
    entitlement_ids = f.List(
        f.UUID(),
        load_default=None,
        allow_none=True,
        metadata={"description": "Default: every active benefit of the person."},
    )


class RestorationCreateSchema(StrictSchema):
    restored_on = f.Date(load_default=None)
    reason = REASON


class ArrearMonthSchema(ma.Schema):
    month = f.Function(lambda m: str(m.month))
    amount_fen = f.Integer()


class RestorationSchema(ma.Schema):
    suspension = f.Nested(SuspensionSchema)
    arrears_fen = f.Function(lambda o: o.arrears.total_fen)
    arrears_months = f.Function(
        lambda o: [{"month": str(m.month), "amount_fen": m.amount_fen} for m in o.arrears.months]
    )


class SuspensionQuerySchema(StrictSchema):
    status = _enum(SuspensionStatus, load_default=None)
    person_id = f.UUID(load_default=None)
    limit = f.Integer(load_default=50, validate=v.Range(1, 200))
    cursor = cursor_field()


# --- accounts and sign-in ----------------------------------------------------


class AccountSchema(ma.Schema):
    id = f.UUID()
    kind = _enum(AccountKind)
    display_name = f.String()
    username = f.String(allow_none=True)
    region_code = f.String(allow_none=True)
    roles = f.List(f.String())
    person_id = f.UUID(allow_none=True)
    identity_verified = f.Boolean()
    active = f.Boolean()
    created_at = f.DateTime()


class StaffCreateSchema(StrictSchema):
    kind = _enum(AccountKind, load_default=AccountKind.STAFF)
    username = f.String(
        required=True, validate=v.Length(3, 64), metadata={"example": "yuzhong.clerk"}
    )
    display_name = f.String(required=True, validate=v.Length(1, 64))
    password = f.String(required=True, load_only=True, validate=v.Length(12, 256))
    region_code = region_code_field(load_default=None, allow_none=True)
    roles = f.List(f.String(validate=v.OneOf([r.value for r in StaffRole])), load_default=list)


class ReasonSchema(StrictSchema):
    """A change that needs only its reason (recorded in the audit trail)."""

    reason = f.String(
        required=True,
        validate=v.Length(4, 500),
        metadata={"example": "both came to the counter with the household register"},
    )


class AccountActiveSchema(StrictSchema):
    active = f.Boolean(required=True)
    reason = REASON


class PasswordLoginSchema(StrictSchema):
    username = f.String(required=True, validate=v.Length(1, 64))
    password = f.String(required=True, load_only=True, validate=v.Length(1, 256))
    otp = f.String(
        load_default=None,
        allow_none=True,
        load_only=True,
        validate=v.Regexp(r"^\d{6}$", error="The code has 6 digits."),
        metadata={
            "description": "The 6-digit code of the authenticator app (staff with a second "
            "factor; required in production).",
            "example": "492039",
        },
    )


# 11 digits, perhaps +86, spaces or dashes (normalised by the sign-in service)
MOBILE_PATTERN = r"^[0-9 +-]{11,20}$"


class SmsCodeRequestSchema(StrictSchema):
    phone = f.String(
        required=True,
        validate=v.Regexp(MOBILE_PATTERN, error="Enter an 11-digit mainland mobile number."),
        metadata={"example": "13800138000"},
    )


class SmsCodeSentSchema(ma.Schema):
    resend_after_s = f.Integer(metadata={"example": 60})
    expires_in_s = f.Integer(metadata={"example": 300})
    demo_code = f.String(
        allow_none=True,
        metadata={"description": "The demo only (serve --demo): the code, shown on the page."},
    )


class SmsLoginSchema(StrictSchema):
    phone = f.String(
        required=True,
        validate=v.Regexp(MOBILE_PATTERN, error="Enter an 11-digit mainland mobile number."),
        metadata={"example": "13800138000"},
    )
    code = f.String(
        required=True,
        validate=v.Regexp(r"^\d{6}$", error="The code has 6 digits."),
        metadata={"example": "381946"},
    )


class MobileLoginSchema(StrictSchema):
    provider = f.String(required=True, metadata={"example": "dev"})
    code = f.String(required=True, validate=v.Length(1, 256), metadata={"example": "dev:zhang"})


class MobileRegisterSchema(StrictSchema):
    registration_token = f.String(required=True, validate=v.Length(1, 2048))
    citizen_id = citizen_id_field(required=True)
    name = f.String(required=True, validate=v.Length(1, 64))
    phone = f.String(load_default=None, allow_none=True, validate=v.Length(max=20))


class RefreshSchema(StrictSchema):
    refresh_token = f.String(required=True, validate=v.Length(1, 256))


class TokenSchema(ma.Schema):
    access_token = f.String()
    token_type = f.String(metadata={"example": "Bearer"})
    expires_in = f.Integer(metadata={"description": "Seconds."})
    refresh_token = f.String()
    refresh_expires_at = f.DateTime()
    account = f.Nested(AccountSchema)


class MobileLoginResultSchema(ma.Schema):
    registered = f.Boolean()
    tokens = f.Nested(TokenSchema, allow_none=True)
    registration_token = f.String(
        allow_none=True,
        metadata={"description": "When registered is false: send it to /api/auth/mobile/register."},
    )


class ClaimStateSchema(ma.Schema):
    id = f.UUID(metadata={"description": "The reference a counter clerk asks for."})
    status = f.String(
        metadata={"example": "pending", "description": "pending | verified | dropped | closed"}
    )
    created_at = f.DateTime()
    locked_until = f.DateTime(allow_none=True)
    next = f.String(
        metadata={
            "description": "face_check | wait | service_point | none",
            "example": "face_check",
        }
    )


class MeSchema(ma.Schema):
    account = f.Nested(AccountSchema)
    scope = f.String(allow_none=True)
    claim = f.Nested(ClaimStateSchema, allow_none=True)
    second_factor = f.Boolean(metadata={"description": "Staff: a second factor is set up."})


# --- audit -------------------------------------------------------------------


class AuditRecordSchema(ma.Schema):
    sequence = f.Integer()
    occurred_at = f.DateTime()
    actor_id = f.String(allow_none=True)
    actor_kind = f.String()
    actor_label = f.String(allow_none=True)
    origin = f.String(allow_none=True)
    action = f.String()
    entity_type = f.String()
    entity_id = f.String(allow_none=True)
    reason = f.String(allow_none=True)
    details = f.Dict()
    hash = f.String()


class AuditQuerySchema(StrictSchema):
    entity_type = f.String(load_default=None)
    entity_id = f.String(load_default=None)
    actor_id = f.String(load_default=None)
    action = f.String(load_default=None)
    limit = f.Integer(load_default=50, validate=v.Range(1, 200))
    cursor = cursor_field()


class ChainReportSchema(ma.Schema):
    intact = f.Boolean()
    checked = f.Integer()
    first_broken_sequence = f.Integer(allow_none=True)
    problem = f.String(allow_none=True)


class HealthSchema(ma.Schema):
    status = f.String(metadata={"example": "ok"})
    version = f.String()


class ReadinessSchema(ma.Schema):
    status = f.String(metadata={"example": "ok", "description": "ok or not_ready"})
    version = f.String()
    database = f.String(metadata={"example": "ok"})
    object_store = f.String(metadata={"example": "ok"})
    broker = f.String(metadata={"example": "ok"})
    models = f.String(metadata={"example": "ok"})
