"""Scheduled monitor runs on `spec.schedule` (cron), fired by the scheduler's PingSource tick.

- The schedule index (kind `monitorschedules`, partition `shard-NN` by a hash of `<namespace>/<name>`,
  sort = that name) lists the monitors that have a schedule; create/update/delete keep it, so the
  tick Queries a few partitions and never Scans the monitors.
- The due time lives on the monitor: `status.nextScheduleTime`. A due monitor is claimed by ONE
  conditional update that advances `nextScheduleTime` and, in the same write, takes the active-run
  slot (`status.activeRun`) and stores the queued run. A second tick (or another replica) sees the advanced time and does
  nothing, so a due run is queued once.
- A due monitor whose previous run is still active is skipped for this slot (the time advances, a
  `ScheduledRunSkipped` audit event is left); it is never queued twice. The mechanism: shared.schedules.
"""

from __future__ import annotations

import time
from datetime import datetime

from shared.events import Event
from shared.monitors.runs import announce_run, is_active, queued_run
from shared.monitors.store import monitors, record_event
from shared.schedules import ScheduleIndex, apply_schedule, claim_due, next_time

__all__ = ["apply_schedule", "index", "next_time", "on_tick", "run_tick", "schedules"]
_index = ScheduleIndex("monitorschedules", "monitor")
schedules = _index.store
index = _index.index


def on_tick(event: Event | None = None) -> None:
    run_tick()


def run_tick(now: datetime | None = None) -> int:
    """Queue the due scheduled runs; the number queued by this tick."""
    return _index.run_tick(fire_if_due, now)


def fire_if_due(namespace: str, name: str, now: datetime) -> bool:
    run_id = f"monrun-{time.time_ns()}"
    run = queued_run(namespace, name, run_id, trigger="schedule")
    result, _, due = claim_due(monitors, namespace, name, now, run_id=run_id, active="activeRun", last="lastRunID",
                               busy=lambda record, active: is_active(namespace, name, active),
                               unschedule=lambda: index(namespace, name, None), started=lambda doc: (run,))
    if result == "skipped":
        record_event(namespace, name, "ScheduledRunSkipped", f"scheduled run of {due} skipped: a run is still active")
        return False
    if result != "started":
        return False
    announce_run(run)
    return True
