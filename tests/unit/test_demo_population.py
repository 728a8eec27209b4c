"""The synthetic population: valid, unique, realistic enough, and streamed."""

import io
import tracemalloc
from collections import Counter
from datetime import date

from certification.calendar import age_on
from certification.citizen_id import CitizenId
from certification.periods import EntitlementFacts, is_exempt_dependant
from certification.regions import level_of
from certification.vocabulary import BenefitKind, EntitlementStatus, RecipientRole
from lifecert.demo import PopulationGenerator, demo_regions, write_csv

TODAY = date(2026, 11, 27)


def test_people_are_valid_unique_and_cover_every_kind():
    people = list(PopulationGenerator(7, TODAY).people(3000))
    ids = [p.citizen_id for p in people]
    assert len(set(ids)) == len(ids)
    for p in people:
        cid = CitizenId.parse(p.citizen_id, today=TODAY)
        assert cid.birth_date == p.birth_date
        level_of(p.region_code)
        for e in p.entitlements:
            assert e.start_date >= p.birth_date and e.start_date <= TODAY
            assert isinstance(e.monthly_amount_fen, int) and e.monthly_amount_fen > 0
    kinds = Counter(e.kind for p in people for e in p.entitlements)
    assert set(kinds) == set(BenefitKind)
    assert kinds[BenefitKind.PENSION] > kinds[BenefitKind.UNEMPLOYMENT]
    young_dependants = [
        p
        for p in people
        for e in p.entitlements
        if e.role is RecipientRole.DEPENDANT and age_on(p.birth_date, TODAY) < 16
    ]
    assert young_dependants, "dependants under 16 are part of the population"
    for p in young_dependants:
        for e in p.entitlements:
            facts = EntitlementFacts(e.kind, e.role, e.start_date, EntitlementStatus.ACTIVE)
            assert is_exempt_dependant(facts)
    start_years = {e.start_date.year for p in people for e in p.entitlements}
    assert min(start_years) < 2000 and max(start_years) == TODAY.year


def test_the_same_seed_gives_the_same_people():
    a = [p.citizen_id for p in PopulationGenerator(3, TODAY).people(50)]
    b = [p.citizen_id for p in PopulationGenerator(3, TODAY).people(50)]
    assert a == b


def test_csv_streams_in_bounded_memory():
    class Sink(io.StringIO):
        def write(self, s):  # discard, count only
            return len(s)

    tracemalloc.start()
    n = write_csv(PopulationGenerator(5, TODAY).people(20_000), Sink())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == 20_000
    assert peak < 5 * 1024 * 1024, f"peak {peak} bytes: the generator must not hold the population"


def test_demo_regions_are_well_formed_and_nested():
    regions = list(demo_regions())
    codes = {r.code for r in regions}
    assert len(codes) == len(regions)
    for r in regions:
        if len(r.code) == 12:
            assert r.code[:9] in codes
