"""Notices delivered per second through the outbox, on PostgreSQL.

Queues N certification notices (the rows a day's counter and app certifications make),
then runs delivery passes until the outbox is empty, twice in the same run:

- ``instant``: a channel that answers at once (the outbox's own cost: routing, claiming,
  rendering, recording each answer);
- ``sms``: the Alibaba Cloud SMS adapter against the local stand-in (signing, HTTP).

    python benchmarks/notices.py --people 2000

Prints one line per stage and the ratio of the two rates (measured in the same run).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scratch import scratch_database
from certification.notices import Channel, DeliveryPolicy, NoticeKind
from certification.services.notices import deliver_notices, tell
from infra.notice_channels import SmsChannel
from infra.settings import Settings
from infra.sms import AliyunSms
from lifecert.bootstrap import build_runtime
from storage.migrate import upgrade


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Instant:
    name = "sms"

    def send(self, message: Any) -> str:
        return "ok"


def _people(runtime: Any, n: int) -> list[Any]:
    from certification.citizen_id import CitizenId
    from certification.model import Person
    from certification.regions import RegionPlacement

    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    people = []
    with runtime.use_case() as ctx:
        for i in range(n):
            body = f"500103{1940 + i % 30}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
            check = "10X98765432"[sum(int(x) * w for x, w in zip(body, weights, strict=True)) % 11]
            person = Person.register(
                citizen_id=CitizenId.parse(body + check, today=date.today()),
                name="张秀兰",
                phone=f"139{i:08d}",
                placement=RegionPlacement("500103", "500103", None, None),
            )
            ctx.uow.persons.add(person)
            people.append(person)
        ctx.uow.commit()
    return people


def _queue(runtime: Any, people: list[Any], round_: str) -> float:
    started = time.perf_counter()
    with runtime.use_case() as ctx:
        for person in people:
            tell(
                ctx,
                person,
                NoticeKind.CERTIFIED,
                key=f"{round_}:{person.id}",
                certified_on=date.today(),
                next_due_on=date.today().replace(year=date.today().year + 1),
                receipt="ABCD-EFGH-JKMN-P",
            )
        ctx.uow.commit()
    return time.perf_counter() - started


def _drain(runtime: Any, channel: Any) -> tuple[float, int]:
    policy = DeliveryPolicy(quiet_from=datetime.min.time(), quiet_until=datetime.min.time())
    started = time.perf_counter()
    delivered = 0
    while True:
        report = deliver_notices(runtime.use_case, {Channel.SMS: channel}, policy, limit=500)
        delivered += report.delivered
        if report.routed == 0 and report.delivered == 0 and report.retrying == 0:
            break
    return time.perf_counter() - started, delivered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=2000)
    args = parser.parse_args()
    from tests.standins import sms_provider

    with scratch_database(prefix="lifecert_bench_notices") as url:
        upgrade(url)
        runtime = build_runtime(Settings(database_url=url, data_dir=Path(tempfile.mkdtemp())))
        people = _people(runtime, args.people)
        state, server = sms_provider.start()
        sender = AliyunSms(
            sms_provider.ALIYUN_KEY_ID,
            sms_provider.ALIYUN_SECRET,
            "重庆社保",
            "SMS_1",
            endpoint=state.url + "/",
        )
        rates = {}
        for label, channel in (
            ("instant", Instant()),
            ("sms", SmsChannel(sender, {"certified": "SMS_900001"})),
        ):
            queued = _queue(runtime, people, label)
            seconds, delivered = _drain(runtime, channel)
            rates[label] = delivered / seconds
            say(
                f"{label:8s} queued {len(people)} notices in {queued:.2f} s "
                f"({len(people) / queued:,.0f}/s); delivered {delivered} in {seconds:.2f} s "
                f"= {rates[label]:,.0f} notices/s"
            )
        server.shutdown()
        say(
            f"at {datetime.now(UTC):%Y-%m-%d %H:%M}Z: through the SMS adapter "
            f"{rates['sms'] / rates['instant']:.2f}x the outbox's own rate "
            f"({rates['sms']:,.0f} vs {rates['instant']:,.0f} notices/s)"
        )
        runtime.close()


if __name__ == "__main__":
    main()
