"""The township verification ledger (业务台账, Art. 20): one row per task, for export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from certification import access
from certification.access import Actor
from certification.services.access_log import record_read
from certification.services.context import UseCaseContext
from certification.verification import (
    TaskStatus,
    task_overdue,
)

LEDGER_COLUMNS = (
    ("township_code", "乡镇（街道）"),
    ("citizen_id", "公民身份号码"),
    ("name", "姓名"),
    ("source", "来源"),
    ("route", "核实途径"),
    ("received_on", "接收日期"),
    ("deadline_on", "核实期限"),
    ("overdue", "是否逾期"),
    ("status", "状态"),
    ("result", "核实结果"),
    ("channel", "核实方式"),
    ("recorded_at", "记录时间"),
    ("evidence", "佐证资料"),
    ("statement", "监护人/代理人签字或当场告知"),
    ("note", "备注"),
)


def ledger_rows(
    ctx: UseCaseContext, actor: Actor, *, since: date | None, until: date | None
) -> Iterator[dict[str, Any]]:
    """Every task of the staff member's region, one row each, oldest first per township."""
    scope = access.staff_scope(actor)
    record_read(
        ctx,
        actor,
        "ledger.exported",
        "region",
        scope.code,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
    )
    today = ctx.clock.today()
    for row in ctx.uow.tasks.ledger(scope, since, until):
        status = getattr(row["status"], "value", row["status"])
        statement = row["statement"] or {}
        if statement.get("refused_to_sign"):
            said = "拒绝签字，已当场告知 / refused to sign, told on the spot"
        elif statement:
            said = f"{statement.get('signer_name')} ({statement.get('signer_relationship')})"
        else:
            said = ""
        yield {
            "township_code": row["township_code"] or "",
            "citizen_id": row["citizen_id"],
            "name": row["name"],
            "source": row["source"],
            "route": getattr(row["route"], "value", row["route"]),
            "received_on": row["received_on"].isoformat(),
            "deadline_on": row["deadline_on"].isoformat(),
            "overdue": "是" if task_overdue(TaskStatus(status), row["deadline_on"], today) else "",
            "status": status,
            "result": getattr(row["result"], "value", row["result"]) or "",
            "channel": getattr(row["channel"], "value", row["channel"]) or "",
            "recorded_at": row["recorded_at"].isoformat() if row["recorded_at"] else "",
            "evidence": " ".join(row["evidence"] or []),
            "statement": said,
            "note": row["note"] or "",
        }
