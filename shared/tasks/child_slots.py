"""Orka's `coordination.maxConcurrentChildren`: how many of a coordinator's delegated children run at once.

Which tasks it bounds, as in Orka's controller: a delegated child (the `orka.ai/coordination-depth`
annotation and the `orka.ai/parent-task` label), by the limit of its parent task's Agent. The limit is
the Agent's `maxConcurrentChildren`; unset, an Agent with `coordination.enabled` gets Orka's CRD
default (5); a parent that coordinates by its own spec (Shoal's opt-in, no Agent) is bounded the same
way by that block (`maxConcurrentChildren`, default 5); one that does not coordinate has no children (`shared.tasks.delegation` refuses them, as Orka does).

How: the dispatcher asks `admit` before its Pending → Running claim (`shared.tasks.dispatch.start_task`,
also behind the namespace cap's queue). Each parent has a slot pool (`shared.tasks.slots`, record
`task-child-slots` partition = namespace, name = parent) whose claim is a conditional write, so two
dispatcher replicas admitting children for the last slot at once admit exactly one. A child that finds
the pool full stays Pending, with the `ConcurrencyLimited` condition and message below. When a child
ends (its finished event: Succeeded, Failed, Cancelled, a reclaimed or timed-out attempt; or its
deletion) its slot is freed and as many waiting siblings as there are free slots are announced again
(`dev.shoal.task.retried`, oldest first), so the next starts at once; the scheduler's re-announce of
Pending tasks (`SHOAL_REDISPATCH_AFTER_SECONDS`) is the safety net, and a slot whose task no longer
runs (a lost event) is reclaimed when the pool is full.

Deliberately not Orka's: Orka counts Pending siblings as active, so two children waiting for the last
slot wait for each other forever; Shoal counts the children holding a slot (being started, Running,
Finalizing). Orka shows nothing on a waiting child (it requeues every 10 s and logs "coordination
concurrency limit reached"); Shoal says so on the task.
"""

from __future__ import annotations

from typing import Any

from shared.logs import get_logger
from shared.store import ObjectStore, Record
from shared.store.objects import get_together
from shared.tasks import slots
from shared.tasks.delegation import DEPTH_ANNOTATION, LEGACY_DEPTH_ANNOTATION, coordination_of
from shared.tasks.lifecycle import announce, set_condition
from shared.tasks.repository import PARENT_LABEL, child_partition, children, resolved_agents, tasks

log = get_logger("dispatcher.children")
_pools = ObjectStore("task-child-slots")  # partition = namespace, name = parent task
DEFAULT_LIMIT = 5  # Orka's CRD default (kubebuilder) when an Agent's coordination block omits it
CONDITION = "ConcurrencyLimited"
WAITING_REASON = "MaxConcurrentChildren"
_PREFIX = "coordination concurrency limit reached"


def waiting_message(parent: str, limit: int) -> str:
    return f'{_PREFIX}: parent task "{parent}" runs {limit} children (maxConcurrentChildren {limit}); waiting'


def _pool(namespace: str, parent: str) -> slots.Pool:
    return slots.Pool(_pools, namespace, namespace, parent)


def delegated_parent(record: Record) -> str | None:
    """The parent of a delegated child (Orka checks coordination only for tasks with the depth annotation)."""
    metadata = record.doc.get("metadata", {})
    annotations = metadata.get("annotations") or {}
    if DEPTH_ANNOTATION not in annotations and LEGACY_DEPTH_ANNOTATION not in annotations:
        return None
    return (metadata.get("labels") or {}).get(PARENT_LABEL) or None


def parent_limit(namespace: str, parent: str) -> int | None:
    """How many children the parent's Agent lets run at once; None for no limit."""
    record, resolved = get_together((tasks, namespace, parent), (resolved_agents, namespace, parent))
    if record is None:
        return None
    coordination = coordination_of(record, resolved)
    limit = coordination.get("maxConcurrentChildren")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        return limit
    return DEFAULT_LIMIT if coordination.get("enabled") else None


def admit(record: Record) -> bool:
    """True when the Pending task may start: it is not a bounded child, or it claimed a slot in its
    parent's pool. False: the pool is full; the task stays Pending, marked waiting."""
    parent = delegated_parent(record)
    limit = parent_limit(record.namespace, parent) if parent else None
    if parent is None or limit is None:
        return True
    pool = _pool(record.namespace, parent)
    outcome = slots.claim(pool, record.name, slots.next_attempt(record), limit)
    if outcome == "full" and slots.reclaim_stale(pool):
        outcome = slots.claim(pool, record.name, slots.next_attempt(record), limit)
    if outcome != "full":  # claimed, or held by this attempt already (a redelivery): the Running claim decides
        return True
    log.info("coordination concurrency limit reached",
             extra={"fields": {"task": record.name, "parent": parent, "max": limit}})
    _mark_waiting(record, waiting_message(parent, limit))
    return False


def _mark_waiting(record: Record, message: str) -> None:
    def mark(doc: dict[str, Any]) -> bool:
        status = doc.setdefault("status", {})
        if (status.get("phase") or "Pending") != "Pending" or status.get("jobName"):
            return False
        if status.get("message") == message and _waiting(status):
            return False  # marked already: no write per re-announce
        status["message"] = message
        set_condition(status, CONDITION, True, WAITING_REASON, message)
        return True

    tasks.update(record.namespace, record.name, mark, current=record)


def _waiting(status: dict[str, Any]) -> bool:
    return any(c.get("type") == CONDITION and c.get("status") == "True" for c in status.get("conditions", []))


def admitted(status: dict[str, Any]) -> None:
    """The Running transition of a task that waited: the condition turns False, the waiting message goes."""
    if not _waiting(status):
        return
    set_condition(status, CONDITION, False, "SlotClaimed", "")
    if str(status.get("message") or "").startswith(_PREFIX):
        status.pop("message", None)


def not_started(record: Record) -> None:
    """The Running claim failed after `admit`: free the slot unless the task runs (another delivery
    started this attempt and shares the slot)."""
    parent = delegated_parent(record)
    if parent is None:
        return
    now = tasks.get(record.namespace, record.name)
    if now is None or (now.doc.get("status", {}).get("phase") or "Pending") not in slots.HOLDING_PHASES:
        slots.release(_pool(record.namespace, parent), record.name, through_attempt=slots.next_attempt(record))


def ended(record: Record | None) -> None:
    """A task's finished event (read back after it): free its slot and wake waiting siblings.

    The slot is freed only when it was claimed for the attempt that ended or an earlier one: a late
    event never frees the slot a retry (its next attempt) holds."""
    parent = delegated_parent(record) if record is not None else None
    if record is None or parent is None:
        return
    slots.release(_pool(record.namespace, parent), record.name, through_attempt=slots.ended_attempt(record))
    wake(record.namespace, parent)


def deleted(record: Record) -> None:
    """A deleted task: free its slot as a child (and wake its siblings), and drop its own pool as a parent."""
    _pools.delete(record.namespace, record.name)
    parent = delegated_parent(record)
    if parent is not None and slots.release(_pool(record.namespace, parent), record.name):
        wake(record.namespace, parent)


def wake(namespace: str, parent: str) -> int:
    """Announce the oldest waiting children of `parent`, as many as its pool has free slots; how many."""
    doc = _pool(namespace, parent).read()
    if doc is None:
        return 0
    holders = doc.get("tasks", {})
    free = int(doc.get("limit", 0)) - len(holders)
    if free <= 0:
        return 0
    waiting: list[Record] = []
    cursor = None
    while True:  # the parent's children (a Query of the child index), read 100 at a time
        entries, cursor = children.list_page(child_partition(namespace, parent), limit=100, cursor=cursor)
        found = get_together(*((tasks, namespace, entry.name) for entry in entries))
        waiting += [r for r in found if r is not None and r.name not in holders and slots.startable(r)
                    and delegated_parent(r) is not None]
        if cursor is None:
            break
    waiting.sort(key=lambda r: (r.doc.get("metadata", {}).get("creationTimestamp", ""), r.name))
    for record in waiting[:free]:
        announce("dev.shoal.task.retried", record)
    return min(free, len(waiting))
