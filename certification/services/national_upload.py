"""The national upload (Art. 21): suspensions and restorations reported to the national
platform in batches."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any
from uuid import uuid4

from certification import access
from certification.access import Actor
from certification.errors import (
    RuleViolation,
)
from certification.ports import (
    EvidenceStore,
    NationalTransport,
)
from certification.services.context import UseCaseContext
from certification.services.selfservice import retention_metadata

NATIONAL_COLUMNS = (
    "citizen_id",
    "name",
    "district_code",
    "suspended_on",
    "restored_on",
    "national_record_ids",
)


def build_national_batch(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    transport: NationalTransport,
    *,
    district_code: str,
) -> dict[str, Any]:
    """Collect the district's restored people that the national cross-region system had
    marked lost into one CSV batch, keep it, and send it through the transport."""
    access.require_agency_clerk_for(actor, district_code, "upload to the national system")
    items = ctx.uow.national.pending(district_code)
    if not items:
        raise RuleViolation("Nobody in this district is waiting for the national upload.")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(NATIONAL_COLUMNS)
    for item in items:
        writer.writerow(
            [
                item["citizen_id"],
                item["name"],
                item["district_code"],
                item["suspended_on"].isoformat(),
                item["restored_on"].isoformat(),
                ";".join(item["national_record_ids"]),
            ]
        )
    content = out.getvalue().encode("utf-8")
    batch_id = uuid4()
    now = ctx.clock.now()
    key = f"national/{district_code}/{now:%Y%m%d}-{batch_id.hex[:8]}.csv"
    store.put_bytes(key, content, "text/csv", retention_metadata(now))
    batch = {
        "id": batch_id,
        "district_code": district_code,
        "created_by": actor.account_id,
        "created_at": now,
        "items": len(items),
        "file_key": key,
        "sha256": hashlib.sha256(content).hexdigest(),
        "status": "prepared",
        "transport": transport.name,
        "sent_at": None,
        "receipt": None,
    }
    ctx.uow.national.add_batch(batch, [i["id"] for i in items])
    ctx.audit(
        actor,
        "national.batch_prepared",
        "national_upload_batch",
        batch_id,
        district_code=district_code,
        items=len(items),
        file_key=key,
        sha256=batch["sha256"],
    )
    ctx.uow.commit()
    try:
        receipt = transport.send(key.rsplit("/", 1)[-1], content)
    except Exception as err:  # noqa: BLE001 - the batch stays prepared, to be sent again
        batch["error"] = f"{type(err).__name__}: {err}"
        return batch
    ctx.uow.national.mark_sent(batch_id, transport.name, receipt, ctx.clock.now())
    ctx.audit(
        actor,
        "national.batch_sent",
        "national_upload_batch",
        batch_id,
        transport=transport.name,
        receipt=receipt,
    )
    ctx.uow.commit()
    batch.update(status="sent", receipt=receipt)
    return batch
