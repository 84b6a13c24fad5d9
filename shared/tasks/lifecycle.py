"""Phase transitions: conditional on the stored version, announced as events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.clock import now_rfc3339, rfc3339_after
from shared.events import build
from shared.events.outbox import publish
from shared.logs import get_logger
from shared.models.phases import TERMINAL_PHASES, TRANSITIONS
from shared.observability import metrics
from shared.store import Record
from shared.tasks.feed import append_feed
from shared.tasks.repository import TASK_NOT_FOUND, mark_live, tasks, unmark_live
from shared.tasks.retry import retry_delay

log = get_logger("tasks")


def set_condition(status: dict[str, Any], type_: str, value: bool, reason: str, message: str = "") -> None:
    """Upsert one Kubernetes-style condition."""
    conditions = [c for c in status.get("conditions", []) if c.get("type") != type_]
    conditions.append({"type": type_, "status": "True" if value else "False", "reason": reason,
                       "message": message, "lastTransitionTime": now_rfc3339()})
    status["conditions"] = conditions


def transition(namespace: str, name: str, to: str, *, message: str | None = None,
               only_from: frozenset[str] | None = None,
               also: Callable[[dict[str, Any]], None] | None = None,
               attempt: int | None = None, current: Record | None = None) -> Record | None:
    """Move the task to phase `to` if allowed from its current phase; None when it was not.

    The write is conditional on the version that was read, so two replicas can never both make
    the same transition (the loser re-reads, sees the new phase and gets None). With `attempt`, only
    while that is still the task's attempt: the fence between a worker's late report and a reclaim.
    `current`: the task as the caller just read it (saves reading it again; a conflict re-reads).
    """
    moved: dict[str, bool] = {}
    was_terminal: dict[str, bool] = {}

    def mutate(doc: dict[str, Any]) -> bool:
        status = doc.setdefault("status", {})
        phase = status.get("phase") or "Pending"
        allowed = to in TRANSITIONS.get(phase, frozenset())
        if attempt is not None and int(status.get("attempts", 0)) != attempt:
            allowed = False
        if not allowed or (only_from is not None and phase not in only_from):
            moved["ok"] = False
            return False
        status["phase"] = to
        was_terminal["yes"] = phase in TERMINAL_PHASES
        if message is not None:
            status["message"] = message
        stamp = now_rfc3339()
        status["phaseTransitionTime"] = stamp  # the scheduler measures timeouts and lost dispatches from it
        if to == "Pending":
            status.pop("jobName", None)  # the next attempt gets its own job
        if to == "Running":
            status.setdefault("startTime", stamp)
            status["attempts"] = int(status.get("attempts", 0)) + 1
        status.pop("nextRetryTime", None)
        if to in TERMINAL_PHASES:
            status["completionTime"] = stamp
            set_condition(status, "Complete", to == "Succeeded", to, message or "")
            if to == "Failed":
                delay = retry_delay(doc.get("spec", {}), int(status.get("attempts", 0)))
                if delay is not None:  # the scheduler moves it back to Pending when this passes
                    status["nextRetryTime"] = rfc3339_after(delay)
        if also:
            also(status)
        moved["ok"] = True
        return True

    # Back to Pending = a retry or the next autonomous iteration: the dispatcher starts it again.
    event_type = {"Running": "dev.shoal.task.started", "Pending": "dev.shoal.task.retried"}.get(to)
    if to in TERMINAL_PHASES:
        event_type = "dev.shoal.task.finished"
    # An announced move takes its feed record's number with the write (shared.tasks.feed)
    record = tasks.update(namespace, name, mutate, not_found_message=TASK_NOT_FOUND, current=current,
                          claim_seq=event_type is not None)
    if not moved.get("ok"):
        return None
    metrics.record_task_transition(to)
    status = record.doc.get("status", {})
    if to not in TERMINAL_PHASES and was_terminal.get("yes"):
        # Leaving a terminal phase (a retry): back into the live index. A task in a live phase is
        # in it already (created with its entry; only terminal tasks leave it).
        mark_live(namespace, name)
    if event_type:
        announce_transition(event_type, record)
    # Only after the announcement: a process that dies in between leaves the task in the live index,
    # and the scheduler's tick announces it again (same id: consumers see it once).
    if to in TERMINAL_PHASES and not status.get("nextRetryTime"):
        unmark_live(namespace, name)
    return record


TRANSITION_SOURCE = "/shoal/tasks"
PHASE_ATTRIBUTE = "taskphase"  # a CloudEvents extension of every task event (knative/triggers.yaml)


def announce_transition(event_type: str, record: Record) -> None:
    """Announce the task's current phase with an id derived from the transition itself (uid, phase,
    attempt, transition time), so announcing the same transition twice is one event to consumers."""
    status, metadata = record.doc.get("status", {}), record.doc.get("metadata", {})
    ident = "-".join(str(part) for part in (metadata.get("uid") or f"{record.namespace}/{record.name}",
                                            status.get("phase"), status.get("attempts", 0),
                                            status.get("phaseTransitionTime", "")))
    announce(event_type, record, _event_id=ident)


def event_data(event_type: str, namespace: str, name: str, doc: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The data of a task event (and of its feed record) for the task document `doc`."""
    from shared.events.registry import data_for  # pydantic models: loaded on the first event, not at import
    status = doc.get("status", {})
    return data_for(event_type, namespace=namespace, name=name, type=doc["spec"]["type"],
                    phase=status.get("phase"), message=status.get("message"), **extra)


def announce(event_type: str, record: Record, *, _event_id: str | None = None,
             written: dict[str, Any] | None = None, **extra: Any) -> None:
    """Emit a task event and append it to the task's feed; a sink failure is logged, never turned into a
    lost state change. `written`: the event's data, whose feed record the caller wrote already."""
    doc = record.doc
    phase = doc.get("status", {}).get("phase")
    data = written if written is not None else event_data(event_type, record.namespace, record.name, doc, **extra)
    identity = {"id": _event_id, "source": TRANSITION_SOURCE} if _event_id else {}
    # `taskphase`: the phase as an attribute Triggers can filter on (the dispatcher takes only the
    # created events of Pending tasks; a cron parent is created Scheduled and needs nothing from it).
    publish(build(event_type, data, subject=f"{record.namespace}/{record.name}",
                  extensions={PHASE_ATTRIBUTE: phase} if phase else None, **identity))  # parked if down
    if written is not None:
        return
    try:  # the task's own feed (GET /stream); a failure here must not undo the state change either
        append_feed(record, event_type.removeprefix("dev.shoal."), data)
    except Exception:
        log.exception("feed append failed", extra={"fields": {"type": event_type, "task": record.name}})
