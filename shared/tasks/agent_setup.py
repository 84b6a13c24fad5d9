"""Resolve a task's Agent, Skills and Tools at dispatch, for a worker that has no store access.

The dispatcher (which has the store) calls `resolve_for_dispatch(namespace, spec)` when an `ai` or
`agent` task names `agentRef`, `skills` or `tools`. The answer is a plain JSON object, stored per
attempt (`shared.tasks.repository.resolved_agents`) and read by the worker with its spec through
`GET /internal/v1/tasks/<ns>/<task>/spec`:

    {"agent": name|None, "provider", "model", "temperature", "maxTokens",   # effective settings
     "systemPrompt": prompt with the skills' markdown appended,
     "skills": [names], "tools": [every tool name asked for],
     "catalogTools": [{"name", "description", "parameters"}],               # run via the worker API
     "runtime": {"type": "claude"|"codex"|"copilot"|"opencode", "secretRef"?},  # a coding agent
     "coordination": {"enabled": bool, ...}}

A missing agent, skill or tool raises NotFound, which fails the task with its message: a task
never silently runs with a default agent.
"""

from __future__ import annotations

from typing import Any

from shared.catalog.resolution import resolve_for_task
from shared.catalog.stores import tools
from shared.catalog.tool_runtime import tool_spec


def needs_resolution(spec: dict[str, Any]) -> bool:
    return spec.get("type") in ("ai", "agent") and bool(spec.get("agentRef") or spec.get("skills")
                                                          or spec.get("tools"))


def resolve_for_dispatch(namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    resolved = resolve_for_task(namespace, spec)
    agent_spec = (resolved.agent or {}).get("spec", {})
    out: dict[str, Any] = {k: v for k, v in resolved.settings.items() if k != "systemPrompt"}
    ref = spec.get("agentRef")
    out["agent"] = (ref.get("name") if isinstance(ref, dict) else ref) or None
    prompt = resolved.system_prompt()
    if prompt:
        out["systemPrompt"] = prompt
    out["skills"] = [name for name, _ in resolved.skills]
    out["tools"] = list(resolved.tool_names)
    catalog = []
    for tool in resolved.tools:  # resolve_for_task proved each exists; only name/description/schema travel
        record = tools.get(namespace, tool.spec.name)
        if record is not None:
            spec_of = tool_spec(record)
            catalog.append({"name": spec_of.name, "description": spec_of.description,
                            "parameters": spec_of.parameters})
    out["catalogTools"] = catalog
    runtime = agent_spec.get("runtime")
    if isinstance(runtime, dict) and runtime.get("type"):
        # The worker runs this coding agent; the Secret name travels, never its value.
        out["runtime"] = {k: v for k, v in runtime.items() if k in ("type", "secretRef", "model")}
    coordination = dict(agent_spec.get("coordination") or {})
    coordination["enabled"] = bool(coordination.get("enabled"))
    out["coordination"] = coordination
    return out

