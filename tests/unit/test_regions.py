import pytest

from certification.errors import UnknownRegion
from certification.regions import (
    CITY_CODE,
    DISTRICTS,
    RegionLevel,
    RegionPlacement,
    level_of,
    path_of,
    within,
)


def test_chongqing_has_26_districts_and_12_counties():
    assert len(DISTRICTS) == 38
    assert sum(1 for c in DISTRICTS if c.startswith("5001")) == 26
    assert sum(1 for c in DISTRICTS if c.startswith("5002")) == 12
    assert DISTRICTS["500103"] == "渝中区"


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("500000", RegionLevel.CITY),
        ("500103", RegionLevel.DISTRICT),
        ("500243", RegionLevel.DISTRICT),
        ("500103001", RegionLevel.TOWNSHIP),
        ("500103001002", RegionLevel.VILLAGE),
    ],
)
def test_levels_from_code_shape(code, level):
    assert level_of(code) is level


@pytest.mark.parametrize("code", ["500199", "510104", "50010300", "5001030010", "abc", "500999001"])
def test_unknown_or_malformed_codes_are_refused(code):
    with pytest.raises(UnknownRegion):
        level_of(code)


def test_path_runs_from_city_to_village():
    assert path_of("500103001002") == [CITY_CODE, "500103", "500103001", "500103001002"]


def test_placement_splits_levels_and_refuses_the_city_alone():
    placement = RegionPlacement.of("500103001002")
    assert (placement.district_code, placement.township_code, placement.village_code) == (
        "500103",
        "500103001",
        "500103001002",
    )
    assert RegionPlacement.of("500105").township_code is None
    with pytest.raises(UnknownRegion):
        RegionPlacement.of(CITY_CODE)


@pytest.mark.parametrize(
    ("code", "scope", "inside"),
    [
        ("500103001002", CITY_CODE, True),
        ("500103001002", "500103", True),
        ("500103001002", "500103001", True),
        ("500103002001", "500103001", False),
        ("500105001001", "500103", False),
    ],
)
def test_scope_containment(code, scope, inside):
    assert within(code, scope) is inside
