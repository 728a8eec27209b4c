"""A realistic synthetic population for the demo and for benchmarks.

Streams records one by one (bounded memory at any size, 10 million included):
valid citizen ID numbers that are unique by construction, Chinese names,
Chongqing household registrations down to village level, benefits of all
three kinds (work-injury dependants among them, some under 16), start dates
spread over decades, and certification histories that leave some people due
soon and some overdue.

Uniqueness without memory: person ``i`` is mapped through an affine
permutation of the space (district × birth day × sequence number), so no two
people share an ID and no set of issued IDs is kept.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO

from certification.calendar import add_months, age_on, anniversary
from certification.citizen_id import make_citizen_id
from certification.model import EARLIEST_BENEFIT_START
from certification.regions import DISTRICTS
from certification.services.register_import import REGISTER_COLUMNS
from certification.vocabulary import (
    BenefitKind,
    CertificationChannel,
    DependantRelationship,
    RecipientRole,
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = (
    "秀英华玉兰桂芳淑珍凤琴翠云莲明国建军平志文德福成永庆光华荣贵生金海林春红梅丽萍敏静霞燕燕"
    "伟强磊洋勇杰涛斌超刚辉鹏飞浩宇晨欣怡佳琪雨婷子涵梓轩思远"
)
TOWNSHIP_STEMS = [
    "解放碑",
    "七星岗",
    "两路口",
    "上清寺",
    "大坪",
    "化龙桥",
    "石桥铺",
    "杨家坪",
    "谢家湾",
    "黄桷坪",
    "南坪",
    "弹子石",
    "龙门浩",
    "观音桥",
    "大石坝",
    "寸滩",
    "天星桥",
    "磁器口",
    "歌乐山",
    "双碑",
    "新桥",
    "龙溪",
    "回兴",
    "悦来",
    "人和",
    "李家沱",
    "鱼洞",
    "白市驿",
    "西彭",
    "铜罐驿",
    "陶家",
    "走马",
    "含谷",
    "金凤",
    "巴福",
    "跳磴",
    "九龙",
    "中梁山",
    "石坪桥",
]
VILLAGE_STEMS = [
    "长安",
    "团结",
    "新华",
    "和平",
    "红星",
    "光明",
    "幸福",
    "友谊",
    "胜利",
    "建设",
    "向阳",
    "东风",
    "青山",
    "白果",
    "黄葛",
    "桂花",
    "石板",
    "水井",
    "高峰",
    "龙泉",
    "凉风",
    "双河",
    "三合",
    "五星",
    "太平",
    "永安",
]

TODAY_DEFAULT = date(2026, 11, 27)
EARLIEST_BIRTH = date(1926, 1, 1)
BIRTH_SPAN_DAYS = (date(2024, 12, 31) - EARLIEST_BIRTH).days + 1
DISTRICT_CODES = tuple(DISTRICTS)
TOWNSHIPS_PER_DISTRICT = 12
VILLAGES_PER_TOWNSHIP = 8


# how the synthetic history was certified: mostly by data comparison (Art. 11-12)
ART12_CHANNELS = (
    CertificationChannel.DATA_COMPARISON,
    CertificationChannel.DATA_COMPARISON,
    CertificationChannel.SELF_SERVICE_FACE,
    CertificationChannel.COUNTER,
    CertificationChannel.PARTNER_BANK,
    CertificationChannel.HOSPITAL_STAY,
    CertificationChannel.AIR_RAIL_TRAVEL,
)


@dataclass(frozen=True, slots=True)
class DemoRegion:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class DemoEntitlement:
    kind: BenefitKind
    role: RecipientRole
    relationship: DependantRelationship | None
    start_date: date
    monthly_amount_fen: int


@dataclass(frozen=True, slots=True)
class DemoPerson:
    citizen_id: str
    name: str
    phone: str | None
    region_code: str
    birth_date: date
    entitlements: tuple[DemoEntitlement, ...]
    last_certified_on: date | None
    last_certified_channel: CertificationChannel | None = None


def demo_regions() -> Iterator[DemoRegion]:
    """Townships and villages under every district (synthetic codes in the statistical shape)."""
    for d_index, district in enumerate(DISTRICT_CODES):
        for t in range(1, TOWNSHIPS_PER_DISTRICT + 1):
            stem = TOWNSHIP_STEMS[(d_index * 7 + t) % len(TOWNSHIP_STEMS)]
            suffix = "街道" if t <= 6 else "镇"
            township = f"{district}{t:03d}"
            yield DemoRegion(township, f"{stem}{suffix}")
            for vi in range(1, VILLAGES_PER_TOWNSHIP + 1):
                vstem = VILLAGE_STEMS[(d_index + t * 3 + vi) % len(VILLAGE_STEMS)]
                vsuffix = "社区" if t <= 6 else "村"
                yield DemoRegion(f"{township}{vi:03d}", f"{vstem}{vsuffix}")


def _coprime_multiplier(space: int, rng: random.Random) -> int:
    while True:
        a = rng.randrange(space // 3, space - 1) | 1
        if math.gcd(a, space) == 1:
            return a


def _acceptance(age: int) -> float:
    """How common each age is among beneficiaries (shapes the synthetic age pyramid)."""
    if age >= 96:
        return 0.05
    if age >= 60:
        return 1.0
    if age >= 50:
        return 0.55
    if age >= 22:
        return 0.12
    if age >= 16:
        return 0.02
    return 0.04


class PopulationGenerator:
    def __init__(self, seed: int = 20261127, today: date = TODAY_DEFAULT) -> None:
        self.seed = seed
        self.today = today
        self.space = len(DISTRICT_CODES) * BIRTH_SPAN_DAYS * 1000
        rng = random.Random(seed)
        self.mult = _coprime_multiplier(self.space, rng)
        self.offset = rng.randrange(self.space)

    def _identity(self, draw: int) -> tuple[str, date, int]:
        x = (draw * self.mult + self.offset) % self.space
        x, seq = divmod(x, 1000)
        district_index, day = divmod(x, BIRTH_SPAN_DAYS)
        return DISTRICT_CODES[district_index], EARLIEST_BIRTH + timedelta(days=day), seq

    def people(self, count: int, *, shard: int = 0, shards: int = 1) -> Iterator[DemoPerson]:
        """``count`` people; with ``shards`` > 1 this shard's people, drawn from every
        ``shards``-th draw (the shards of one seed never share a person)."""
        made = 0
        draw = shard
        while made < count:
            district, birth, seq = self._identity(draw)
            rng = random.Random(self.seed * 1_000_003 + draw)
            draw += shards
            if birth > self.today:
                continue
            age = age_on(birth, self.today)
            if rng.random() > _acceptance(age):
                continue
            person = self._person(rng, district, birth, seq, age)
            if person is None:
                continue
            made += 1
            yield person

    def _person(
        self, rng: random.Random, district: str, birth: date, seq: int, age: int
    ) -> DemoPerson | None:
        cid = make_citizen_id(district, birth, seq)
        male = seq % 2 == 1
        entitlements = self._entitlements(rng, birth, age, male)
        if not entitlements:
            return None
        home_district = district if rng.random() < 0.9 else rng.choice(DISTRICT_CODES)
        t = rng.randrange(1, TOWNSHIPS_PER_DISTRICT + 1)
        region = f"{home_district}{t:03d}"
        if rng.random() < 0.85:
            region += f"{rng.randrange(1, VILLAGES_PER_TOWNSHIP + 1):03d}"
        name = rng.choice(SURNAMES) + "".join(
            rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2)))
        )
        phone = None if rng.random() < 0.08 else f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        earliest = min(e.start_date for e in entitlements)
        if rng.random() < 0.9:
            # Most people certified within the last 14 months: some are now due or overdue.
            days_ago = int(rng.triangular(0, 430, 200))
        else:
            # The rest last certified one to four years ago: long overdue.
            days_ago = rng.randrange(430, 1500)
        candidate = self.today - timedelta(days=days_ago)
        last = candidate if candidate >= earliest else None
        channel = rng.choice(ART12_CHANNELS) if last else None
        return DemoPerson(
            citizen_id=cid.value,
            name=name,
            phone=phone,
            region_code=region,
            birth_date=birth,
            entitlements=tuple(entitlements),
            last_certified_on=last,
            last_certified_channel=channel,
        )

    def _entitlements(
        self, rng: random.Random, birth: date, age: int, male: bool
    ) -> list[DemoEntitlement]:
        out: list[DemoEntitlement] = []
        today = self.today
        if age < 22:
            # A child of a worker who died of a work injury.
            death = birth + timedelta(days=rng.randrange(0, max(1, (today - birth).days)))
            relationship = (
                DependantRelationship.CHILD
                if rng.random() < 0.85
                else DependantRelationship.SIBLING
            )
            out.append(self._dependant(rng, relationship, death))
            return out
        retirement_age = 60 if male else rng.choice((50, 55))
        if age >= retirement_age:
            start = add_months(anniversary(birth, retirement_age), rng.randrange(0, 3))
            if start <= today:
                amount = rng.randrange(150_000, 650_000, 100)
                out.append(
                    DemoEntitlement(BenefitKind.PENSION, RecipientRole.INSURED, None, start, amount)
                )
        if age < retirement_age and rng.random() < 0.55:
            start = today - timedelta(days=rng.randrange(20, 700))
            out.append(
                DemoEntitlement(
                    BenefitKind.UNEMPLOYMENT,
                    RecipientRole.INSURED,
                    None,
                    start,
                    rng.randrange(180_000, 230_000, 100),
                )
            )
        elif rng.random() < (0.05 if out else 0.6):
            if rng.random() < 0.7 and age >= 25:
                earliest = max(anniversary(birth, 20), EARLIEST_BENEFIT_START)
                span = max(1, (min(today, anniversary(birth, 60)) - earliest).days)
                start = earliest + timedelta(days=rng.randrange(span))
                out.append(
                    DemoEntitlement(
                        BenefitKind.WORK_INJURY_LONG_TERM,
                        RecipientRole.INSURED,
                        None,
                        start,
                        rng.randrange(200_000, 520_000, 100),
                    )
                )
            else:
                relationship = rng.choice(
                    (DependantRelationship.SPOUSE, DependantRelationship.PARENT)
                    if age >= 40
                    else (DependantRelationship.SPOUSE,)
                )
                earliest = max(anniversary(birth, 20), date(1995, 1, 1))
                span = max(1, (today - earliest).days)
                out.append(
                    self._dependant(
                        rng, relationship, earliest + timedelta(days=rng.randrange(span))
                    )
                )
        return out

    def _dependant(
        self, rng: random.Random, relationship: DependantRelationship, start: date
    ) -> DemoEntitlement:
        start = min(start, self.today)
        return DemoEntitlement(
            BenefitKind.WORK_INJURY_LONG_TERM,
            RecipientRole.DEPENDANT,
            relationship,
            start,
            rng.randrange(80_000, 210_000, 100),
        )


def register_rows(people: Iterable[DemoPerson]) -> Iterator[dict[str, str]]:
    """The people as rows of a register import (one row per benefit)."""
    for person in people:
        for e in person.entitlements:
            yield {
                "citizen_id": person.citizen_id,
                "name": person.name,
                "phone": person.phone or "",
                "region_code": person.region_code,
                "kind": e.kind.value,
                "role": e.role.value,
                "relationship": e.relationship.value if e.relationship else "",
                "start_date": e.start_date.isoformat(),
                "monthly_amount_fen": str(e.monthly_amount_fen),
                "last_certified_on": (
                    person.last_certified_on.isoformat() if person.last_certified_on else ""
                ),
                "last_certified_channel": (
                    person.last_certified_channel.value if person.last_certified_channel else ""
                ),
            }


def write_csv(people: Iterator[DemoPerson], out: IO[str]) -> int:
    """A register file: one row per benefit. Returns people written."""
    counted = _Counted(people)
    writer = csv.DictWriter(out, REGISTER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(register_rows(counted))
    return counted.n


class _Counted:
    def __init__(self, people: Iterator[DemoPerson]) -> None:
        self.people = people
        self.n = 0

    def __iter__(self) -> Iterator[DemoPerson]:
        for person in self.people:
            self.n += 1
            yield person


def generate_csv_file(
    path: Path, count: int, seed: int, today: date, *, shard: int = 0, shards: int = 1
) -> int:
    with path.open("w", encoding="utf-8", newline="") as fh:
        return write_csv(
            PopulationGenerator(seed, today).people(count, shard=shard, shards=shards), fh
        )
