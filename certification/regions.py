"""Household registration regions (户籍地) and staff scopes.

The hierarchy is city → district/county (区县) → township/street (乡镇/街道) →
village/community (村/社区). District and county codes are GB/T 2260 (6
digits); lower levels follow the statistical division codes, which extend
their parent's code: 9 digits for a township, 12 for a village. Codes below
the district level are data (loaded into the regions table), not constants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from certification.errors import UnknownRegion

CITY_CODE = "500000"
CITY_NAME = "重庆市"


class RegionLevel(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    TOWNSHIP = "township"
    VILLAGE = "village"


# GB/T 2260 codes of Chongqing's 26 districts (区) and 12 counties (县).
DISTRICTS: dict[str, str] = {
    "500101": "万州区",
    "500102": "涪陵区",
    "500103": "渝中区",
    "500104": "大渡口区",
    "500105": "江北区",
    "500106": "沙坪坝区",
    "500107": "九龙坡区",
    "500108": "南岸区",
    "500109": "北碚区",
    "500110": "綦江区",
    "500111": "大足区",
    "500112": "渝北区",
    "500113": "巴南区",
    "500114": "黔江区",
    "500115": "长寿区",
    "500116": "江津区",
    "500117": "合川区",
    "500118": "永川区",
    "500119": "南川区",
    "500120": "璧山区",
    "500151": "铜梁区",
    "500152": "潼南区",
    "500153": "荣昌区",
    "500154": "开州区",
    "500155": "梁平区",
    "500156": "武隆区",
    "500229": "城口县",
    "500230": "丰都县",
    "500231": "垫江县",
    "500233": "忠县",
    "500235": "云阳县",
    "500236": "奉节县",
    "500237": "巫山县",
    "500238": "巫溪县",
    "500240": "石柱土家族自治县",
    "500241": "秀山土家族苗族自治县",
    "500242": "酉阳土家族苗族自治县",
    "500243": "彭水苗族土家族自治县",
}

_LEVEL_BY_LENGTH = {9: RegionLevel.TOWNSHIP, 12: RegionLevel.VILLAGE}


def level_of(code: str) -> RegionLevel:
    """The level a code denotes, from its shape. Raises UnknownRegion."""
    if code == CITY_CODE:
        return RegionLevel.CITY
    if not code.isdigit():
        raise UnknownRegion(f"Region code {code!r} must contain digits only.", field="region_code")
    if len(code) == 6:
        if code not in DISTRICTS:
            raise UnknownRegion(
                f"{code} is not a Chongqing district or county code (GB/T 2260).",
                field="region_code",
            )
        return RegionLevel.DISTRICT
    level = _LEVEL_BY_LENGTH.get(len(code))
    if level is None:
        raise UnknownRegion(
            f"Region code {code} has {len(code)} digits; expected 6 (district/county), "
            "9 (township/street) or 12 (village/community).",
            field="region_code",
        )
    if code[:6] not in DISTRICTS:
        raise UnknownRegion(
            f"Region code {code} does not lie in a Chongqing district or county.",
            field="region_code",
        )
    return level


def parent_of(code: str) -> str | None:
    level = level_of(code)
    if level is RegionLevel.CITY:
        return None
    if level is RegionLevel.DISTRICT:
        return CITY_CODE
    if level is RegionLevel.TOWNSHIP:
        return code[:6]
    return code[:9]


def path_of(code: str) -> list[str]:
    """Codes from the city down to ``code`` itself."""
    path = [code]
    parent = parent_of(code)
    while parent is not None:
        path.append(parent)
        parent = parent_of(parent)
    return list(reversed(path))


@dataclass(frozen=True, slots=True)
class RegionPlacement:
    """Where a person's household is registered, split into the indexed levels."""

    code: str
    district_code: str
    township_code: str | None
    village_code: str | None

    @classmethod
    def of(cls, code: str) -> RegionPlacement:
        level = level_of(code)
        if level is RegionLevel.CITY:
            raise UnknownRegion(
                "The household registration must name at least a district or county.",
                field="region_code",
            )
        return cls(
            code=code,
            district_code=code[:6],
            township_code=code[:9] if len(code) >= 9 else None,
            village_code=code if len(code) == 12 else None,
        )


def registered_placement(code: str, in_register: Callable[[str], bool]) -> RegionPlacement:
    """A household registration names a district, or a township or village of the region
    register (the one rule for a person registered at the counter and by a register file)."""
    placement = RegionPlacement.of(code)
    if level_of(code) is not RegionLevel.DISTRICT and not in_register(code):
        raise UnknownRegion(
            f"Region {code[:12]} is not in the region register; add the township or village "
            "first or use its district code.",
            field="region_code",
        )
    return placement


def within(code: str, scope: str) -> bool:
    """Whether region ``code`` lies inside the region ``scope`` (inclusive)."""
    return scope == CITY_CODE or code.startswith(scope)
