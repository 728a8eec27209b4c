"""Benefits: details with status history and amount schedule, amount changes, termination."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from api.auth import current_actor
from api.blueprint import Blueprint
from api.context import ctx
from api.schemas import (
    AmountChangeSchema,
    EntitlementAmountSchema,
    EntitlementDetailSchema,
    TerminationSchema,
)
from certification.services import entitlements

blp = Blueprint(
    "entitlements",
    __name__,
    url_prefix="/api/entitlements",
    description="Benefits (待遇): pension, unemployment, long-term work injury.",
)


@blp.route("/<uuid:entitlement_id>")
class EntitlementById(MethodView):
    @blp.response(200, EntitlementDetailSchema)
    def get(self, entitlement_id: UUID) -> Any:
        """One benefit with its dated status history and monthly amount schedule."""
        return entitlements.get_entitlement(ctx(), current_actor(), entitlement_id)


@blp.route("/<uuid:entitlement_id>/amounts")
class EntitlementAmounts(MethodView):
    @blp.arguments(AmountChangeSchema)
    @blp.response(201, EntitlementAmountSchema)
    def post(self, data: dict[str, Any], entitlement_id: UUID) -> Any:
        """Set the monthly amount from a month on (annual adjustment, correction)."""
        return entitlements.change_amount(ctx(), current_actor(), entitlement_id, **data)


@blp.route("/<uuid:entitlement_id>/termination")
class EntitlementTermination(MethodView):
    @blp.arguments(TerminationSchema)
    @blp.response(200, EntitlementDetailSchema)
    def post(self, data: dict[str, Any], entitlement_id: UUID) -> Any:
        """End a benefit (district/county or municipal clerks)."""
        return entitlements.terminate_entitlement(ctx(), current_actor(), entitlement_id, **data)
