"""The dashboards of the city and of a district read the summary tables (certifications,
overdue people, open tasks, self-service decisions) once they have been computed, with the
same figures as counted live and the time they were computed; a township's stay live."""

from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from certification.access import Actor
from certification.services.dashboard import dashboard, refresh_summaries
from lifecert.cli import main
from lifecert.demo import PopulationGenerator
from lifecert.demo_feeds import run_demo_comparison
from lifecert.demo_load import load_population
from tests.fakes import staff


def figures(runtime: Any, actor: Actor) -> Any:
    with runtime.use_case() as ctx:
        return dashboard(ctx, actor)


def test_summaries_give_the_live_figures_with_their_age(
    runtime: Any, settings: Any, monkeypatch
) -> None:
    load_population(runtime, PopulationGenerator(3, date(2026, 11, 27)).people(600))
    run_demo_comparison(runtime)
    city = Actor.system("test")
    with runtime.database.connect() as conn:
        district = conn.scalar(
            sa.text(
                "SELECT district_code FROM persons WHERE due_on < :today "
                "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
            ),
            {"today": runtime.clock.today()},
        )
    clerk = staff("clerk", scope=district)
    live_city, live_district = figures(runtime, city), figures(runtime, clerk)
    assert live_city.as_of is None and sum(live_city.by_channel.values()) > 300
    assert live_city.overdue_people and live_district.overdue_people
    assert sum(live_city.tasks_by_deadline.values()) > 0

    monkeypatch.setattr("lifecert.cli._settings", lambda: settings)
    result = CliRunner().invoke(main, ["reports", "refresh"])
    assert result.exit_code == 0 and "dashboard summaries recomputed" in result.output
    city_now, district_now = figures(runtime, city), figures(runtime, clerk)
    assert city_now.as_of is not None and district_now.as_of == city_now.as_of
    assert replace(city_now, as_of=None) == live_city
    assert replace(district_now, as_of=None) == live_district

    # the summaries are a snapshot: new certifications show after the next refresh
    with runtime.database.begin() as conn:
        conn.execute(sa.text("UPDATE certifications SET annulled_at = now()"))
        conn.execute(sa.text("UPDATE verification_tasks SET status = 'done'"))
    stale = figures(runtime, city)
    assert stale.by_channel == city_now.by_channel
    assert stale.tasks_by_deadline == city_now.tasks_by_deadline
    with runtime.use_case() as ctx:
        refresh_summaries(ctx)
    fresh = figures(runtime, city)
    assert fresh.by_channel == {} and fresh.tasks_by_deadline == {}
