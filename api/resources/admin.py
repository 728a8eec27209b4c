"""Operators and auditors: regions below district level, accounts, the audit trail."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx, runtime
from api.pagination import PageArgs, page_body, page_request, page_schema
from api.schemas import (
    AccountActiveSchema,
    AccountSchema,
    AuditQuerySchema,
    AuditRecordSchema,
    ChainReportSchema,
    ReasonSchema,
    RegionCreateSchema,
    RegionQuerySchema,
    RegionSchema,
    StaffCreateSchema,
)
from certification.services import accounts, audit, regions

regions_blp = Blueprint(
    "regions",
    __name__,
    url_prefix="/api/regions",
    description="Chongqing's regions: GB/T 2260 districts and counties, and the townships and "
    "villages registered below them.",
)


@regions_blp.route("")
class Regions(MethodView):
    @regions_blp.arguments(RegionQuerySchema, location="query")
    @regions_blp.response(200, RegionSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Districts and counties, or the registered children of ``parent``."""
        current_actor()
        return regions.list_children(ctx(), args["parent"])

    @regions_blp.arguments(RegionCreateSchema)
    @regions_blp.response(201, RegionSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register a township/street (9 digits) or village/community (12 digits)."""
        return regions.add_region(ctx(), current_actor(), **data)


accounts_blp = Blueprint(
    "accounts",
    __name__,
    url_prefix="/api/accounts",
    description="Staff and operator accounts (operators only).",
)
AccountPage = page_schema(AccountSchema, "AccountPage")


@accounts_blp.route("")
class Accounts(MethodView):
    @accounts_blp.arguments(PageArgs, location="query")
    @accounts_blp.response(200, AccountPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Every account, oldest first."""
        return page_body(accounts.list_accounts(ctx(), current_actor(), page_request(args)))

    @accounts_blp.arguments(StaffCreateSchema)
    @accounts_blp.response(201, AccountSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a staff account (region scope and roles) or an operator account."""
        return accounts.create_staff(ctx(), current_actor(), runtime().passwords, **data)


@accounts_blp.route("/<uuid:account_id>/active")
class AccountActive(MethodView):
    @accounts_blp.arguments(AccountActiveSchema)
    @accounts_blp.response(200, AccountSchema)
    def put(self, data: dict[str, Any], account_id: UUID) -> Any:
        """Enable or disable an account; disabling ends its sessions at once."""
        return accounts.set_account_active(ctx(), current_actor(), account_id, **data)


@accounts_blp.route("/<uuid:account_id>/second-factor/reset")
class SecondFactorReset(MethodView):
    @accounts_blp.arguments(ReasonSchema)
    @accounts_blp.response(200, AccountSchema)
    def post(self, data: dict[str, Any], account_id: UUID) -> Any:
        """Clear a lost second factor (operators): the account's sessions end and it sets up a
        new authenticator at its next console sign-in."""
        return accounts.reset_second_factor(
            ctx(), current_actor(), account_id, reason=data["reason"]
        )


audit_blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/api/audit",
    description="The append-only, hash-chained audit trail (Art. 24).",
)
AuditPage = page_schema(AuditRecordSchema, "AuditPage")


@audit_blp.route("")
class AuditRecords(MethodView):
    @audit_blp.arguments(AuditQuerySchema, location="query")
    @audit_blp.response(200, AuditPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Audit records in order; filter by entity, actor or action."""
        page = audit.list_audit(
            ctx(),
            current_actor(),
            entity_type=args["entity_type"],
            entity_id=args["entity_id"],
            actor_id=args["actor_id"],
            action=args["action"],
            page=page_request(args),
        )
        return page_body(page)


@audit_blp.route("/verification")
class AuditVerification(MethodView):
    @audit_blp.response(200, ChainReportSchema)
    def post(self) -> Any:
        """Walk the whole chain and report the first broken record, if any."""
        return audit.verify_audit_chain(ctx(), current_actor())
