"""Worker leases and attempt fencing (docs/reliability.md, "Leases and reclaim").

A worker holds a lease on its task attempt and renews it by heartbeating
(`POST /internal/v1/heartbeat/<ns>/<task>` with `{"attempt": N}`) every lease/3. The scheduler's
tick, which already visits every Running task through the live index, reclaims an attempt whose
lease lapsed: the worker, its dispatcher (and its watcher thread) or the whole platform died.

- `task-lease` (partition = namespace, name = task): `{"attempt": N, "renewed": epoch seconds}`.
  A record of its own, so a heartbeat never rewrites the task document (which may live in the
  bucket) nor bumps its resourceVersion; the write never moves the lease back to an older attempt.
- Fencing: the attempt is the fencing token. Every report of a worker carries it (the heartbeat
  body, else the `X-Shoal-Task-Attempt` header); a report is accepted only while that attempt is the
  task's current one and still running, otherwise 409 `stale attempt`. Phase changes check it inside
  the task's own conditional write, so a reclaim and a late report can never both win.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from shared.clock import parse_rfc3339
from shared.config import get_settings
from shared.errors import Conflict, Invalid
from shared.models.worker_contract import ATTEMPT_HEADER, WORKER_TYPES
from shared.store import AlreadyExists, ObjectStore, Record

leases = ObjectStore("task-lease")

STALE_ATTEMPT = "stale attempt"
RUNNING_PHASES = frozenset({"Running", "Finalizing"})


def attempt_of(doc: dict[str, Any]) -> int:
    return int(doc.get("status", {}).get("attempts", 0))


def is_current(doc: dict[str, Any], attempt: int) -> bool:
    """The attempt is the task's latest and is still running (not reclaimed, timed out or finished)."""
    status = doc.get("status", {})
    return attempt_of(doc) == attempt and (status.get("phase") or "Pending") in RUNNING_PHASES


def require_current(record: Record, attempt: int | None) -> None:
    """409 `stale attempt` when a worker reports for an attempt that is no longer the running one.

    `attempt` None: the caller did not say (an older worker, a test, an operator); not fenced.
    """
    if attempt is not None and not is_current(record.doc, attempt):
        raise Conflict(STALE_ATTEMPT)


def parse_attempt(value: Any, *, field: str = ATTEMPT_HEADER) -> int | None:
    """A reported attempt: a positive integer (a string from a header), or None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Invalid(f"{field} must be a positive integer")
    try:
        attempt = int(value)
    except (TypeError, ValueError):
        raise Invalid(f"{field} must be a positive integer") from None
    if attempt < 1 or (isinstance(value, float) and value != attempt):
        raise Invalid(f"{field} must be a positive integer")
    return attempt


def renew(record: Record, attempt: int, *, now: float | None = None) -> None:
    """Record a heartbeat of `attempt` (already checked to be current by the caller)."""
    stamp = time.time() if now is None else now
    doc = {"attempt": attempt, "renewed": stamp}
    try:
        leases.create(record.namespace, record.name, doc)
        return
    except AlreadyExists:
        pass

    def mutate(stored: dict[str, Any]) -> bool:
        if int(stored.get("attempt", 0)) > attempt:
            return False  # a newer attempt holds it: a late beat must not overwrite its lease
        stored.update(doc)
        return True

    leases.update(record.namespace, record.name, mutate)


def lapsed_for(record: Record, now: datetime) -> float | None:
    """Seconds since the attempt was last known alive, when that exceeds its allowance; else None.

    The allowance is the lease from the last heartbeat of this attempt, or lease + startup grace
    from when the attempt entered Running when it has not heartbeated yet (a heartbeat of an older
    attempt does not count). Tasks without a worker (container tasks) hold no lease.
    """
    doc = record.doc
    if doc.get("spec", {}).get("type") not in WORKER_TYPES or (doc.get("status", {}).get("phase")) != "Running":
        return None
    settings = get_settings()
    attempt = attempt_of(doc)
    lease = leases.get(record.namespace, record.name)
    if lease is not None and int(lease.doc.get("attempt", 0)) == attempt:
        idle, allowance = now.timestamp() - float(lease.doc.get("renewed", 0)), settings.task_lease_seconds
    else:
        started = doc.get("status", {}).get("phaseTransitionTime") or doc.get("status", {}).get("startTime")
        if not started:
            return None
        idle = (now - parse_rfc3339(started)).total_seconds()
        allowance = settings.task_lease_seconds + settings.task_startup_grace_seconds
    return idle if idle > allowance else None


def drop(namespace: str, name: str) -> None:
    """Forget a deleted task's lease."""
    leases.delete(namespace, name)
