"""Cron tasks (`spec.schedule`): a parent task waits Scheduled and creates one run per due time.

The dispatcher moves a new schedule task to Scheduled (`start_schedule`); the scheduler's tick
creates its due runs (`fire_schedule`), labelled with their parent.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.clock import parse_rfc3339
from shared.store import AlreadyExists, Record
from shared.tasks.lifecycle import transition
from shared.tasks.repository import PARENT_LABEL, tasks
from shared.tasks.service import store_new_task
from shared.tasks.validation import new_task_document

SCHEDULED_BY = "orka.ai/scheduled-by"


def next_run(schedule: str, after: datetime, zone: str | None = None) -> datetime:
    """The next cron time after `after`, the expression read in `zone` (spec.timeZone; UTC when unset)."""
    from croniter import croniter  # only the dispatcher and scheduler need it

    if zone:
        after = after.astimezone(ZoneInfo(zone))
    return croniter(schedule, after).get_next(datetime)


def start_schedule(record: Record) -> Record | None:
    """Pending → Scheduled with its first run time (the dispatcher calls this for a `schedule` task)."""
    first = next_run(record.doc["spec"]["schedule"], datetime.now(UTC), record.doc["spec"].get("timeZone"))
    return transition(record.namespace, record.name, "Scheduled", only_from=frozenset({"Pending"}),
                      message=f"next run at {_stamp(first)}",
                      also=lambda status: status.update(nextScheduleTime=_stamp(first)), current=record)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fire_schedule(record: Record, now: datetime) -> None:
    """The scheduler's tick: a Scheduled parent whose run is due creates the run (once across replicas)."""

    due = record.doc.get("status", {}).get("nextScheduleTime")
    if not due or parse_rfc3339(due) > now:
        return
    schedule = record.doc["spec"]["schedule"]
    following = next_run(schedule, now, record.doc["spec"].get("timeZone"))
    claimed: dict[str, bool] = {}

    def advance(doc: dict[str, Any]) -> bool:
        status = doc.setdefault("status", {})
        if status.get("nextScheduleTime") != due:
            return False  # another replica fired this run
        status.update(nextScheduleTime=_stamp(following), lastScheduleTime=due,
                      message=f"next run at {_stamp(following)}")
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
