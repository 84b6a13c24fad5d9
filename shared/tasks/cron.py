"""Cron tasks (`spec.schedule`): a parent task waits Scheduled and creates one run per due time.

A new schedule task is created Scheduled (`shared.tasks.validation.new_task_document`); one created
suspended stays Pending until it is resumed, then the dispatcher moves it (`start_schedule`). The
scheduler's tick creates its due runs (`fire_schedule`), labelled with their parent.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from shared.clock import parse_rfc3339
from shared.store import AlreadyExists, Record
from shared.tasks.lifecycle import transition
from shared.tasks.repository import PARENT_LABEL, tasks
from shared.tasks.service import store_new_task
from shared.tasks.validation import new_task_document, next_schedule

SCHEDULED_BY = "orka.ai/scheduled-by"


def start_schedule(record: Record) -> Record | None:
    """Pending → Scheduled with its first run time (the dispatcher calls this for a `schedule` task
    that was created suspended and has been resumed)."""
    upcoming = next_schedule(record.doc["spec"], datetime.now(UTC))
    return transition(record.namespace, record.name, "Scheduled", only_from=frozenset({"Pending"}),
                      message=upcoming["message"], also=lambda status: status.update(upcoming), current=record)


def fire_schedule(record: Record, now: datetime) -> None:
    """The scheduler's tick: a Scheduled parent whose run is due creates the run (once across replicas)."""

    due = record.doc.get("status", {}).get("nextScheduleTime")
    if not due or parse_rfc3339(due) > now:
        return
    upcoming = next_schedule(record.doc["spec"], now)
    claimed: dict[str, bool] = {}

    def advance(doc: dict[str, Any]) -> bool:
        status = doc.setdefault("status", {})
        if status.get("nextScheduleTime") != due:
            return False  # another replica fired this run
        status.update(lastScheduleTime=due, **upcoming)
        claimed["ok"] = True
        return True

    tasks.update(record.namespace, record.name, advance)
    if not claimed:
        return
    run_name = f"{record.name}-{int(parse_rfc3339(due).timestamp())}"[:253]
    spec = {k: v for k, v in record.doc["spec"].items() if k not in ("schedule", "timeZone", "suspend")}
    labels = {**record.doc.get("metadata", {}).get("labels", {}), PARENT_LABEL: record.name,
              SCHEDULED_BY: record.name}
    doc = new_task_document(run_name, spec, labels, dict(record.doc.get("metadata", {}).get("annotations", {})))
    with contextlib.suppress(AlreadyExists):  # the same run created by an earlier, interrupted tick
        store_new_task(record.namespace, doc)
