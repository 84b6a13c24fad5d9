"""Scheduled scans on `spec.schedule` (cron), fired by the scheduler's PingSource tick.

The same mechanism as the repository monitors (shared.monitors.schedule): a sharded index (kind
`securityschedules`, partition `shard-NN`, sort `<namespace>/<name>`) lists the scheduled
RepositoryScans, so a tick Queries a few partitions and never Scans. The due time is the
resource's `status.nextScheduleTime`; ONE conditional update advances it and, in the same write,
claims the active-scan slot, so a slot's scan starts once across ticks and replicas. A slot whose
previous scan is still running is skipped (the time still advances).
"""

from __future__ import annotations

import contextlib
import zlib
from datetime import UTC, datetime
from typing import Any

from shared.logs import get_logger
from shared.monitors.schedule import apply_schedule, next_time
from shared.store import AlreadyExists, ObjectStore

__all__ = ["apply_schedule", "index", "on_tick", "run_tick"]
log = get_logger("security")
schedules = ObjectStore("securityschedules")
SHARDS = 4


def _key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def _shard(namespace: str, name: str) -> str:
    return f"shard-{zlib.crc32(_key(namespace, name).encode()) % SHARDS:02d}"


def index(namespace: str, name: str, schedule: str | None) -> None:
    if schedule:
        with contextlib.suppress(AlreadyExists):
            schedules.create(_shard(namespace, name), _key(namespace, name), {"namespace": namespace, "name": name})
    else:
        schedules.delete(_shard(namespace, name), _key(namespace, name))


def on_tick(event: Any = None) -> None:
    run_tick()


def run_tick(now: datetime | None = None) -> int:
    """Start the due scheduled scans; the number started by this tick."""
    now = now or datetime.now(UTC)
    started = 0
    for shard in (f"shard-{i:02d}" for i in range(SHARDS)):
        cursor = None
        while True:
            entries, cursor = schedules.list_page(shard, limit=200, cursor=cursor)
            for entry in entries:
                try:
                    started += fire_if_due(entry.doc["namespace"], entry.doc["name"], now)
                except Exception:  # one bad repository must not stop the tick for the others
                    log.exception("scheduled security scan failed", extra={"fields": {"repository": entry.name}})
            if cursor is None:
                break
    return started


def fire_if_due(namespace: str, name: str, now: datetime) -> bool:
    from shared.clock import parse_rfc3339
    from shared.security.scans import is_active, launch, new_run_id
    from shared.security.store import repositories

    record = repositories.get(namespace, name)
    schedule = (record.doc.get("spec") or {}).get("schedule") if record else None
    if record is None or not schedule:
        index(namespace, name, None)
        return False
    due = (record.doc.get("status") or {}).get("nextScheduleTime")
    if due and parse_rfc3339(due) > now:
        return False
    following = next_time(schedule, now)
    run_id = new_run_id()
    outcome: dict[str, str] = {}

    def claim(doc: dict[str, Any]) -> bool:
        outcome.clear()
        status = doc.setdefault("status", {})
        if status.get("nextScheduleTime") != due:
            return False  # another tick (or replica) handled this slot
        status["nextScheduleTime"] = following
        if not due:
            return True
        status["lastScheduleTime"] = due
        if is_active(record, status.get("activeScan")):
            outcome["result"] = "skipped"
            return True
        status["activeScan"] = run_id
        status["lastScanRunID"] = run_id
        outcome["result"] = "started"
        return True

    updated = repositories.update(namespace, name, claim)
    if outcome.get("result") != "started":
        return False
    launch(updated, run_id, trigger="schedule")
    return True
