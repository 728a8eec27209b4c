"""Whether a benefit has entered the certification scope is one rule: the SQL that the export
to the comparison engine filters by admits exactly the benefits the Python rule admits."""

import itertools
from datetime import date, timedelta

import sqlalchemy as sa

from certification.periods import EntitlementFacts, PeriodPolicy, scope_cutoffs
from certification.vocabulary import BenefitKind, EntitlementStatus, RecipientRole
from storage import schema
from storage.rules_sql import in_scope_clause

SCOPE_ON = date(2028, 2, 29)


def test_the_sql_clause_and_the_python_rule_agree_on_every_case():
    engine = sa.create_engine("sqlite://")
    ents = schema.entitlements
    cutoffs = scope_cutoffs(SCOPE_ON, PeriodPolicy())
    near = [timedelta(days=n) for n in (-1, 0, 1)]
    starts = [cutoffs.latest_start + d for d in near]
    births = [cutoffs.latest_dependant_birth + d for d in near]
    cases = list(itertools.product(BenefitKind, RecipientRole, starts, births))
    probe = sa.Table(
        "probe",
        sa.MetaData(),
        sa.Column("n", sa.Integer, primary_key=True),
        sa.Column("kind", ents.c.kind.type),
        sa.Column("role", ents.c.role.type),
        sa.Column("start_date", sa.Date),
        sa.Column("birth_date", sa.Date),
    )
    probe.create(engine)
    with engine.begin() as conn:
        conn.execute(
            probe.insert(),
            [
                {"n": n, "kind": k, "role": r, "start_date": s, "birth_date": b}
                for n, (k, r, s, b) in enumerate(cases)
            ],
        )
        clause = in_scope_clause(probe, probe.c.birth_date, cutoffs)
        in_sql = set(conn.scalars(sa.select(probe.c.n).where(clause)))
    in_python = {
        n
        for n, (k, r, s, b) in enumerate(cases)
        if cutoffs.admits(EntitlementFacts(k, r, s, EntitlementStatus.ACTIVE), b)
    }
    assert in_sql == in_python
    assert in_python  # the grid holds benefits in scope and others
    assert len(in_python) < len(cases)
