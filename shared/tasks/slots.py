"""Slot pools: at most N tasks hold a slot, kept in one versioned record per pool.

Used for the per-namespace concurrency cap (`shared.tasks.queue`) and for a coordinator's
`maxConcurrentChildren` (`shared.tasks.child_slots`). The record's document is
`{"tasks": {<task>: {"at": epoch seconds, "attempt": N}}, "limit": N}`; a claim is a conditional
(versioned) write that refuses to go past the limit, so two dispatcher replicas claiming the last slot
at once admit exactly one (the loser re-reads and sees the pool full). A slot is released when its task
ends; a slot whose task is no longer running (a lost event) is reclaimed after CLAIM_GRACE_SECONDS.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.logs import get_logger
from shared.store import AlreadyExists, ObjectStore, Record
from shared.store.objects import get_together
from shared.tasks.repository import tasks

log = get_logger("dispatcher.slots")
HOLDING_PHASES = frozenset({"Running", "Finalizing"})
# A claim is followed at once by the Running transition; older claims whose task is not running are stale.
CLAIM_GRACE_SECONDS = 60.0


@dataclass(frozen=True)
class Pool:
    """One pool: the record (store, partition, name) and the namespace of the tasks in it."""

    store: ObjectStore
    namespace: str
    partition: str
    name: str

    def read(self) -> dict[str, Any] | None:
        record = self.store.get(self.partition, self.name)
        return record.doc if record is not None else None


def _change(pool: Pool, mutate: Callable[[dict[str, Any]], bool]) -> None:
    """Apply `mutate` to the pool's document under its version check (one read, one conditional write);
    a pool that does not exist yet is created when `mutate` changes the empty one."""
    for _ in range(8):
        current = pool.store.get(pool.partition, pool.name)
        if current is None:
            doc: dict[str, Any] = {"tasks": {}}
            if mutate(doc) is False:
                return
            try:
                pool.store.create(pool.partition, pool.name, doc)
                return
            except AlreadyExists:
                continue
        pool.store.update(pool.partition, pool.name, mutate, current=current)  # a conflict re-reads
        return


def claim(pool: Pool, name: str, attempt: int, limit: int) -> str:
    """"claimed", "held" (this attempt of the task holds a slot already) or "full"."""
    outcome = {"v": "full"}

    def mutate(doc: dict[str, Any]) -> bool:
        holders = doc.setdefault("tasks", {})
        mine = holders.get(name)
        if mine is not None and mine.get("attempt") == attempt:
            outcome["v"] = "held"
            return False
        if mine is None and len(holders) >= limit:
            outcome["v"] = "full"
            return False
        holders[name] = {"at": time.time(), "attempt": attempt}  # new, or replacing an earlier attempt's
        doc["limit"] = limit  # what a release needs to know how many waiting tasks to wake
        outcome["v"] = "claimed"
        return True

    _change(pool, mutate)
    return outcome["v"]


def release(pool: Pool, name: str, *, unless_attempt: int | None = None,
            through_attempt: int | None = None) -> bool:
    """Free the task's slot; True when it held one. `unless_attempt`: keep it when held by that attempt;
    `through_attempt`: free it only when held by that attempt or an earlier one (a late event of an
    ended attempt never frees the slot its next attempt claimed)."""
    released = {"v": False}

    def mutate(doc: dict[str, Any]) -> bool:
        mine = doc.get("tasks", {}).get(name)
        if mine is None or (unless_attempt is not None and mine.get("attempt") == unless_attempt):
            return False
        if through_attempt is not None and int(mine.get("attempt", 0)) > through_attempt:
            return False
        del doc["tasks"][name]
        released["v"] = True
        return True

    _change(pool, mutate)  # an empty pool is not created: nothing to free
    return released["v"]


def startable(record: Record | None) -> bool:
    """A task that would start if it got a slot: Pending, no job yet, neither suspended nor a cron parent
    (those never hold one)."""
    if record is None:
        return False
    spec, status = record.doc.get("spec", {}), record.doc.get("status", {})
    return (status.get("phase") or "Pending") == "Pending" and not status.get("jobName") \
        and not spec.get("suspend") and not spec.get("schedule")


def next_attempt(record: Record) -> int:
    """The attempt a Pending task is about to start (its Running transition counts it): what a claim holds."""
    return int(record.doc.get("status", {}).get("attempts", 0)) + 1


def ended_attempt(record: Record) -> int:
    """The last attempt a task's finished event can be about: its attempts, less the one that runs again
    (a retry started since, or the next iteration), whose slot must stay. `release(through_attempt=)`."""
    status = record.doc.get("status", {})
    attempts = int(status.get("attempts", 0))
    return attempts - 1 if (status.get("phase") or "Pending") in HOLDING_PHASES else attempts


def reclaim_stale(pool: Pool) -> bool:
    """Drop slots held past the grace period by tasks that no longer run; True when any was dropped."""
    doc = pool.read()
    if doc is None:
        return False
    now = time.time()
    old = [(name, held) for name, held in doc.get("tasks", {}).items()
           if now - float(held.get("at", 0)) >= CLAIM_GRACE_SECONDS]
    found = get_together(*((tasks, pool.namespace, name) for name, _ in old))  # one round trip
    stale = {(name, held.get("attempt")) for (name, held), task in zip(old, found, strict=True)
             if task is None or (task.doc.get("status", {}).get("phase") or "Pending") not in HOLDING_PHASES}
    if not stale:
        return False

    def mutate(doc: dict[str, Any]) -> bool:
        holders = doc.get("tasks", {})
        gone = [n for n, a in stale if n in holders and holders[n].get("attempt") == a]
        for name in gone:
            del holders[name]
        return bool(gone)

    pool.store.update(pool.partition, pool.name, mutate)
    log.info("reclaimed stale task slots", extra={"fields": {"namespace": pool.namespace, "pool": pool.name,
                                                            "tasks": sorted(n for n, _ in stale)}})
    return True
