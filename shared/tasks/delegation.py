"""The rules a coordinator's child task is created under (Orka's `delegate_task`): the labels and the
depth annotation Orka writes, and the limits of the parent's Agent (`spec.coordination`). How many
children run at once (`maxConcurrentChildren`) is decided when each starts: `shared.tasks.child_slots`.

Orka checks these in the worker's tool from environment variables; Shoal checks them where the child is
created, so a worker cannot step around them. Messages are Orka's.
"""

from __future__ import annotations

from typing import Any

from shared.catalog.stores import agent_doc, created_by_task
from shared.errors import Invalid
from shared.models.worker_contract import coordination_enabled
from shared.store import Record
from shared.tasks.repository import resolved_agents

DEPTH_ANNOTATION = "orka.ai/coordination-depth"
LEGACY_DEPTH_ANNOTATION = "orka.ai/depth"  # what Shoal wrote before it used Orka's name
DEFAULT_MAX_DEPTH = 3  # Orka's default when the Agent sets no coordination.maxDepth


def parent_depth(parent: Record) -> int:
    annotations = parent.doc.get("metadata", {}).get("annotations", {})
    raw = annotations.get(DEPTH_ANNOTATION, annotations.get(LEGACY_DEPTH_ANNOTATION, "0"))
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


_UNREAD: Any = object()


def coordination_of(parent: Record, resolved: Record | None = _UNREAD) -> dict[str, Any]:
    """The parent's coordination settings: its Agent's, as resolved for its running attempt (`resolved`:
    its `resolved_agents` record, or None for none, when the caller read it already); for a task that coordinates without
    an Agent that does (Shoal's opt-in, `spec.ai.coordination` or `spec.coordination`), that block, so
    its `maxConcurrentChildren`, `maxDepth` and `allowedAgents` bound its children as an Agent's would."""
    if resolved is _UNREAD:
        resolved = resolved_agents.get(parent.namespace, parent.name)
    attempt = int(parent.doc.get("status", {}).get("attempts", 0))
    current = resolved is not None and resolved.doc.get("attempt") == attempt
    coordination = (resolved.doc.get("agent") or {}).get("coordination") if current else None
    if isinstance(coordination, dict) and coordination.get("enabled"):
        return coordination
    spec = parent.doc.get("spec", {})
    for own in ((spec.get("ai") or {}).get("coordination"), spec.get("coordination")):
        if isinstance(own, dict) and own.get("enabled"):
            return own
    return coordination if isinstance(coordination, dict) else {}


def child_metadata(parent: Record, agent: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """Labels and annotations of a child of `parent` delegated to `agent` (an Agent of the parent's
    namespace, where the child lives); Invalid when the parent does not coordinate (Orka's controller fails such
    a child), the child would be deeper than `maxDepth`, or its agent is not allowed.

    Allowed, as Orka's controller decides (task_controller.go, validateCoordinationConstraints): an
    agent named in `allowedAgents`, or one the parent task created with its `create_agent` tool. An
    empty or missing list allows no other agent (a child without an agent is not checked)."""
    coordination = coordination_of(parent)
    if not coordination_enabled(parent.doc.get("spec", {}), {"coordination": coordination}):
        raise Invalid("parent agent does not have coordination enabled")
    depth = parent_depth(parent)
    max_depth = coordination.get("maxDepth")
    if not isinstance(max_depth, int) or isinstance(max_depth, bool) or max_depth < 1:
        max_depth = DEFAULT_MAX_DEPTH  # unset (or not a count, in a task's own free-form opt-in block)
    if depth + 1 > max_depth:  # Orka checks the depth first
        raise Invalid(f"coordination depth exceeded: current depth {depth}, max depth {max_depth}")
    if agent is not None:
        listed = coordination.get("allowedAgents")
        allowed = [a for a in listed if isinstance(a, str)] if isinstance(listed, list) else []
        if agent not in allowed and not created_by_task(agent_doc(parent.namespace, agent), parent.name):
            # the message of Orka's delegate_task tool, which names the agent with its namespace
            raise Invalid(f'agent "{parent.namespace}/{agent}" is not in the allowed agents list')
    labels = {"orka.ai/parent-task": parent.name, "orka.ai/coordinator": "true"}
    if agent:
        labels["orka.ai/delegated-agent"] = agent
    return labels, {DEPTH_ANNOTATION: str(depth + 1)}
