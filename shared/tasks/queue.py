"""Per-namespace concurrency cap and the priority queue of tasks waiting for a slot.

Off unless SHOAL_MAX_RUNNING_TASKS_PER_NAMESPACE > 0 (then nothing changes from dispatching at once).
With a cap, a Pending task is put in its namespace's waiting queue and the queue is drained in
order whenever a task is created or retried, a task finishes, or the scheduler ticks:
- `task-waiting` (partition = namespace): one record per waiting task, named
  "<1000-priority:04d>-<first enqueue µs:016d>-<task>", so a Query in key order yields the highest
  Orka priority first (0–1000, higher first) and FIFO within a priority; never a Scan.
  `task-waiting-member` (partition = namespace, name = task) keeps enqueueing idempotent.
- `task-slots` (partition = namespace, one record "running"): the tasks holding a slot, a pool of
  `shared.tasks.slots` (a claim is a conditional write that refuses to go past the cap, so two
  dispatcher replicas can never both start a task beyond it; a slot is released when its task
  finishes, or reclaimed when its task no longer runs).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from shared.config import get_settings
from shared.logs import get_logger
from shared.store import AlreadyExists, ObjectStore, Record, VersionConflict
from shared.tasks import slots
from shared.tasks.repository import tasks

log = get_logger("dispatcher.queue")
waiting = ObjectStore("task-waiting")
_members = ObjectStore("task-waiting-member")  # partition = namespace, name = task: its queue key
_slots = ObjectStore("task-slots")
SLOTS = "running"
DEFAULT_PRIORITY = 500


def cap() -> int:
    return max(0, int(get_settings().max_running_tasks_per_namespace))


def _priority(record: Record) -> int:
    try:
        return min(1000, max(0, int(record.doc.get("spec", {}).get("priority", DEFAULT_PRIORITY))))
    except (TypeError, ValueError):
        return DEFAULT_PRIORITY


def enqueue(record: Record) -> None:
    """Idempotently put a Pending task in its namespace's waiting queue.

    The key is fixed by the first enqueue (a member record per task), so a redelivered event or
    a scheduler tick never moves a task back in its line; microseconds keep FIFO within a second.
    """
    key = f"{1000 - _priority(record):04d}-{time.time_ns() // 1000:016d}-{record.name}"
    try:
        _members.create(record.namespace, record.name, {"key": key})
    except AlreadyExists:
        member = _members.get(record.namespace, record.name)
        key = member.doc.get("key", key) if member is not None else key
    with contextlib.suppress(AlreadyExists):
        waiting.create(record.namespace, key, {"name": record.name})


def _dequeue(namespace: str, key: str, name: str) -> None:
    waiting.delete(namespace, key)
    member = _members.get(namespace, name)
    if member is not None and member.doc.get("key") == key:
        with contextlib.suppress(VersionConflict):
            _members.delete(namespace, name, expected_version=member.version)


# -- slots ---------------------------------------------------------------------------------------
def _pool(namespace: str) -> slots.Pool:
    return slots.Pool(_slots, namespace, namespace, SLOTS)


def claim_slot(namespace: str, name: str, attempt: int, limit: int) -> str:
    """"claimed", "held" (another dispatcher is starting this attempt) or "full"."""
    return slots.claim(_pool(namespace), name, attempt, limit)


def release_slot(namespace: str, name: str, *, unless_attempt: int | None = None,
                 through_attempt: int | None = None) -> None:
    slots.release(_pool(namespace), name, unless_attempt=unless_attempt, through_attempt=through_attempt)


def reclaim_stale(namespace: str) -> bool:
    """Drop slots held past the grace period by tasks that no longer run; True when any was dropped."""
    return slots.reclaim_stale(_pool(namespace))


# -- draining ------------------------------------------------------------------------------------
def drain(namespace: str, start: Callable[[Record], bool]) -> None:
    """Start waiting tasks in priority order while slots are free.

    `start(record)` makes the Pending → Running claim and starts the job; False when another
    delivery got there first. The head of the queue is re-read after every change, so a task that
    arrives meanwhile with a higher priority is next.
    """
    limit = cap()
    if limit <= 0:
        return
    reclaimed = False
    while True:
        entries, _ = waiting.list_page(namespace, limit=10)
        changed = False
        for entry in entries:
            name = entry.doc.get("name", "")
            record = tasks.get(namespace, name)
            if not slots.startable(record):
                _dequeue(namespace, entry.name, name)
                changed = True
                break
            outcome = claim_slot(namespace, name, slots.next_attempt(record), limit)
            if outcome == "held":
                continue  # being started by another dispatcher right now; look at the next one
            if outcome == "full":
                if not reclaimed and reclaim_stale(namespace):
                    reclaimed = True
                    changed = True
                    break
                return
            try:
                started = start(record)
            except Exception:
                release_slot(namespace, name)
                raise
            if not started:
                release_slot(namespace, name)
            _dequeue(namespace, entry.name, name)
            changed = True
            break
        if not changed:
            return
