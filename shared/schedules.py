"""Resources that run on a cron `spec.schedule` (repository monitors, repository scans), fired by the
scheduler's PingSource tick.

- The schedule index (one ObjectStore kind per resource kind, partitions `shard-NN` by a hash of
  `<namespace>/<name>`, sort = that name) lists the resources that have a schedule; their routes keep
  it in step, so a tick Queries a few partitions and never Scans the resources.
- The due time lives on the resource: `status.nextScheduleTime`. `claim_due` takes a due slot with
  ONE conditional update that advances the time and, in the same write, claims the resource's
  active-run field, so across ticks and replicas a slot starts one run at most. A slot whose previous
  run is still active is skipped (the time still advances).
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.clock import now_rfc3339, parse_rfc3339
from shared.logs import get_logger
from shared.store import AlreadyExists, Companion, ObjectStore, Record

log = get_logger("schedules")


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_time(schedule: str, after: datetime) -> str:
    return stamp(next_run(schedule, after))


def next_run(schedule: str, after: datetime, zone: str | None = None) -> datetime:
    """The next cron time after `after`, the expression read in `zone` (an IANA zone; UTC when unset)."""
    from croniter import croniter  # only the paths that schedule need it

    if zone:
        from zoneinfo import ZoneInfo

        after = after.astimezone(ZoneInfo(zone))
    return croniter(schedule, after).get_next(datetime)


def apply_schedule(doc: dict[str, Any], previous: str | None = None, now: datetime | None = None) -> None:
    """Set (or clear) `status.nextScheduleTime` of a document after its spec was written."""
    status = doc.setdefault("status", {})
    schedule = doc["spec"].get("schedule")
    if not schedule:
        status.pop("nextScheduleTime", None)
    elif schedule != previous or not status.get("nextScheduleTime"):
        status["nextScheduleTime"] = next_time(schedule, now or datetime.now(UTC))


class ScheduleIndex:
    """Which resources of one kind have a schedule; `run_tick` offers each to `fire`."""

    def __init__(self, kind: str, what: str, shards: int = 4) -> None:
        self.store = ObjectStore(kind)
        self.what = what  # for logs: "monitor", "repository scan"
        self.shards = shards

    @staticmethod
    def _key(namespace: str, name: str) -> str:
        return f"{namespace}/{name}"

    def _shard(self, namespace: str, name: str) -> str:
        return f"shard-{zlib.crc32(self._key(namespace, name).encode()) % self.shards:02d}"

    def index(self, namespace: str, name: str, schedule: str | None) -> None:
        """Keep the index in step with the resource's spec (idempotent)."""
        if schedule:
            with contextlib.suppress(AlreadyExists):
                self.store.create(self._shard(namespace, name), self._key(namespace, name),
                                  {"namespace": namespace, "name": name})
        else:
            self.store.delete(self._shard(namespace, name), self._key(namespace, name))

    def run_tick(self, fire: Callable[[str, str, datetime], bool], now: datetime | None = None) -> int:
        """`fire(namespace, name, now)` for every indexed resource; how many fired."""
        now = now or datetime.now(UTC)
        fired = 0
        for shard in (f"shard-{i:02d}" for i in range(self.shards)):
            cursor = None
            while True:
                entries, cursor = self.store.list_page(shard, limit=200, cursor=cursor)
                for entry in entries:
                    try:
                        fired += fire(entry.doc["namespace"], entry.doc["name"], now)
                    except Exception:  # one bad resource must not stop the tick for the others
                        log.exception(f"scheduled {self.what} failed", extra={"fields": {"resource": entry.name}})
                if cursor is None:
                    break
        return fired


def claim_due(store: ObjectStore, namespace: str, name: str, now: datetime, *, run_id: str, active: str,
              last: str, busy: Callable[[Record, str | None], bool], unschedule: Callable[[], None],
              started: Callable[[dict[str, Any]], tuple[Companion, ...]] | None = None,
              ) -> tuple[str | None, Record | None, str | None]:
    """Claim the due slot of a scheduled resource: ("started" | "skipped" | None, record, due time).

    `active`/`last` name the status fields of the running and the latest run id; `busy(record, id)`
    tells whether the active run still runs; `unschedule()` drops a deleted or unscheduled resource
    from the index. `started(doc)`: records to write with a claim that starts a run (the run itself),
    in the same transaction, so the claim never exists without them.
    """
    record = store.get(namespace, name)
    schedule = (record.doc.get("spec") or {}).get("schedule") if record else None
    if record is None or not schedule:
        unschedule()
        return None, record, None
    due = (record.doc.get("status") or {}).get("nextScheduleTime")
    if due and parse_rfc3339(due) > now:
        return None, record, due
    following = next_time(schedule, now)
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
        if busy(record, status.get(active)):
            outcome["result"] = "skipped"
            return True
        status[active] = run_id
        status[last] = run_id
        outcome["result"] = "started"
        return True

    def with_claim(doc: dict[str, Any]) -> tuple[Companion, ...]:
        return started(doc) if started and outcome.get("result") == "started" else ()

    updated = store.update(namespace, name, claim, companions=with_claim)
    return outcome.get("result"), updated, due


def release_active(store: ObjectStore, namespace: str, name: str, run_id: str, *, active: str, last_time: str,
                   last_phase: str, phase: str) -> None:
    """Free the resource's active-run field if `run_id` still holds it, recording when and how it ended."""
    def release(doc: dict[str, Any]) -> bool:
        status = doc.setdefault("status", {})
        if status.get(active) != run_id:
            return False
        status.pop(active)
        status[last_time] = now_rfc3339()
        status[last_phase] = phase
        return True

    store.update(namespace, name, release)


def respecced(current: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """A resource document with a new spec: generation + 1, the schedule's next time recomputed."""
    doc = dict(current)
    doc["spec"] = spec
    doc["metadata"] = {**doc["metadata"], "generation": int(doc["metadata"].get("generation", 1)) + 1}
    doc["status"] = dict(doc.get("status") or {})
    apply_schedule(doc, previous=current["spec"].get("schedule"))
    return doc
