"""A console list page costs the same number of queries whatever the number of people on it
(one query for the page's people, not one per row)."""

from __future__ import annotations

import re
from datetime import date
from uuid import UUID

import pytest
import sqlalchemy as sa

from certification.citizen_id import make_citizen_id
from certification.model import ReviewCase
from tests.integration.conftest import PASSWORD, grant, new_person

pytestmark = pytest.mark.postgres
HTTPS = "https://localhost"


def signed_in(app, login):
    login("lists.reviewer", "500103", ("reviewer",))
    client = app.test_client()
    page = client.get("/console/login", base_url=HTTPS).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(
        "/console/login",
        data={"csrf_token": token, "username": "lists.reviewer", "password": PASSWORD},
        base_url=HTTPS,
    )
    assert done.status_code == 303
    return client


def queries_for(runtime, fetch):
    seen: list[str] = []

    def count(conn, cursor, statement, *_):
        seen.append(statement)

    sa.event.listen(runtime.database, "before_cursor_execute", count)
    try:
        answer = fetch()
    finally:
        sa.event.remove(runtime.database, "before_cursor_execute", count)
    assert answer.status_code == 200
    return len(seen)


def open_cases(runtime, clerk, how_many, start):
    for i in range(how_many):
        cid = make_citizen_id("500103", date(1950, 1, 1), start + i).value
        person = new_person(clerk, cid, name=f"列表{start + i}")
        grant(clerk, person["id"])
        with runtime.use_case() as ctx:
            ctx.uow.review_cases.add(ReviewCase(person_id=UUID(person["id"]), reason="failed"))
            ctx.uow.commit()


def test_the_review_list_loads_its_people_in_one_query(app, runtime, login, clerk):
    client = signed_in(app, login)
    open_cases(runtime, clerk, 3, 100)
    few = queries_for(runtime, lambda: client.get("/console/review", base_url=HTTPS))
    open_cases(runtime, clerk, 12, 200)
    page = client.get("/console/review", base_url=HTTPS).get_data(as_text=True)
    assert page.count("列表") >= 15
    many = queries_for(runtime, lambda: client.get("/console/review", base_url=HTTPS))
    assert many == few, f"{few} queries for 3 cases, {many} for 15"
