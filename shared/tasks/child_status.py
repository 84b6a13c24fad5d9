"""Orka's `status.childTasks[{name, agent, phase, result}]` on a parent, kept from its children's events."""

from __future__ import annotations

from typing import Any

from shared.events import Event
from shared.tasks.repository import PARENT_LABEL, result_text, tasks

RESULT_CHARS = 2000


def on_child_finished(event: Event) -> None:
    data = event.data or {}
    child = tasks.get(data["namespace"], data["name"])
    if child is None:
        return
    labels = child.doc.get("metadata", {}).get("labels", {})
    parent = labels.get(PARENT_LABEL)
    if not parent or tasks.get(child.namespace, parent) is None:
        return
    status = child.doc.get("status", {})
    entry: dict[str, Any] = {"name": child.name, "agent": labels.get("orka.ai/delegated-agent", ""),
                             "phase": status.get("phase")}
    text = result_text(child)
    if text is not None:
        entry["result"] = text[:RESULT_CHARS]

    def upsert(doc: dict[str, Any]) -> None:
        kids = [c for c in doc.setdefault("status", {}).get("childTasks", []) if c.get("name") != child.name]
        doc["status"]["childTasks"] = sorted([*kids, entry], key=lambda c: c["name"])

    tasks.update(child.namespace, parent, upsert)
