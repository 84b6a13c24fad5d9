"""Task operations shared by every entry point (REST, chat tools, jobs dialect, GitHub triggers)."""

from __future__ import annotations

import contextlib
from typing import Any

from shared.auth.authorization import Permission, authorize
from shared.auth.namespaces import resolve_namespace
from shared.auth.principal import Principal
from shared.auth.stamping import stamp_task
from shared.models.phases import TERMINAL_PHASES, TRANSITIONS
from shared.observability import metrics
from shared.redact import redact
from shared.store import AlreadyExists, Record
from shared.store.batch import put_items
from shared.tasks import child_slots, leases
from shared.tasks.feed import FIRST, drop_first_record, first_record
from shared.tasks.lifecycle import announce, event_data, transition
from shared.tasks.repository import (
    PARENT_LABEL,
    child_partition,
    children,
    live_entry,
    resolved_agents,
    tasks,
    unmark_live,
)
from shared.tasks.usage import forget_usage, with_usage


def create_task(body: Any, principal: Principal, *, namespace_hint: str | None = None,
                server_labels: dict[str, str] | None = None,
                server_annotations: dict[str, str] | None = None, allow_git_credentials: bool = False) -> Record:
    """Validate a create request in Orka's order, store the task (409 on duplicates), announce it.

    `server_labels`/`server_annotations` are stamped by the caller's code (e.g. the chat
    orchestrator's `orka.ai/*` labels) after validation, so clients can never set them.
    """
    from shared.tasks.validation import build_task  # pydantic: first create pays

    explicit_ns, doc = build_task(body, namespace_hint=namespace_hint, allow_git_credentials=allow_git_credentials)
    namespace = resolve_namespace(principal, explicit_ns)
    # Step 7: whoever calls (REST, chat tools, compat tools, triggers) needs `create tasks` there.
    authorize(principal, Permission("tasks", "create"), namespace)
    stamp_task(doc, principal)
    doc["metadata"]["labels"].update(server_labels or {})
    doc["metadata"]["annotations"].update(server_annotations or {})
    return store_new_task(namespace, doc)


def store_new_task(namespace: str, doc: dict[str, Any]) -> Record:
    """Store a validated task document and its index entries, then announce it.

    The live-index entry and the created event's feed record are written first, in one batch (two
    store calls per create instead of three), so a task is never stored unindexed: the entry is the
    same whoever writes it, and the record's stream is named by the new task's uid, so nothing else
    can be there. A create that does not store the task (a duplicate: 409; an outage) deletes the
    record again, and the entry too when no task holds it. (Not one transaction of the three: a
    TransactWriteItems costs twice the write capacity of its items, and neither earlier write needs
    to be undone in the same step as a refused task.)
    """
    name = doc["metadata"]["name"]
    parent = doc["metadata"]["labels"].get(PARENT_LABEL)
    if parent:
        with contextlib.suppress(AlreadyExists):
            children.create(child_partition(namespace, parent), name, {"name": name})
    created = "dev.shoal.task.created"
    data = event_data(created, namespace, name, doc)  # the event's and its feed record's, built once
    put_items([live_entry(namespace, name), first_record(namespace, doc, created.removeprefix("dev.shoal."), data)])
    try:
        # its feed's sequence starts here: the created event's record took the first number
        record = tasks.create(namespace, name, doc, exists_message="task already exists", seq=FIRST)
    except AlreadyExists:
        drop_first_record(namespace, doc)
        raise
    except Exception:
        # Only now ask whether the task existed (its entry is then its own): the happy path
        # costs no read. If this read fails too, the scheduler's tick drops an entry without a task.
        with contextlib.suppress(Exception):
            drop_first_record(namespace, doc)
        with contextlib.suppress(Exception):
            if tasks.get(namespace, name) is None:
                unmark_live(namespace, name)
        raise
    record.claimed_seq = None  # used by the record written above
    metrics.record_task_transition(doc["status"]["phase"])  # a new task enters its first phase (Pending, Scheduled)
    announce(created, record, written=data)
    return record


def drop_indexes(record: Record) -> None:
    """Remove a deleted task's index entries and side records (worker lease, resolved agent, usage
    counters, child slots: its own as a parent, and as a child the one it held, waking a waiting sibling)."""
    parent = record.doc.get("metadata", {}).get("labels", {}).get(PARENT_LABEL)
    if parent:
        children.delete(child_partition(record.namespace, parent), record.name)
    child_slots.deleted(record)
    unmark_live(record.namespace, record.name)
    leases.drop(record.namespace, record.name)
    resolved_agents.delete(record.namespace, record.name)
    if "usage" in record.doc.get("status", {}):
        forget_usage(record.namespace, record.name)


def _view(record: Record) -> dict[str, Any]:
    """No credential-shaped value is shown (a labrats job's clone URL may carry a token: shared.redact)."""
    doc = dict(record.doc)
    doc["metadata"] = {**doc["metadata"], "namespace": record.namespace, "resourceVersion": str(record.version)}
    return redact(doc)


def task_view(record: Record) -> dict[str, Any]:
    """The Task as the API returns it: metadata carries namespace and resourceVersion; `status.usage`
    the live model-usage counters of a task whose runtime had a model token."""
    return task_views([record])[0]


def task_views(records: list[Record], figures: list[dict[str, int] | None] | None = None) -> list[dict[str, Any]]:
    """`task_view` of a page of records, reading the usage counters of the page in one batch (unless
    `figures` holds them, read beside the records: shared.tasks.usage.with_usage)."""
    return with_usage(records, [_view(r) for r in records], figures)


def cancel_task(namespace: str, name: str, reason: str | None = None, *, current: Record | None = None) -> Record | None:
    """Move a non-terminal task to Cancelled (the dispatcher then stops its work); None if already terminal.

    A failed task waiting for a retry is non-terminal in effect: cancelling it drops the retry.
    `current`: the task as the caller just read it (not read again; a conflict re-reads).
    """
    live_phases = frozenset(p for p in TRANSITIONS if p not in TERMINAL_PHASES)
    moved = transition(namespace, name, "Cancelled", message=reason or "cancelled", only_from=live_phases,
                       current=current)
    if moved is None:
        record = tasks.get(namespace, name)
        if record is not None and record.doc.get("status", {}).get("nextRetryTime"):
            def drop_retry(doc: dict[str, Any]) -> None:
                doc["status"].pop("nextRetryTime", None)
                doc["status"]["message"] = reason or "cancelled"
            tasks.update(namespace, name, drop_retry)
            unmark_live(namespace, name)
    return moved
