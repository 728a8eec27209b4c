"""What each level of staff sees in every listing, pinned in one table.

The city, a district (渝中区 500103) and a township in it (500103001) list the same data; for
each listing the test computes, from the records' own regions, what each scope should see
and compares it with what the API answers. A listing of records about people that is not in
the table fails the test: a new listing cannot bypass the scope unnoticed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from certification.access import Actor
from certification.appeals import Appeal, AppealSubject
from certification.model import Account, Certification, FamilyBinding, ReviewCase, Suspension
from certification.regions import within
from certification.services.proposing import open_proposal
from certification.verification import HomeVisitReason, ProposalKind
from certification.vocabulary import AccountKind, CertificationChannel, SuspensionReason
from lifecert.demo import PopulationGenerator
from lifecert.demo_feeds import run_demo_comparison
from lifecert.demo_load import load_population
from storage import schema

pytestmark = pytest.mark.postgres

CITY, DISTRICT, TOWNSHIP = "500000", "500103", "500103001"
ROLES = ("clerk", "reviewer", "auditor")

# listing -> (path, how an item's region is read: "own" columns or the "person"'s)
PEOPLE_LISTINGS: dict[str, tuple[str, str]] = {
    "persons": ("/api/persons", "own"),
    "periods due": ("/api/periods/due?days=366", "own"),
    "periods overdue": ("/api/periods/overdue", "own"),
    "suspensions": ("/api/suspensions", "person"),
    "review cases": ("/api/review/cases", "person"),
    "family binding requests": ("/api/staff/family-bindings", "person"),
    "suspicious claims": ("/api/staff/claims", "person"),
    "verification tasks": ("/api/verification/tasks", "own"),
    "home visits": ("/api/home-visits", "own"),
    "proposals": ("/api/proposals", "person"),
    "appeals": ("/api/appeals", "own"),
    "counter certifications to review": ("/api/certifications/to-review", "person"),
    "comparison entries": ("/api/comparison/runs/{run}/entries", "own"),
}
# GET operations about people that are not lists of records, or not region-scoped lists,
# and why (a new listing must join the table above or be explained here)
NOT_SCOPED_LISTS = {
    "/api/regions": "the region tree, no personal data",
    "/api/accounts": "operators only",
    "/api/audit": "operators and municipal auditors only",
    "/api/feeds": "operators: department files, no per-region rows",
    "/api/feeds/{import_id}/problems": "operators: a file's refused rows",
    "/api/comparison/runs": "the runs themselves, city-wide jobs",
    "/api/family/bindings": "the caller's own bindings",
    "/api/persons/{person_id}/entitlements": "one person, checked by sees_region",
    "/api/persons/{person_id}/certifications": "one person, checked by sees_region",
    "/api/persons/{person_id}/contact-attempts": "one person, checked by sees_region",
    "/api/verification/overdue": "counts per district (pinned below)",
    "/api/comparison/runs/{run_id}/changes": "entries' changes, the entries' rule",
    "/api/me/notices": "the caller's own notices",
    "/api/me/appeals": "the caller's own appeals, or those of a person bound to them",
    "/api/notices/deliveries": "operators only: statuses and errors, no message or address",
    "/api/notices/letters": "counts per township batch (staff scope); the PDF is region-checked",
}


def _all_items(caller: Any, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    url = path
    while True:
        resp = caller.get(url)
        assert resp.status_code == 200, (url, resp.get_json())
        body = resp.get_json()
        items.extend(body["items"])
        if not body.get("next_cursor"):
            return items
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}cursor={body['next_cursor']}"


@pytest.fixture
def city_data(runtime: Any, make_region: Callable[..., None]) -> dict[str, Any]:
    """A demo population and its first comparison, with a record of every other kind for
    people in the township, elsewhere in the district and in another district."""
    today = runtime.clock.today()
    load_population(runtime, PopulationGenerator(20261201, today).people(1500))
    run = run_demo_comparison(runtime)
    with runtime.database.connect() as conn:
        p = schema.persons
        picks = {}
        for label, cond in (
            ("township", p.c.township_code == TOWNSHIP),
            ("district", sa.and_(p.c.district_code == DISTRICT, p.c.township_code != TOWNSHIP)),
            ("elsewhere", p.c.district_code != DISTRICT),
        ):
            rows = conn.execute(
                sa.select(p.c.id)
                .join(schema.entitlements, schema.entitlements.c.person_id == p.c.id)
                .where(cond)
                .limit(1)
            ).all()
            assert rows, f"the demo population has nobody {label}"
            picks[label] = rows[0][0]
    system = Actor.system("scope-table")
    with runtime.use_case() as ctx:
        helper = Account(kind=AccountKind.FAMILY, display_name="帮手", identity_verified=True)
        ctx.uow.accounts.add(helper)
        ctx.uow.flush()
        for person_id in picks.values():
            ctx.uow.certifications.add(
                Certification(
                    person_id=person_id,
                    certified_at=runtime.clock.now(),
                    certified_on=today,
                    channel=CertificationChannel.COUNTER,
                    recorded_by=None,
                    review_flag="outside_clerk_district",
                )
            )
            case = ReviewCase(person_id=person_id, reason="failed")
            ctx.uow.review_cases.add(case)
            person = ctx.uow.persons.get(person_id)
            ctx.uow.appeals.add(
                Appeal(
                    person_id=person_id,
                    district_code=person.district_code,
                    township_code=person.township_code,
                    subject=AppealSubject.REJECTED_REVIEW,
                    subject_id=case.id,
                    statement="scope table",
                    filed_via="app",
                    due_on=today,
                )
            )
            ctx.uow.bindings.add(
                FamilyBinding(
                    family_account_id=helper.id, person_id=person_id, relationship="child"
                )
            )
            entitlement = ctx.uow.persons.get(person_id).entitlements[0]
            entitlement_id = entitlement.id
            # a proposal for each (the run's lost list is a few people, by chance anywhere)
            open_proposal(
                ctx,
                system,
                person,
                entitlement,
                ProposalKind.SUSPEND,
                source="scope-table",
                source_id=None,
                reason="scope table",
                evidence={},
            )
            ctx.uow.suspensions.add(
                Suspension(
                    person_id=person_id,
                    entitlement_id=entitlement_id,
                    reason=SuspensionReason.OTHER,
                    suspended_on=today,
                    explanation="scope table",
                    decided_by=None,
                )
            )
        ctx.uow.commit()
    from certification.services import home_visits

    for person_id in picks.values():
        with runtime.use_case() as ctx:
            home_visits.request_home_visit(
                ctx,
                system,
                person_id,
                reason=HomeVisitReason.ELDERLY,
                contact_phone=None,
                address_note=None,
                preferred_on=None,
            )
    from tests.integration.conftest import app_sign_up

    return {"run": run.id, "picks": picks, "sign_up": app_sign_up}


def test_every_listing_shows_each_scope_exactly_the_records_of_its_region(
    city_data: dict[str, Any], login: Callable[..., Any], client: Any, runtime: Any
) -> None:
    # claims on the picked people (two on one number makes them suspicious)
    with runtime.database.connect() as conn:
        cids = dict(
            conn.execute(
                sa.select(schema.persons.c.id, schema.persons.c.citizen_id).where(
                    schema.persons.c.id.in_(list(city_data["picks"].values()))
                )
            ).all()
        )
        names = dict(
            conn.execute(
                sa.select(schema.persons.c.id, schema.persons.c.name).where(
                    schema.persons.c.id.in_(list(city_data["picks"].values()))
                )
            ).all()
        )
    n = 0
    for person_id in city_data["picks"].values():
        for _ in range(2):
            n += 1
            city_data["sign_up"](
                client,
                runtime,
                f"1370000{n:04d}",
                cids[person_id],
                names[person_id],
                where={"REMOTE_ADDR": f"10.7.0.{n}"},
            )
    callers = {
        CITY: login("scope.city", CITY, ROLES),
        DISTRICT: login("scope.district", DISTRICT, ROLES),
        TOWNSHIP: login("scope.township", TOWNSHIP, ROLES),
    }
    with runtime.database.connect() as conn:
        p = schema.persons
        region_of_person = {
            row.id: (row.district_code, row.township_code)
            for row in conn.execute(sa.select(p.c.id, p.c.district_code, p.c.township_code))
        }

    def region(item: dict[str, Any], how: str) -> tuple[str, str | None]:
        if how == "own":
            return item["district_code"], item.get("township_code")
        return region_of_person[UUID(item["person_id"])]

    def inside(reg: tuple[str, str | None], scope: str) -> bool:
        district, township = reg
        code = township or district
        return within(code, scope) if len(scope) > 6 else within(district, scope)

    seen: dict[str, dict[str, int]] = {}
    for listing, (path, how) in PEOPLE_LISTINGS.items():
        path = path.format(run=city_data["run"])
        everything = _all_items(callers[CITY], path)
        assert everything, f"{listing}: the city sees nothing to compare"
        for scope in (DISTRICT, TOWNSHIP):
            expected = sorted(
                str(i.get("id") or i.get("entitlement_id") or i.get("person_id"))
                for i in everything
                if inside(region(i, how), scope)
            )
            got = _all_items(callers[scope], path)
            actual = sorted(
                str(i.get("id") or i.get("entitlement_id") or i.get("person_id")) for i in got
            )
            assert actual == expected, f"{listing} as {scope}"
            seen.setdefault(listing, {})[scope] = len(actual)
        seen[listing][CITY] = len(everything)
    seeded = {
        "persons",
        "suspensions",
        "review cases",
        "family binding requests",
        "suspicious claims",
        "home visits",
    }
    for listing, counts in seen.items():  # the comparison reaches past each level
        assert counts[CITY] > counts[DISTRICT] >= counts[TOWNSHIP], (listing, counts)
        assert counts[TOWNSHIP] >= 1 or listing not in seeded, (listing, counts)

    overdue = {
        scope: {
            r["district_code"] for r in callers[scope].get("/api/verification/overdue").get_json()
        }
        for scope in (CITY, DISTRICT, TOWNSHIP)
    }
    assert overdue[DISTRICT] <= {DISTRICT} and overdue[TOWNSHIP] <= {DISTRICT}


def test_no_listing_of_peoples_records_is_left_out_of_the_table(client: Any) -> None:
    spec = client.get("/api/openapi.json").get_json()
    listings = set()
    for path, methods in spec["paths"].items():
        get = methods.get("get")
        if not get:
            continue
        schema_ = (
            get["responses"].get("200", {}).get("content", {}).get("application/json", {})
        ).get("schema", {})
        ref = schema_.get("$ref", "") or schema_.get("items", {}).get("$ref", "")
        if ref.endswith("Page") or schema_.get("type") == "array":
            listings.add(path)
    tabled = {p.split("?")[0].replace("{run}", "{run_id}") for p, _ in PEOPLE_LISTINGS.values()}
    missing = listings - tabled - set(NOT_SCOPED_LISTS)
    assert not missing, f"listings with no scope rule in the table: {sorted(missing)}"
