"""The `scheduler` function's work: one pass over the live-task index per PingSource tick.

Per live task (a Query of the `live` index, never a Scan of the tasks):
- Running whose job ended without its worker reporting (Kubernetes read-back) → finished from the job;
- Running whose worker's lease lapsed (no heartbeat for SHOAL_TASK_LEASE_SECONDS, plus the startup
  grace before its first) → the attempt is reclaimed: Failed with reason WorkerLost, then retried
  per `retryPolicy` like any failure (shared/tasks/leases.py);
- Running past `spec.timeout` (measured from the attempt's start) → stop the job, Failed (TimedOut);
- Failed with `status.nextRetryTime` passed → Pending again ("retry N of M"; the retried event
  makes the dispatcher start it);
- Pending without a job for longer than SHOAL_REDISPATCH_AFTER_SECONDS → announce it again
  (its created event was lost); the dispatcher's conditional claim makes duplicates harmless;
- Scheduled (a cron parent) whose `status.nextScheduleTime` passed → one run as a child task;
- `spec.suspend` pauses all of it except timeouts;
- terminal without a retry → dropped from the index;
- no task at all → the entry is dropped once older than LIVE_ENTRY_GRACE_SECONDS (a create writes
  the entry just before the task, so a fresh entry without a task is usually one being created).
Every step is a conditional write, so two ticks on two replicas cannot both act.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from shared.clock import now_rfc3339, parse_rfc3339
from shared.config import get_settings
from shared.duration import parse_go_duration
from shared.events import Event
from shared.executor.base import ExecutorError
from shared.executor.factory import get_executor
from shared.logs import get_logger
from shared.models.phases import TERMINAL_PHASES
from shared.models.worker_contract import WORKER_LOST
from shared.store import Record
from shared.store.blobs import put_blob
from shared.tasks import queue
from shared.tasks.cron import fire_schedule
from shared.tasks.dispatch import start_task
from shared.tasks.leases import attempt_of, lapsed_for
from shared.tasks.lifecycle import announce, announce_transition, set_condition, transition
from shared.tasks.queue import drain
from shared.tasks.repository import live, live_shards, result_key, tasks, unmark_live

log = get_logger("scheduler")

# How old a live entry without a task must be before a tick drops it. The create path writes the entry
# just before the task (shared.tasks.service.store_new_task): a tick that reads it in that gap finds no
# task yet, and dropping the entry then would leave the new task unwatched (no timeout, no read-back).
# The gap is one PutItem, milliseconds, or seconds with the client's retries under throttling; half a
# minute covers that with room, and an entry a failed create left behind goes at the next tick after.
LIVE_ENTRY_GRACE_SECONDS = 30


def on_tick(event: Event | None = None) -> None:
    run_tick()


def run_tick(now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    waiting: set[str] = set()  # namespaces with tasks waiting for a slot (concurrency cap)
    for shard in live_shards():
        cursor = None
        while True:
            entries, cursor = live.list_page(shard, limit=200, cursor=cursor)
            for entry in entries:
                try:
                    if check_task(entry.doc["namespace"], entry.doc["name"], now, listed_at=entry.updated):
                        waiting.add(entry.doc["namespace"])
                except Exception:  # one bad task must not stop the tick for the others
                    log.exception("scheduler check failed", extra={"fields": {"task": entry.name}})
            if cursor is None:
                break
    if waiting:
        for namespace in sorted(waiting):
            try:
                drain(namespace, start_task)
            except Exception:
                log.exception("draining the task queue failed", extra={"fields": {"namespace": namespace}})


def _since(stamp: str | None, now: datetime) -> float:
    return (now - parse_rfc3339(stamp)).total_seconds() if stamp else 0.0


def check_task(namespace: str, name: str, now: datetime, *, listed_at: int | None = None) -> bool:
    """One task's checks; True when it is Pending in a namespace with a concurrency cap (it waits in line).
    `listed_at`: when its live entry was written (epoch seconds; None: unknown, taken as long ago)."""
    record = tasks.get(namespace, name)
    if record is None:
        if listed_at is None or now.timestamp() - listed_at > LIVE_ENTRY_GRACE_SECONDS:
            unmark_live(namespace, name)
        return False
    spec, status = record.doc.get("spec", {}), record.doc.get("status", {})
    phase = status.get("phase") or "Pending"
    if phase == "Running":
        if _read_back(record):
            return False
        limit = parse_go_duration(spec["timeout"]) if spec.get("timeout") else 0.0
        started = status.get("phaseTransitionTime") or status.get("startTime")
        if limit > 0 and _since(started, now) > limit:
            _time_out(namespace, name, spec["timeout"])  # its own limit first: it says more than a lost beat
        elif (idle := lapsed_for(record, now)) is not None:
            _reclaim(record, idle)
        return False
    if phase in TERMINAL_PHASES:
        if phase == "Failed" and status.get("nextRetryTime"):
            if not spec.get("suspend") and parse_rfc3339(status["nextRetryTime"]) <= now:
                retries = (spec.get("retryPolicy") or {}).get("maxRetries", 0)
                transition(namespace, name, "Pending", only_from=frozenset({"Failed"}),
                           message=f"retry {status.get('attempts', 1)} of {retries}")
            return False
        # Still in the live index: the process that finished it may have died before announcing it.
        # Announce again (the same id, so consumers that had it see nothing new), then let it go.
        announce_transition("dev.shoal.task.finished", record)
        unmark_live(namespace, name)
        return False
    if spec.get("suspend"):
        return False
    if phase == "Scheduled":
        fire_schedule(record, now)
    elif phase == "Pending" and not status.get("jobName"):
        if queue.cap() > 0:
            queue.enqueue(record)  # idempotent; also recovers a lost created event
            return True
        since = status.get("redispatchTime") or status.get("phaseTransitionTime") or \
            record.doc.get("metadata", {}).get("creationTimestamp")
        if _since(since, now) > get_settings().redispatch_after_seconds:
            _redispatch(record)
    return False


def _read_back(record: Record) -> bool:
    """Finish a Running task whose job ended (Kubernetes); a container task's logs become its result."""
    executor = get_executor()
    try:
        outcome = executor.poll(record)
    except ExecutorError:
        log.exception("job status unavailable", extra={"fields": {"task": record.name}})
        return False
    if outcome is None:
        return False
    if record.doc.get("spec", {}).get("type") == "container":
        _save_container_output(record, executor)
    reason = outcome.reason

    def mark(status: dict[str, Any]) -> None:
        if reason:
            set_condition(status, reason, True, reason, outcome.message)

    transition(record.namespace, record.name, outcome.phase, message=outcome.message,
               only_from=frozenset({"Running"}), attempt=attempt_of(record.doc), also=mark)
    return True


def _reclaim(record: Record, idle: float) -> None:
    """Fail the attempt whose worker stopped heartbeating (reason WorkerLost); retryPolicy then
    decides, as for any failure. The write is fenced by the attempt: if the worker reported (or a
    newer attempt started) since this tick read the task, nothing happens."""
    attempt = attempt_of(record.doc)
    message = f"worker lost: no heartbeat for {idle:.0f}s (attempt {attempt})"
    moved = transition(record.namespace, record.name, "Failed", message=message, attempt=attempt,
                       only_from=frozenset({"Running"}),
                       also=lambda status: set_condition(status, WORKER_LOST, True, WORKER_LOST, message))
    if moved is None:
        return
    log.warning("reclaimed a task whose worker was lost",
                extra={"fields": {"task": record.name, "namespace": record.namespace, "attempt": attempt,
                                  "idle_seconds": round(idle, 1)}})
    # A worker that is only hung would keep going: stop its job (Kubernetes: its Job; the local
    # worker stops itself when its next heartbeat is refused as a stale attempt).
    with contextlib.suppress(ExecutorError):
        get_executor().stop(record.namespace, record.name)


def _save_container_output(record: Record, executor: Any) -> None:
    try:
        output = executor.logs(record) or ""
    except ExecutorError:
        return
    if not output:
        return
    data = output.encode()[: get_settings().max_result_bytes]
    put_blob(result_key(record.namespace, record.name), data, "text/plain")

    def mark(doc: dict[str, Any]) -> None:
        status = doc.setdefault("status", {})
        status["resultRef"] = {"available": True, "size": len(data)}
        set_condition(status, "ResultAvailable", True, "PodLogs")

    saved = tasks.update(record.namespace, record.name, mark, claim_seq=True)
    announce("dev.shoal.task.result.saved", saved, size=len(data))


def _time_out(namespace: str, name: str, timeout: str) -> None:
    message = f"task timed out after {timeout}"
    moved = transition(namespace, name, "Failed", message=message, only_from=frozenset({"Running"}),
                       also=lambda status: set_condition(status, "TimedOut", True, "Timeout", message))
    if moved is not None:
        with contextlib.suppress(ExecutorError):
            get_executor().stop(namespace, name)


def _redispatch(record: Record) -> None:
    claimed: dict[str, bool] = {}

    def stamp(doc: dict[str, Any]) -> bool:
        status = doc.setdefault("status", {})
        if status.get("phase", "Pending") != "Pending" or status.get("jobName") or \
                status.get("redispatchTime", "") != record.doc.get("status", {}).get("redispatchTime", ""):
            return False
        status["redispatchTime"] = now_rfc3339()
        claimed["ok"] = True
        return True

    updated = tasks.update(record.namespace, record.name, stamp, claim_seq=True)
    if claimed:
        log.info("redispatching pending task", extra={"fields": {"task": record.name}})
        announce("dev.shoal.task.retried", updated)
