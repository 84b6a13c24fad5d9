"""Where the catalog keeps its records: Agents, Skills and Tools (their CRD documents, kinds "agent",
"skill" and "tool" of the objects table). Every module that reads or writes them uses these stores,
the labrats agents (`shared.jobs.agents`) included: they are the same records."""

from __future__ import annotations

from typing import Any

from shared.store import ObjectStore

agents = ObjectStore("agent")
skills = ObjectStore("skill")
tools = ObjectStore("tool")


def agent_doc(namespace: str, name: str) -> dict[str, Any] | None:
    """An Agent's document, or None when there is none."""
    record = agents.get(namespace, name)
    return record.doc if record else None


PARENT_TASK_LABEL, CREATED_BY_LABEL = "orka.ai/parent-task", "orka.ai/created-by"
PARENT_TASK_ANNOTATION = "orka.ai/parent-task-name"  # the full name, where a label value may be cut short


def created_by_task(doc: dict[str, Any] | None, task: str) -> bool:
    """Whether an Agent's document is one `task` created with its `create_agent` tool (Orka's labels;
    its name from the annotation first, then the label, as Orka's labels.ParentTaskName reads it)."""
    if doc is None:
        return False
    labels = (doc.get("metadata") or {}).get("labels") or {}
    return labels.get(CREATED_BY_LABEL) == "create_agent" and parent_task(doc) == task


def parent_task(doc: dict[str, Any]) -> str:
    """The task an Agent's document names as its parent ("" for none)."""
    metadata = doc.get("metadata") or {}
    labels, annotations = metadata.get("labels") or {}, metadata.get("annotations") or {}
    return (annotations.get(PARENT_TASK_ANNOTATION) or "").strip() or (labels.get(PARENT_TASK_LABEL) or "").strip()
