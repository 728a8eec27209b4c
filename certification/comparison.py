"""Information comparison (信息比对, Art. 11-14): department events and the three lists.

Departments send events about people keyed by citizen ID. Every event kind
is either a sign of life (Art. 12: the person is *qualified*) or a sign that
the qualification is lost (Art. 13), and the Art. 13 signs depend on the
benefit kind and, for work-injury dependants, on the relationship to the
deceased worker:

- pension: death or missing status from any listed source, and imprisonment;
- unemployment: death or missing status (not imprisonment: the article cites
  only the death and missing channels of item 1), re-employment, enlistment,
  emigration, a basic pension started, a refused job or training offer;
- work-injury long-term: death or missing status; for dependants, a child,
  grandchild or sibling adopted, employed or enlisted, a spouse remarried.

Each entitlement lands in exactly one list per run (Art. 14): *qualified* if
only signs of life (or a certification in the window), *lost* if only
applicable signs of loss, *to be verified* if neither or both.

This module is the single statement of those rules. The bulk engine
(``storage.comparison_engine``) loads :func:`loss_rule_rows` into its query,
and the tests check it against :func:`classify` on generated data.

Readings (configurable through :class:`ComparisonWindow`, decision 0015):
- signs of life count when dated inside the run's window (default: the twelve
  months up to the run date, Art. 12 "本年度" read as "within the last year", so a
  December certification still counts in January; the calendar-year reading is
  the setting ``LIFECERT_COMPARISON_WINDOW=calendar_year``);
- the free-bus-card annual review is a sign of life only for people aged 65 or
  more on the day of the review (Art. 12: "65岁以上老年人免费乘车卡年审");
- signs of loss count when dated on or after the benefit started and not
  after the run date: a death five years ago is exactly what must be found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from certification.calendar import add_months, age_on
from certification.citizen_id import CitizenId
from certification.vocabulary import (
    BenefitKind,
    CertificationChannel,
    DependantRelationship,
    RecipientRole,
)


class Polarity(StrEnum):
    ALIVE = "alive"  # Art. 12
    LOST = "lost"  # Art. 13
    ENDING = "ending"  # ends an earlier sign of loss (released, found, household restored)


class ComparisonList(StrEnum):
    QUALIFIED = "qualified"  # 具备领取待遇资格人员名单
    LOST = "lost"  # 丧失领取待遇资格人员名单
    TO_VERIFY = "to_verify"  # 待核实人员名单


class EventKind(StrEnum):
    """Every event a department feed may carry (the feed format's ``event_kind``)."""

    # Art. 12: signs of life
    COUNTER_CERTIFICATION = "counter_certification"  # 社保经办窗口认证
    SELF_SERVICE_FACE = "self_service_face"  # 互联网、手机APP人脸识别
    PARTNER_BANK_CONFIRMED = "partner_bank_confirmed"  # 社保卡合作银行确认
    EMPLOYER_CONFIRMED = "employer_confirmed"  # 所在单位确认
    LONG_TERM_CARE = "long_term_care"  # 长期护理险信息
    FAMILY_DOCTOR_CONTRACT = "family_doctor_contract"  # 家庭医生签约
    HOSPITAL_STAY = "hospital_stay"  # 非危重疾病住院
    AIR_TRAVEL = "air_travel"  # 乘坐飞机
    RAIL_TRAVEL = "rail_travel"  # 乘坐火车
    BANK_IN_PERSON = "bank_in_person"  # 须本人办理银行业务
    BORDER_CROSSING = "border_crossing"  # 出入境记录
    BIG_DATA_MODEL = "big_data_model"  # 大数据认证模型确认
    BUS_CARD_REVIEW = "bus_card_review"  # 65岁以上免费公交卡年审
    OTHER_ALIVE = "other_alive"  # 其他途径确认具备资格

    # Art. 13 (1): death, missing or imprisonment, by source
    DEATH_FAMILY_REPORT = "death_family_report"  # 家属主动申报死亡
    DEATH_HRSS_FLAG = "death_hrss_flag"  # 人社信息库标识死亡
    MISSING_HRSS_FLAG = "missing_hrss_flag"  # 人社信息库标识失踪
    IMPRISONED_HRSS_FLAG = "imprisoned_hrss_flag"  # 人社信息库标识服刑
    DEATH_NATIONAL_POPULATION = "death_national_population"  # 国家人口库标识死亡
    DEATH_HOUSEHOLD_CANCELLED = "death_household_cancelled"  # 户籍因死亡注销
    DEATH_DECLARED_BY_COURT = "death_declared_by_court"  # 法院判决宣告死亡
    CREMATION = "cremation"  # 民政殡葬火化信息
    DEATH_MEDICAL_CERTIFICATE = "death_medical_certificate"  # 医疗机构死亡证明
    DEATH_HEALTH_COMMISSION = "death_health_commission"  # 卫生健康部门死亡登记
    IMPRISONED = "imprisoned"  # 公安、司法、法院掌握的服刑人员
    OTHER_LOST_PENSION = "other_lost_pension"  # 其他途径: 丧失养老待遇资格

    # Art. 13 (2): unemployment
    REEMPLOYED = "reemployed"  # 重新就业
    ENLISTED = "enlisted"  # 应征服兵役
    EMIGRATED = "emigrated"  # 移居境外
    PENSION_STARTED = "pension_started"  # 享受基本养老保险待遇
    REFUSED_JOB_OR_TRAINING = "refused_job_or_training"  # 无正当理由拒不接受介绍的工作或培训
    OTHER_LOST_UNEMPLOYMENT = "other_lost_unemployment"

    # Art. 13 (3): work-injury long-term, dependants
    ADOPTED = "adopted"  # 子女、孙子女、外孙子女、兄弟姐妹被收养
    SPOUSE_REMARRIED = "spouse_remarried"  # 工亡职工配偶再婚
    DEPENDANT_EMPLOYED = "dependant_employed"  # 供养亲属就业
    DEPENDANT_ENLISTED = "dependant_enlisted"  # 供养亲属参军
    OTHER_LOST_WORK_INJURY = "other_lost_work_injury"

    # the end of a sign of loss: it no longer counts from this date on
    RELEASED_FROM_PRISON = "released_from_prison"  # 刑满释放、假释
    MISSING_FOUND = "missing_found"  # 失踪人员重新出现、撤销失踪或死亡宣告
    HOUSEHOLD_RESTORED = "household_restored"  # 恢复户籍（错误注销）


ALIVE_CHANNEL: Mapping[EventKind, CertificationChannel] = {
    EventKind.COUNTER_CERTIFICATION: CertificationChannel.COUNTER,
    EventKind.SELF_SERVICE_FACE: CertificationChannel.SELF_SERVICE_FACE,
    EventKind.PARTNER_BANK_CONFIRMED: CertificationChannel.PARTNER_BANK,
    EventKind.EMPLOYER_CONFIRMED: CertificationChannel.EMPLOYER,
    EventKind.LONG_TERM_CARE: CertificationChannel.CARE_OR_FAMILY_DOCTOR,
    EventKind.FAMILY_DOCTOR_CONTRACT: CertificationChannel.CARE_OR_FAMILY_DOCTOR,
    EventKind.HOSPITAL_STAY: CertificationChannel.HOSPITAL_STAY,
    EventKind.AIR_TRAVEL: CertificationChannel.AIR_RAIL_TRAVEL,
    EventKind.RAIL_TRAVEL: CertificationChannel.AIR_RAIL_TRAVEL,
    EventKind.BANK_IN_PERSON: CertificationChannel.BANK_IN_PERSON,
    EventKind.BORDER_CROSSING: CertificationChannel.BORDER_CROSSING,
    EventKind.BIG_DATA_MODEL: CertificationChannel.BIG_DATA_MODEL,
    EventKind.BUS_CARD_REVIEW: CertificationChannel.BUS_CARD_REVIEW,
    EventKind.OTHER_ALIVE: CertificationChannel.OTHER_CONFIRMED,
}

DEATH_OR_MISSING = frozenset(
    {
        EventKind.DEATH_FAMILY_REPORT,
        EventKind.DEATH_HRSS_FLAG,
        EventKind.MISSING_HRSS_FLAG,
        EventKind.DEATH_NATIONAL_POPULATION,
        EventKind.DEATH_HOUSEHOLD_CANCELLED,
        EventKind.DEATH_DECLARED_BY_COURT,
        EventKind.CREMATION,
        EventKind.DEATH_MEDICAL_CERTIFICATE,
        EventKind.DEATH_HEALTH_COMMISSION,
    }
)
IMPRISONMENT = frozenset({EventKind.IMPRISONED_HRSS_FLAG, EventKind.IMPRISONED})

_CHILD_LIKE = frozenset(
    {
        DependantRelationship.CHILD,
        DependantRelationship.GRANDCHILD,
        DependantRelationship.SIBLING,
    }
)
ANY = None  # wildcard in a rule: any role / any relationship


@dataclass(frozen=True, slots=True)
class LossRule:
    """An Art. 13 sign applies to a benefit kind, optionally only to a role and relationships."""

    event: EventKind
    kind: BenefitKind
    role: RecipientRole | None = ANY
    relationships: frozenset[DependantRelationship] | None = ANY

    def applies(
        self,
        kind: BenefitKind,
        role: RecipientRole,
        relationship: DependantRelationship | None,
    ) -> bool:
        if kind is not self.kind:
            return False
        if self.role is not None and role is not self.role:
            return False
        return self.relationships is None or relationship in self.relationships


def _rules() -> tuple[LossRule, ...]:
    rules: list[LossRule] = []
    for kind in BenefitKind:
        rules += [LossRule(e, kind) for e in sorted(DEATH_OR_MISSING)]
    pension = BenefitKind.PENSION
    rules += [LossRule(e, pension) for e in sorted(IMPRISONMENT)]
    rules.append(LossRule(EventKind.OTHER_LOST_PENSION, pension))
    unemployment = BenefitKind.UNEMPLOYMENT
    rules += [
        LossRule(e, unemployment)
        for e in (
            EventKind.REEMPLOYED,
            EventKind.ENLISTED,
            EventKind.EMIGRATED,
            EventKind.PENSION_STARTED,
            EventKind.REFUSED_JOB_OR_TRAINING,
            EventKind.OTHER_LOST_UNEMPLOYMENT,
        )
    ]
    injury = BenefitKind.WORK_INJURY_LONG_TERM
    dependant = RecipientRole.DEPENDANT
    rules += [
        LossRule(EventKind.ADOPTED, injury, dependant, _CHILD_LIKE),
        LossRule(
            EventKind.SPOUSE_REMARRIED, injury, dependant, frozenset({DependantRelationship.SPOUSE})
        ),
        LossRule(EventKind.DEPENDANT_EMPLOYED, injury, dependant, _CHILD_LIKE),
        LossRule(EventKind.DEPENDANT_ENLISTED, injury, dependant, _CHILD_LIKE),
        LossRule(EventKind.OTHER_LOST_WORK_INJURY, injury),
    ]
    return tuple(rules)


LOSS_RULES: tuple[LossRule, ...] = _rules()
LOSS_KINDS = frozenset(r.event for r in LOSS_RULES)


# Which signs of loss each ending event answers: a release ends an imprisonment, a missing
# person found ends the missing flag and a court's declaration of death, a restored
# household registration ends its cancellation. A sign of loss dated on or before its
# ending no longer counts; a later sign of loss counts again.
ENDS: Mapping[EventKind, frozenset[EventKind]] = {
    EventKind.RELEASED_FROM_PRISON: IMPRISONMENT,
    EventKind.MISSING_FOUND: frozenset(
        {EventKind.MISSING_HRSS_FLAG, EventKind.DEATH_DECLARED_BY_COURT}
    ),
    EventKind.HOUSEHOLD_RESTORED: frozenset({EventKind.DEATH_HOUSEHOLD_CANCELLED}),
}


def polarity(kind: EventKind) -> Polarity:
    if kind in ALIVE_CHANNEL:
        return Polarity.ALIVE
    return Polarity.ENDING if kind in ENDS else Polarity.LOST


def ended(loss: DepartmentEvent, events: Iterable[DepartmentEvent]) -> bool:
    """Whether an ending event dated on or after this sign of loss answers it."""
    return any(
        loss.kind in ENDS.get(e.kind, ()) and e.event_date >= loss.event_date for e in events
    )


def ending_rows() -> list[tuple[str, str]]:
    """The endings as rows ``(ending_kind, loss_kind)`` for the bulk engine."""
    return sorted((end.value, loss.value) for end, losses in ENDS.items() for loss in losses)


def loss_applies(
    event: EventKind,
    kind: BenefitKind,
    role: RecipientRole,
    relationship: DependantRelationship | None,
) -> bool:
    return any(r.event is event and r.applies(kind, role, relationship) for r in LOSS_RULES)


def loss_rule_rows() -> list[tuple[str, str, str, str]]:
    """The rules as rows ``(event_kind, benefit_kind, role, relationship)``; ``*`` is any."""
    rows = []
    for rule in LOSS_RULES:
        role = rule.role.value if rule.role is not None else "*"
        if rule.relationships is None:
            rows.append((rule.event.value, rule.kind.value, role, "*"))
        else:
            rows += [
                (rule.event.value, rule.kind.value, role, rel.value)
                for rel in sorted(rule.relationships)
            ]
    return rows


class WindowReading(StrEnum):
    """How Art. 12 "本年度" (this year) is read for the signs of life of a run."""

    TWELVE_MONTHS = "twelve_months"
    CALENDAR_YEAR = "calendar_year"


# Art. 12: the free-bus-card annual review counts for people of this age or more
BUS_CARD_MIN_AGE = 65


def counts_as_alive(kind: EventKind, citizen_id: str, on: date) -> bool:
    """Whether an event of a sign-of-life kind shows this person alive (the engine's SQL
    says the same; tests/unit/test_comparison_engine.py holds them equal)."""
    if kind is EventKind.BUS_CARD_REVIEW:
        return age_on(CitizenId(citizen_id).birth_date, on) >= BUS_CARD_MIN_AGE
    return kind in ALIVE_CHANNEL


@dataclass(frozen=True, slots=True)
class ComparisonWindow:
    """The period a run looks at: signs of life from ``starts_on`` to ``ends_on``."""

    starts_on: date
    ends_on: date

    @classmethod
    def calendar_year_to(cls, run_date: date) -> ComparisonWindow:
        return cls(date(run_date.year, 1, 1), run_date)

    @classmethod
    def twelve_months_to(cls, run_date: date) -> ComparisonWindow:
        """The year up to the run date: 2 December 2025 to 1 December 2026."""
        return cls(add_months(run_date, -12) + timedelta(days=1), run_date)

    @classmethod
    def read(cls, reading: WindowReading, run_date: date) -> ComparisonWindow:
        if reading is WindowReading.CALENDAR_YEAR:
            return cls.calendar_year_to(run_date)
        return cls.twelve_months_to(run_date)

    def __post_init__(self) -> None:
        if self.ends_on < self.starts_on:
            raise ValueError("the window ends before it starts")


@dataclass(frozen=True, slots=True)
class DepartmentEvent:
    citizen_id: str
    kind: EventKind
    event_date: date
    source: str
    source_record_id: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class EntitlementFacts:
    """What the comparison needs to know about one entitlement."""

    kind: BenefitKind
    role: RecipientRole
    relationship: DependantRelationship | None
    start_date: date
    last_certified_on: date | None = None
    # A suspended benefit takes part so that a sign of life can bring it back (Art. 21);
    # one not yet in scope (Art. 7-8: the year the benefit started, a dependant under 16)
    # so that a sign of loss still stops it. Neither is "to be verified" for mere silence.
    suspended: bool = False
    in_scope: bool = True

    @property
    def verified_when_silent(self) -> bool:
        return self.in_scope and not self.suspended


@dataclass(frozen=True, slots=True)
class Classification:
    list: ComparisonList
    alive: tuple[DepartmentEvent, ...] = field(default=())
    lost: tuple[DepartmentEvent, ...] = field(default=())
    certified_in_window: bool = False


def classify(
    entitlement: EntitlementFacts,
    events: Iterable[DepartmentEvent],
    window: ComparisonWindow,
) -> Classification | None:
    """Put one entitlement in exactly one of the three lists (Art. 12-14), or in none when
    nothing is known about a suspended or not-yet-in-scope benefit."""
    alive: list[DepartmentEvent] = []
    lost: list[DepartmentEvent] = []
    events = [e for e in events if e.event_date <= window.ends_on]  # later data is not known
    for event in events:
        if event.kind in ALIVE_CHANNEL:
            if window.starts_on <= event.event_date <= window.ends_on and counts_as_alive(
                event.kind, event.citizen_id, event.event_date
            ):
                alive.append(event)
        elif (
            entitlement.start_date <= event.event_date <= window.ends_on
            and loss_applies(
                event.kind, entitlement.kind, entitlement.role, entitlement.relationship
            )
            and not ended(event, events)
        ):
            lost.append(event)
    certified = (
        entitlement.last_certified_on is not None
        and window.starts_on <= entitlement.last_certified_on <= window.ends_on
    )
    is_alive = bool(alive) or certified
    if is_alive and not lost:
        chosen = ComparisonList.QUALIFIED
    elif lost and not is_alive:
        chosen = ComparisonList.LOST
    elif is_alive or lost or entitlement.verified_when_silent:
        chosen = ComparisonList.TO_VERIFY
    else:
        return None
    return Classification(chosen, tuple(alive), tuple(lost), certified)
