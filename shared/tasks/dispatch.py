"""What the dispatcher does with task events."""

from __future__ import annotations

import contextlib

from shared.errors import NotFound
from shared.events import Event
from shared.executor.base import ExecutorError
from shared.executor.factory import get_executor
from shared.executor.sandbox import requested
from shared.logs import get_logger
from shared.models.worker_contract import WORKER_LOST
from shared.store import AlreadyExists, Record
from shared.tasks import child_slots, queue, slots
from shared.tasks.agent_setup import needs_resolution, resolve_for_dispatch
from shared.tasks.cron import start_schedule
from shared.tasks.leases import is_current
from shared.tasks.lifecycle import set_condition, transition
from shared.tasks.repository import resolved_agents, tasks

log = get_logger("dispatcher")


def on_task_created(event: Event) -> None:
    """Claim the Pending task (conditional write), then start it; a start failure fails the task."""
    data = event.data or {}
    namespace, name = data["namespace"], data["name"]
    if data.get("phase", "Pending") != "Pending":
        return  # announced in another phase (a cron parent is created Scheduled): nothing to start, no read
    record = tasks.get(namespace, name)
    if record is None or record.doc.get("status", {}).get("phase", "Pending") != "Pending":
        return  # deleted meanwhile, or already dispatched by an earlier delivery
    if record.doc.get("spec", {}).get("suspend"):
        return
    if record.doc.get("spec", {}).get("schedule"):
        start_schedule(record)  # a cron parent created suspended, now resumed: the scheduler creates its runs
        return

    if queue.cap() > 0:
        # A concurrency cap: wait in line; the highest-priority waiting task starts when a slot is free.
        queue.release_slot(namespace, name, unless_attempt=slots.next_attempt(record))
        queue.enqueue(record)
        queue.drain(namespace, start_task)
        return
    start_task(record)


def start_task(record: Record) -> bool:
    """Claim the Pending task (conditional write) and start its job; False when it was not Pending, or
    is a delegated child waiting for a slot under its parent's `maxConcurrentChildren`."""
    namespace, name = record.namespace, record.name
    if not child_slots.admit(record):
        return False
    try:
        claimed = transition(namespace, name, "Running", only_from=frozenset({"Pending"}), current=record,
                             also=child_slots.admitted)
    except Exception:  # deleted meanwhile, or the store failed: the child slot must not leak
        with contextlib.suppress(Exception):  # (the reclaim of stale slots is the net if this fails too)
            child_slots.not_started(record)
        raise
    if claimed is None:
        child_slots.not_started(record)
        return False
    try:
        _save_resolution(claimed)
        job = get_executor().start(claimed, worker_exited)
    except (ExecutorError, NotFound) as exc:
        transition(namespace, name, "Failed", message=str(exc), attempt=_attempt(claimed))

        queue.release_slot(namespace, name)  # nothing runs: the slot is free at once
        return True
    tasks.update(namespace, name, lambda doc: doc.setdefault("status", {}).update(jobName=job), current=claimed)
    return True


def worker_exited(namespace: str, name: str, attempt: int, message: str) -> None:
    """The local executor's watcher saw the attempt's worker end: fail the attempt (WorkerLost)
    unless the worker reported first or the attempt was already cancelled, timed out or reclaimed."""
    record = tasks.get(namespace, name)
    if record is None or not is_current(record.doc, attempt):
        return
    transition(namespace, name, "Failed", message=message, attempt=attempt,
               only_from=frozenset({"Running", "Finalizing"}),
               also=lambda status: set_condition(status, WORKER_LOST, True, WORKER_LOST, message))


def _attempt(record: Record) -> int:
    return int(record.doc.get("status", {}).get("attempts", 0))


def _save_resolution(record: Record) -> None:
    """Resolve the task's Agent/Skills/Tools for the attempt being started and store it.

    The worker has no store access, so what `agentRef`, `skills` and `tools` name is resolved here
    (a missing one raises NotFound and fails the task with its message); the worker reads the answer
    with its spec through the worker API, so neither travels in its environment (whose single
    variables are capped at 128 KiB).
    """
    spec = record.doc.get("spec", {})
    if not needs_resolution(spec):
        return
    doc = {"attempt": _attempt(record), "agent": resolve_for_dispatch(record.namespace, spec)}
    try:
        resolved_agents.create(record.namespace, record.name, doc)
    except AlreadyExists:  # an earlier attempt's: this attempt's replaces it
        resolved_agents.update(record.namespace, record.name, lambda stored: stored.update(doc))


def on_task_finished(event: Event) -> None:
    """A task ended: stop its job if needed; a delegated child frees its parent's child slot and wakes
    the waiting siblings; with a concurrency cap, free its slot and start the next."""
    record = on_task_stopped(event)
    data = event.data or {}
    if event.type == "dev.shoal.task.finished":  # a deleted child's slot was freed where it was deleted
        record = record if record is not None else tasks.get(data["namespace"], data["name"])
        child_slots.ended(record)

    if queue.cap() > 0:
        # A late finished event of an earlier attempt never frees the slot its retry holds now.
        through = slots.ended_attempt(record) if record is not None else None
        queue.release_slot(data["namespace"], data["name"], through_attempt=through)
        queue.drain(data["namespace"], start_task)


def on_task_stopped(event: Event) -> Record | None:
    """A task was deleted or cancelled: stop whatever runs for it (deleted: and remove its jobs' output). A
    sandboxed task that ended on its own: release its Sandbox by its cleanupPolicy. The task as read here
    (None when it was not read)."""
    data = event.data or {}
    record = None
    if event.type == "dev.shoal.task.finished" and data.get("phase") != "Cancelled":
        record = tasks.get(data["namespace"], data["name"])
        if not _timed_out(record):
            if record is not None and _sandboxed(record):
                try:
                    get_executor().release(data["namespace"], data["name"])
                except ExecutorError as exc:  # the Sandbox stays; say so rather than fail the event
                    log.warning("could not release the task's sandbox",
                                extra={"fields": {"task": data["name"], "error": str(exc)}})
            return record
    with contextlib.suppress(ExecutorError):  # nothing runs where no executor exists
        get_executor().stop(data["namespace"], data["name"])
        # A deleted task's job output goes with it, unless a task of that name exists again already
        # (its own files are there now).
        if event.type == "dev.shoal.task.deleted" and tasks.get(data["namespace"], data["name"]) is None:
            get_executor().forget(data["namespace"], data["name"])
    return record


def _timed_out(record: Record | None) -> bool:
    """A task the scheduler failed for its timeout: its job may still run (locally only we can stop it)."""
    conditions = record.doc.get("status", {}).get("conditions", []) if record else []
    return any(c.get("type") == "TimedOut" and c.get("status") == "True" for c in conditions)


def _sandboxed(record: Record) -> bool:
    return requested(record) is not None
