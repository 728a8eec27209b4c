from datetime import date

import pytest

from certification.citizen_id import CitizenId, check_character, make_citizen_id
from certification.errors import InvalidCitizenId

# A real-format number (GB 11643 worked example): 11010519491231002X
KNOWN_VALID = "11010519491231002X"


def test_known_valid_number_parses_with_birth_and_sex():
    cid = CitizenId.parse(KNOWN_VALID)
    assert cid.birth_date == date(1949, 12, 31)
    assert cid.sex == "female"  # 17th digit 2 is even
    assert cid.address_code == "110105"


def test_lower_case_x_and_spaces_are_normalised():
    assert CitizenId.parse(" 11010519491231002x ").value == KNOWN_VALID


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("1101051949123100", "18 characters"),
        ("11010519491231002XX", "18 characters"),
        ("11010519491231A02X", "digits"),
        ("110105194912310021", "check digit"),
        ("99010519491231002X", "province"),
        ("110105194902300027", "not a real date"),
        ("110105189912310021", "not plausible"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(raw, fragment):
    with pytest.raises(InvalidCitizenId) as err:
        CitizenId.parse(raw, today=date(2026, 11, 27))
    assert fragment in err.value.message
    assert err.value.field == "citizen_id"


def test_future_birth_date_is_refused():
    future = make_citizen_id("500103", date(2030, 1, 1), 11).value
    with pytest.raises(InvalidCitizenId):
        CitizenId.parse(future, today=date(2026, 11, 27))


@pytest.mark.parametrize("seq,sex", [(1, "male"), (2, "female"), (999, "male"), (0, "female")])
def test_made_numbers_validate_and_carry_sex(seq, sex):
    cid = make_citizen_id("500103", date(1956, 2, 29), seq)
    parsed = CitizenId.parse(cid.value)
    assert parsed.birth_date == date(1956, 2, 29)
    assert parsed.sex == sex


def test_every_check_character_is_reachable():
    seen = {check_character(f"50010319500101{n:03d}") for n in range(1000)}
    assert seen == set("0123456789X")


def test_masked_keeps_region_and_tail_only():
    assert CitizenId.parse(KNOWN_VALID).masked() == "110105********002X"
