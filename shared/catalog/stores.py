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
