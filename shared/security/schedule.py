"""Scheduled scans on `spec.schedule` (cron), fired by the scheduler's PingSource tick.

The mechanism of shared.schedules, as for repository monitors: a sharded index (kind
`securityschedules`, partition `shard-NN`, sort `<namespace>/<name>`) lists the scheduled
RepositoryScans, so a tick Queries a few partitions and never Scans. The due time is the
resource's `status.nextScheduleTime`; ONE conditional update advances it and, in the same write,
claims the active-scan slot, so a slot's scan starts once across ticks and replicas. A slot whose
previous scan is still running is skipped (the time still advances).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.schedules import ScheduleIndex, apply_schedule, claim_due
from shared.security.scans import announce_queued, is_active, new_run_id, queued_run
from shared.security.store import repositories

__all__ = ["apply_schedule", "index", "on_tick", "run_tick"]
_index = ScheduleIndex("securityschedules", "repository scan")
index = _index.index


def on_tick(event: Any = None) -> None:
    run_tick()


def run_tick(now: datetime | None = None) -> int:
    """Start the due scheduled scans; the number started by this tick."""
    return _index.run_tick(fire_if_due, now)


def fire_if_due(namespace: str, name: str, now: datetime) -> bool:
    run_id = new_run_id()
    result, updated, _ = claim_due(repositories, namespace, name, now, run_id=run_id, active="activeScan",
                                   last="lastScanRunID", busy=is_active, unschedule=lambda: index(namespace, name, None),
                                   started=lambda doc: queued_run(namespace, name, doc, run_id, trigger="schedule"))
    if result != "started" or updated is None:
        return False
    announce_queued(updated)
    return True
