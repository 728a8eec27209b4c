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
from enum import StrEnum
from uuid import UUID

from certification.errors import AccessDenied
from certification.regions import CITY_CODE, RegionLevel, level_of, within
from certification.vocabulary import AccountKind, StaffRole

SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Scope:
    """The records a staff list holds: those about people registered inside ``code`` (the
    city, a district/county or a township/street), read from the record's own district and
    township columns or, for records that have none, from the person's registration.
    ``code`` None is a scope that holds nothing (a kind of record a level does not handle).

    The one region rule: every listing (storage/scoping.py turns it into SQL) and every
    single-record check (``Actor.sees_region``) use it."""

    code: str | None

    @classmethod
    def of(cls, code: str) -> Scope:
        # staff scopes stop at townships; a village code reads as its township's
        return cls(code[:9] if len(code) > 9 else code)

    @property
    def is_city(self) -> bool:
        return self.code == CITY_CODE

    @property
    def holds_nothing(self) -> bool:
        return self.code is None

    @property
    def level(self) -> RegionLevel | None:
        return None if self.code is None else level_of(self.code)

    def covers(self, region_code: str) -> bool:
        return self.code is not None and within(region_code, self.code)


NOTHING = Scope(None)


class Listing(StrEnum):
    """Kinds of record whose lists follow a rule of their own about levels."""

    PEOPLE = "people"  # records about people: every level sees its region
    TIP_OFFS = "tip_offs"  # investigated by district or city staff: a township sees none


_LOWEST_LEVEL = {Listing.TIP_OFFS: RegionLevel.DISTRICT}
_LEVELS = (RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.TOWNSHIP, RegionLevel.VILLAGE)


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
            self.is_staff
            and self.scope_code is not None
            and Scope.of(self.scope_code).covers(region_code)
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


def staff_scope(actor: Actor, listing: Listing = Listing.PEOPLE) -> Scope:
    """The scope a staff member's list of ``listing`` records is limited to."""
    if actor.is_system:
        return Scope(CITY_CODE)
    if not actor.is_staff or actor.scope_code is None:
        raise _deny(actor, "list people (staff only)")
    scope = Scope.of(actor.scope_code)
    lowest = _LOWEST_LEVEL.get(listing)
    below = (
        lowest is not None
        and scope.level is not None
        and _LEVELS.index(scope.level) > _LEVELS.index(lowest)
    )
    return NOTHING if below else scope
