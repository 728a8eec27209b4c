"""Who may see and change what.

- Staff act only on people whose household registration lies in their region
  scope (municipal, district/county, township/street).
- Suspensions and restorations are the agency's acts (Art. 21): municipal or
  district/county staff only, never a township.
- Counter clerks anywhere in the city may look a person up by citizen ID and
  record a counter certification (Art. 5, 全市同城通办), seeing only what that
  needs.
- Beneficiaries see their own record; operators run the system and see no
  personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from certification.errors import AccessDenied
from certification.regions import CITY_CODE, RegionLevel, level_of, within
from certification.vocabulary import AccountKind, StaffRole

SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Whoever asks: an account, or the system itself (a scheduled job)."""

    kind: str  # an AccountKind value or "system"
    account_id: UUID | None = None
    label: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    scope_code: str | None = None
    person_id: UUID | None = None
    origin: str | None = None  # where the request came from (client address)
    identity_verified: bool = True

    @classmethod
    def system(cls, label: str, origin: str | None = None) -> Actor:
        return cls(kind=SYSTEM, label=label, origin=origin)

    @property
    def is_staff(self) -> bool:
        return self.kind == AccountKind.STAFF.value

    @property
    def is_system(self) -> bool:
        return self.kind == SYSTEM

    def has_role(self, role: StaffRole) -> bool:
        return self.is_staff and role.value in self.roles

    def sees_region(self, region_code: str) -> bool:
        if self.is_system:
            return True
        return (
            self.is_staff and self.scope_code is not None and within(region_code, self.scope_code)
        )


def _deny(actor: Actor, what: str) -> AccessDenied:
    return AccessDenied(
        f"Your account ({actor.label or actor.kind}) is not allowed to {what}.",
        details={"actor_kind": actor.kind, "scope": actor.scope_code},
    )


def require_read_person(actor: Actor, *, person_id: UUID, region_code: str) -> None:
    if actor.sees_region(region_code):
        return
    if actor.kind == AccountKind.BENEFICIARY.value and actor.person_id == person_id:
        if not actor.identity_verified:
            raise AccessDenied(
                "Confirm your identity first (a successful face certification or a visit to a "
                "service point) to see your benefit records."
            )
        return
    raise _deny(actor, "see this person: they are registered outside your region")


def require_clerk_for(actor: Actor, region_code: str, what: str) -> None:
    if actor.is_system:
        return
    if not actor.has_role(StaffRole.CLERK):
        raise _deny(actor, what + " (needs the clerk role)")
    if not actor.sees_region(region_code):
        raise _deny(actor, what + ": the person is registered outside your region")


def require_agency_clerk_for(actor: Actor, region_code: str, what: str) -> None:
    """Suspension and restoration are decided by municipal or district/county staff."""
    require_clerk_for(actor, region_code, what)
    if actor.is_system or actor.scope_code is None:
        return
    if level_of(actor.scope_code) not in (RegionLevel.CITY, RegionLevel.DISTRICT):
        raise _deny(actor, what + " (a district/county or municipal agency decides this)")


def require_counter_clerk(actor: Actor) -> None:
    if actor.is_system or actor.has_role(StaffRole.COUNTER):
        return
    raise _deny(actor, "use the city-wide counter (needs the counter role)")


def require_staff(actor: Actor, what: str) -> None:
    if actor.is_system or actor.is_staff:
        return
    raise _deny(actor, what)


def require_operator(actor: Actor, what: str) -> None:
    if actor.is_system or actor.kind == AccountKind.OPERATOR.value:
        return
    raise _deny(actor, what + " (operators only)")


def require_auditor(actor: Actor) -> None:
    """The whole audit trail: operators and municipal auditors."""
    if actor.is_system or actor.kind == AccountKind.OPERATOR.value:
        return
    if actor.has_role(StaffRole.AUDITOR) and actor.scope_code == CITY_CODE:
        return
    raise _deny(actor, "read the audit trail (operators and municipal auditors)")


def staff_scope(actor: Actor) -> str:
    """The region a staff list query is limited to."""
    if actor.is_system:
        return CITY_CODE
    if not actor.is_staff or actor.scope_code is None:
        raise _deny(actor, "list people (staff only)")
    return actor.scope_code
