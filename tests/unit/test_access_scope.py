"""The one region rule: a staff member's scope, what it covers, and the listings with a
rule of their own about levels."""

import pytest

from certification.access import NOTHING, Actor, Listing, Scope, staff_scope
from certification.errors import AccessDenied
from certification.regions import CITY_CODE


def staff(scope: str) -> Actor:
    return Actor(kind="staff", label="s", roles=frozenset({"clerk"}), scope_code=scope)


@pytest.mark.parametrize(
    ("scope", "region", "covered"),
    [
        (CITY_CODE, "500103001002", True),
        ("500103", "500103", True),
        ("500103", "500103001", True),
        ("500103", "500105001", False),
        ("500103001", "500103001002", True),
        ("500103001", "500103002", False),
        ("500103001", "500103", False),  # a township does not see its district's records
    ],
)
def test_a_scope_covers_the_regions_inside_it(scope: str, region: str, covered: bool) -> None:
    assert Scope.of(scope).covers(region) is covered
    assert staff(scope).sees_region(region) is covered  # single records: the same rule


def test_a_village_code_reads_as_its_township_and_nothing_covers_nothing() -> None:
    assert Scope.of("500103001002") == Scope("500103001")
    assert NOTHING.holds_nothing and not NOTHING.covers("500103")


def test_tip_offs_stop_at_the_district_other_listings_reach_the_township() -> None:
    assert staff_scope(staff("500103001")) == Scope("500103001")
    assert staff_scope(staff("500103001"), Listing.TIP_OFFS) is NOTHING
    assert staff_scope(staff("500103"), Listing.TIP_OFFS) == Scope("500103")
    assert staff_scope(Actor.system("job"), Listing.TIP_OFFS) == Scope(CITY_CODE)
    with pytest.raises(AccessDenied):
        staff_scope(Actor(kind="family", label="f"))
