"""Autonomous plan state: snake_case in from workers, PascalCase out, camelCase inside a task."""

from __future__ import annotations

from typing import Any


def plan_state(namespace: str, name: str, doc: dict[str, Any]) -> dict[str, Any]:
    """Orka's PlanState with PascalCase keys."""
    return {"TaskName": name, "Namespace": namespace, "Iteration": doc.get("iteration", 0),
            "Summary": doc.get("summary", ""), "ProgressPct": doc.get("progressPct", 0),
            "GoalComplete": doc.get("goalComplete", False), "PlanDocument": doc.get("planDocument", ""),
            "CreatedAt": doc.get("createdAt"), "UpdatedAt": doc.get("updatedAt")}


def plan_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """The camelCase `plan` embedded in `GET /tasks/{id}`."""
    return {"summary": doc.get("summary", ""), "progressPct": doc.get("progressPct", 0),
            "goalComplete": doc.get("goalComplete", False), "planDocument": doc.get("planDocument", ""),
            "iteration": doc.get("iteration", 0)}
