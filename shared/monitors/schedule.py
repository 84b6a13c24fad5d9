"""Scheduled monitor runs on `spec.schedule` (cron), fired by the scheduler's PingSource tick.

- The schedule index (kind `monitorschedules`, partition `shard-NN` by a hash of `<namespace>/<name>`,
  sort = that name) lists the monitors that have a schedule; create/update/delete keep it, so the
  tick Queries a few partitions and never Scans the monitors.
- The due time lives on the monitor: `status.nextScheduleTime`. A due monitor is claimed by ONE
  conditional update that advances `nextScheduleTime` and, in the same write, takes the active-run
  slot (`status.activeRun`). A second tick (or another replica) sees the advanced time and does
  nothing, so a due run is queued once.
- A due monitor whose previous run is still active is skipped for this slot (the time advances, a
  `ScheduledRunSkipped` audit event is left); it is never queued twice.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from datetime import UTC, datetime
from typing import Any

from shared.events import Event
from shared.logs import get_logger
from shared.monitors.runs import is_active, queue_run
from shared.monitors.store import monitors, record_event
from shared.store import AlreadyExists, ObjectStore

log = get_logger("monitors")
schedules = ObjectStore("monitorschedules")
SHARDS = 4


def _key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def _shard(namespace: str, name: str) -> str:
    return f"shard-{zlib.crc32(_key(namespace, name).encode()) % SHARDS:02d}"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_time(schedule: str, after: datetime) -> str:
    from croniter import croniter

    return stamp(croniter(schedule, after).get_next(datetime))


def apply_schedule(doc: dict[str, Any], previous: str | None = None, now: datetime | None = None) -> None:
    """Set (or clear) `status.nextScheduleTime` of a monitor document after its spec was written."""
    status = doc.setdefault("status", {})
    schedule = doc["spec"].get("schedule")
    if not schedule:
        status.pop("nextScheduleTime", None)
    elif schedule != previous or not status.get("nextScheduleTime"):
        status["nextScheduleTime"] = next_time(schedule, now or datetime.now(UTC))


def index(namespace: str, name: str, schedule: str | None) -> None:
    """Keep the schedule index in step with the monitor's spec (idempotent)."""
    if schedule:
        with contextlib.suppress(AlreadyExists):
            schedules.create(_shard(namespace, name), _key(namespace, name), {"namespace": namespace, "name": name})
    else:
        schedules.delete(_shard(namespace, name), _key(namespace, name))


def on_tick(event: Event | None = None) -> None:
    run_tick()


def run_tick(now: datetime | None = None) -> int:
    """Queue the due scheduled runs; the number queued by this tick."""
    now = now or datetime.now(UTC)
    queued = 0
    for shard in (f"shard-{i:02d}" for i in range(SHARDS)):
        cursor = None
        while True:
            entries, cursor = schedules.list_page(shard, limit=200, cursor=cursor)
            for entry in entries:
                try:
                    queued += fire_if_due(entry.doc["namespace"], entry.doc["name"], now)
                except Exception:  # one bad monitor must not stop the tick for the others
                    log.exception("scheduled monitor check failed", extra={"fields": {"monitor": entry.name}})
            if cursor is None:
                break
    return queued


def fire_if_due(namespace: str, name: str, now: datetime) -> bool:
    from shared.clock import parse_rfc3339

    record = monitors.get(namespace, name)
    schedule = (record.doc.get("spec") or {}).get("schedule") if record else None
    if record is None or not schedule:
        index(namespace, name, None)  # deleted, or no longer scheduled
        return False
    due = (record.doc.get("status") or {}).get("nextScheduleTime")
    if due and parse_rfc3339(due) > now:
        return False
    following = next_time(schedule, now)
    run_id = f"monrun-{time.time_ns()}"
    outcome: dict[str, str] = {}

    def claim(doc: dict[str, Any]) -> bool:
        outcome.clear()  # a retried update decides afresh
        status = doc.setdefault("status", {})
        if status.get("nextScheduleTime") != due:
            return False  # another tick (or replica) handled this slot
        status["nextScheduleTime"] = following
        if not due:
            return True  # first sight of the schedule: only set the next time
        status["lastScheduleTime"] = due
        if is_active(namespace, name, status.get("activeRun")):
            outcome["result"] = "skipped"
            return True
        status["activeRun"] = run_id
        status["lastRunID"] = run_id
        outcome["result"] = "queued"
        return True

    monitors.update(namespace, name, claim)
    if outcome.get("result") == "skipped":
        record_event(namespace, name, "ScheduledRunSkipped", f"scheduled run of {due} skipped: a run is still active")
        return False
    if outcome.get("result") != "queued":
        return False
    queue_run(namespace, name, run_id, trigger="schedule")
    return True
