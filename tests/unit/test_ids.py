"""Record ids are UUID version 7: ordered by the millisecond they were made, random after."""

import time
from uuid import UUID

from certification.ids import new_id
from certification.model import Certification


def test_ids_are_version_7_and_carry_the_millisecond_they_were_made():
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    assert made.version == 7 and made.variant == "specified in RFC 4122"
    assert before <= made.int >> 80 <= after
    assert UUID(str(made)) == made


def test_ids_made_later_sort_later_and_never_repeat():
    first = [new_id() for _ in range(2000)]
    time.sleep(0.002)
    later = [new_id() for _ in range(2000)]
    assert max(first) < min(later)
    assert len(set(first + later)) == 4000
    # within one millisecond the 74 random bits differ: no neighbour can be guessed
    same_ms = [i for i in first if i.int >> 80 == first[0].int >> 80]
    assert len({i.int & ((1 << 74) - 1) for i in same_ms}) == len(same_ms)


def test_records_get_time_ordered_ids():
    assert Certification.__dataclass_fields__["id"].default_factory is new_id  # type: ignore[misc]


def test_ids_made_in_a_block_are_version_7_distinct_and_random_after_the_millisecond():
    from certification.ids import new_ids

    before = time.time_ns() // 1_000_000
    block = new_ids(5000)
    after = time.time_ns() // 1_000_000
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in block)
    assert all(before <= i.int >> 80 <= after for i in block)
    randoms = {((i.int >> 64) & 0xFFF, i.int & ((1 << 62) - 1)) for i in block}
    assert len(randoms) == 5000
    # every one of the 74 random bits varies across the block
    varying = 0
    for i in block:
        varying |= i.int ^ block[0].int
    assert varying & ((0xFFF << 64) | ((1 << 62) - 1)) == (0xFFF << 64) | ((1 << 62) - 1)
    assert new_ids(0) == []
