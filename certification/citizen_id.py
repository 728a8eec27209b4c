"""Citizen identity numbers (公民身份号码, GB 11643-1999).

An 18-character number: 6-digit address code (GB/T 2260), 8-digit birth date,
3-digit sequence (odd for men, even for women) and an ISO 7064 MOD 11-2 check
character (0-9 or X).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from datetime import date

from certification.errors import InvalidCitizenId

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# First two digits of GB/T 2260: provinces, plus 81/82/83 used by residence
# permits for Hong Kong, Macao and Taiwan residents.
PROVINCE_PREFIXES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35",
        "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65", "71", "81", "82", "83",
    }
)  # fmt: skip
_SHAPE = re.compile(r"^\d{17}[\dX]$")
EARLIEST_BIRTH = date(1900, 1, 1)


def check_character(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    if len(first17) != len(WEIGHTS):
        raise ValueError("17 digits expected")
    total = sum(map(operator.mul, map(int, first17), WEIGHTS))
    return CHECK_CHARS[total % 11]


@dataclass(frozen=True, slots=True)
class CitizenId:
    value: str

    @property
    def address_code(self) -> str:
        return self.value[:6]

    @property
    def birth_date(self) -> date:
        v = self.value
        return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))

    @property
    def sex(self) -> str:
        """'male' or 'female', from the parity of the 17th digit."""
        return "male" if int(self.value[16]) % 2 == 1 else "female"

    def masked(self) -> str:
        """For views that need to show which number without exposing it whole."""
        return f"{self.value[:6]}********{self.value[14:]}"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, raw: str, *, today: date | None = None) -> CitizenId:
        """Validate and normalise (strip spaces, upper-case x).

        Raises InvalidCitizenId with a message a clerk or a pensioner can act on.
        """
        if not isinstance(raw, str):
            raise InvalidCitizenId("The citizen ID number must be text.")
        value = raw.strip().replace(" ", "").upper()
        if len(value) != 18:
            raise InvalidCitizenId(
                f"A citizen ID number has 18 characters; this one has {len(value)}."
            )
        if not _SHAPE.match(value):
            raise InvalidCitizenId(
                "The first 17 characters of a citizen ID number are digits and the last "
                "is a digit or X."
            )
        if value[:2] not in PROVINCE_PREFIXES:
            raise InvalidCitizenId(
                f"The number starts with {value[:2]}, which is not a province code."
            )
        try:
            born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
        except ValueError:
            raise InvalidCitizenId(
                f"The birth date in the number ({value[6:14]}) is not a real date."
            ) from None
        if born < EARLIEST_BIRTH or (today is not None and born > today):
            raise InvalidCitizenId(
                f"The birth date in the number ({born.isoformat()}) is not plausible."
            )
        expected = check_character(value[:17])
        if value[17] != expected:
            raise InvalidCitizenId(
                "The last character (check digit) does not match the rest of the number; "
                "please check every digit again."
            )
        return cls(value)


def make_citizen_id(address_code: str, birth: date, sequence: int) -> CitizenId:
    """Build a valid number (for demo data and tests). sequence is 0-999; odd = male."""
    if not (len(address_code) == 6 and address_code.isdigit()):
        raise ValueError("address_code must be 6 digits")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be 0-999")
    first17 = f"{address_code}{birth:%Y%m%d}{sequence:03d}"
    return CitizenId(first17 + check_character(first17))
