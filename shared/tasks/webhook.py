"""`spec.webhookURL`: notify the client once a task has finished for good (Orka's payload and headers).

Sent through the SSRF-guarded outbound client; a refused address is recorded on the task as a
`WebhookDelivered=False` condition (retrying cannot help), a failed delivery raises so the broker
retries the event and finally dead-letters it.
"""

from __future__ import annotations

from shared.events import Event
from shared.logs import get_logger
from shared.models.phases import TERMINAL_PHASES
from shared.net.outbound import BlockedURL, outbound_client
from shared.net.pool import pooled
from shared.tasks.child_status import on_child_finished
from shared.tasks.lifecycle import set_condition
from shared.tasks.repository import tasks

log = get_logger("webhook")


def on_task_finished(event: Event) -> None:
    """A task finished: record it on its parent (`status.childTasks`), then notify its webhookURL."""
    on_child_finished(event)
    notify_webhook(event)


def notify_webhook(event: Event) -> None:
    data = event.data or {}
    record = tasks.get(data["namespace"], data["name"])
    if record is None:
        return
    spec, status = record.doc.get("spec", {}), record.doc.get("status", {})
    url = spec.get("webhookURL")
    if not url or status.get("phase") not in TERMINAL_PHASES or status.get("nextRetryTime"):
        return  # nothing to notify, or a retry follows: notify when it is final
    payload = {"taskName": record.name, "taskNamespace": record.namespace, "phase": status.get("phase"),
               "message": status.get("message"), "startTime": status.get("startTime"),
               "completionTime": status.get("completionTime"), "attempts": status.get("attempts", 0),
               "resultRef": status.get("resultRef", {})}
    headers = {"X-Orka-Task": record.name, "X-Orka-Namespace": record.namespace}
    try:
        response = pooled("webhooks", lambda: outbound_client(timeout=10.0)).post(url, json=payload, headers=headers)
    except BlockedURL as exc:
        _record(record.namespace, record.name, False, "Blocked", exc.message)
        return
    if response.status_code >= 400:
        raise RuntimeError(f"webhook answered {response.status_code}")  # the broker retries the event
    _record(record.namespace, record.name, True, "Delivered", f"HTTP {response.status_code}")


def _record(namespace: str, name: str, ok: bool, reason: str, message: str) -> None:
    tasks.update(namespace, name,
                 lambda doc: set_condition(doc.setdefault("status", {}), "WebhookDelivered", ok, reason, message))
