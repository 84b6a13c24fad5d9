"""Task operations shared by every entry point (REST, chat tools, jobs dialect, GitHub triggers)."""

from __future__ import annotations

from typing import Any

from shared.auth.authorization import Permission, authorize
from shared.auth.namespaces import resolve_namespace
from shared.auth.principal import Principal
from shared.store import Record
from shared.tasks.lifecycle import announce, transition
from shared.tasks.repository import tasks


def create_task(body: Any, principal: Principal, *, namespace_hint: str | None = None,
                server_labels: dict[str, str] | None = None,
                server_annotations: dict[str, str] | None = None) -> Record:
    """Validate a create request in Orka's order, store the task (409 on duplicates), announce it.

    `server_labels`/`server_annotations` are stamped by the caller's code (e.g. the chat
    orchestrator's `orka.ai/*` labels) after validation, so clients can never set them.
    """
    from shared.auth.stamping import stamp_task
    from shared.tasks.validation import build_task, reject_server_stamped  # pydantic: first create pays

    reject_server_stamped(body)
    explicit_ns, doc = build_task(body, namespace_hint=namespace_hint)
    namespace = resolve_namespace(principal, explicit_ns)
    # Step 7: whoever calls (REST, chat tools, compat tools, triggers) needs `create tasks` there.
    authorize(principal, Permission("tasks", "create"), namespace)
    stamp_task(doc, principal)
    doc["metadata"]["labels"].update(server_labels or {})
    doc["metadata"]["annotations"].update(server_annotations or {})
    record = tasks.create(namespace, doc["metadata"]["name"], doc, exists_message="task already exists")
    announce("dev.shoal.task.created", record)
    return record


def task_view(record: Record) -> dict[str, Any]:
    """The Task as the API returns it: metadata carries namespace and resourceVersion."""
    doc = dict(record.doc)
    doc["metadata"] = {**doc["metadata"], "namespace": record.namespace, "resourceVersion": str(record.version)}
    return doc


def cancel_task(namespace: str, name: str, reason: str | None = None) -> Record | None:
    """Move a non-terminal task to Cancelled (the dispatcher then stops its work); None if already terminal."""
    from shared.models.phases import TERMINAL_PHASES, TRANSITIONS

    live = frozenset(p for p in TRANSITIONS if p not in TERMINAL_PHASES)
    return transition(namespace, name, "Cancelled", message=reason or "cancelled", only_from=live)
