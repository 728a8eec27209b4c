"""A department feed for the people already in the database (the demo's comparison run).

About 70 % get signs of life this year, 2 % a death record, 1 % both (a conflict to
verify), 1 % of unemployed people a pension start, and a few rows are broken on purpose
so the import report has something to show.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from certification.citizen_id import make_citizen_id
from certification.comparison import ALIVE_CHANNEL, DEATH_OR_MISSING, EventKind
from certification.feeds import COLUMNS
from storage import schema

if TYPE_CHECKING:
    from certification.verification import ComparisonRun
    from infra.runtime import Runtime

SOURCES = {
    EventKind.RAIL_TRAVEL: "transport",
    EventKind.AIR_TRAVEL: "transport",
    EventKind.HOSPITAL_STAY: "health",
    EventKind.BANK_IN_PERSON: "bank",
    EventKind.PARTNER_BANK_CONFIRMED: "bank",
    EventKind.FAMILY_DOCTOR_CONTRACT: "health",
    EventKind.BUS_CARD_REVIEW: "transport",
    EventKind.BORDER_CROSSING: "public_security",
}


def write_sample_feed(engine: sa.Engine, out: Path, today: date, seed: int = 7) -> int:
    rnd = random.Random(seed)  # noqa: S311 - synthetic data
    alive_kinds = sorted(ALIVE_CHANNEL)
    deaths = sorted(DEATH_OR_MISSING)
    p, e = schema.persons, schema.entitlements
    year_start = date(today.year, 1, 1)
    span = max(1, (today - year_start).days)
    rows = 0
    with engine.connect() as conn, out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        stmt = (
            sa.select(p.c.citizen_id, sa.func.min(e.c.kind))
            .join(e, e.c.person_id == p.c.id)
            .group_by(p.c.id, p.c.citizen_id)
            .order_by(p.c.id)
        )
        for n, (citizen_id, kind) in enumerate(conn.execute(stmt)):
            roll = rnd.random()
            when = year_start + timedelta(days=rnd.randrange(span))
            if roll < 0.70:
                event = rnd.choice(alive_kinds)
                writer.writerow(
                    [citizen_id, event.value, when, SOURCES.get(event, "other"), f"L{n}", ""]
                )
                rows += 1
            elif roll < 0.72:
                event = rnd.choice(deaths)
                writer.writerow([citizen_id, event.value, when, "civil_affairs", f"D{n}", ""])
                rows += 1
            elif roll < 0.73:
                writer.writerow([citizen_id, "cremation", when, "civil_affairs", f"D{n}", ""])
                writer.writerow([citizen_id, "rail_travel", when, "transport", f"L{n}", ""])
                rows += 2
            elif roll < 0.74 and str(kind).endswith("unemployment"):
                writer.writerow([citizen_id, "pension_started", when, "hrss", f"P{n}", ""])
                rows += 1
        valid = make_citizen_id("500103", date(1950, 3, 1), 111).value
        wrong_check = valid[:-1] + ("0" if valid[-1] != "0" else "1")
        writer.writerow([wrong_check, "rail_travel", today, "transport", "BAD-1", ""])
        writer.writerow([valid, "time_travel", today, "transport", "BAD-2", ""])
        rows += 2
    return rows


def run_demo_comparison(runtime: Runtime) -> ComparisonRun:
    """The demo's first comparison: a sample feed imported and a run applied, so the lists,
    proposals and verification tasks have something in them."""
    from certification.access import Actor
    from certification.services.feeds import import_feed
    from certification.services.runs import start_run
    from storage.feed_files import open_feed

    actor = Actor.system("demo")
    folder = runtime.settings.data_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo-feed.csv"
    write_sample_feed(runtime.database, path, runtime.clock.today())
    with path.open("rb") as fh, runtime.use_case() as ctx:
        import_feed(ctx, actor, open_feed(path, fh))
    with runtime.use_case() as ctx:
        run = start_run(ctx, actor)
    return runtime.execute_comparison(run.id)
