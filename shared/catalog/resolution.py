"""Resolve what a task asks for by reference: its Agent, the Skills to load and the Tools to wire.

The task engine calls `resolve_for_task(namespace, task_spec)` before running the agent loop:
- `agentRef.name` → the stored Agent (NotFound `agent "x" not found` when missing); its
  provider/model/systemPrompt/temperature/maxTokens are the defaults the task's `ai` overrides;
- skills = the agent's `spec.skills` plus the task's `skills`; their markdown is appended to the
  system prompt as "## Skill: <name>" sections (NotFound `skill "x" not found` when missing);
- tools = the agent's `spec.tools` plus the task's `tools`, as agent-loop Tools (built-in names
  are left to the worker's own tool set).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.agent.tools import Tool
from shared.catalog import stores
from shared.catalog.skills import _markdown
from shared.catalog.tool_runtime import tools_for
from shared.errors import NotFound
from shared.models.worker_contract import WORKER_TOOL_NAMES


@dataclass
class Resolved:
    agent: dict[str, Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)   # provider, model, systemPrompt, temperature, maxTokens
    skills: list[tuple[str, str]] = field(default_factory=list)  # (name, markdown)
    tools: list[Tool] = field(default_factory=list)
    tool_names: list[str] = field(default_factory=list)

    def system_prompt(self) -> str:
        parts = [self.settings.get("systemPrompt") or ""]
        parts += [f"## Skill: {name}\n\n{markdown}" for name, markdown in self.skills]
        return "\n\n".join(p for p in parts if p)


def _names(value: Any) -> list[str]:
    out = []
    for item in value or []:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name:
            out.append(name)
    return out


def resolve_for_task(namespace: str, spec: dict[str, Any]) -> Resolved:
    resolved = Resolved()
    agent_spec: dict[str, Any] = {}
    ref = spec.get("agentRef")
    ref_name = ref.get("name") if isinstance(ref, dict) else ref
    if ref_name:
        record = stores.agents.get(namespace, ref_name)
        if record is None:
            raise NotFound(f'agent "{ref_name}" not found')
        resolved.agent = record.doc
        agent_spec = record.doc.get("spec", {})
    ai = spec.get("ai") or {}
    # modelFallbacks: the Agent's spec.model.fallbacks (shared.llm.fallback), tried when its model is down
    for key in ("provider", "model", "systemPrompt", "temperature", "maxTokens", "modelFallbacks"):
        value = ai.get(key, agent_spec.get(key))
        if value is not None:
            resolved.settings[key] = value
    for name in dict.fromkeys(_names(agent_spec.get("skills")) + _names(spec.get("skills"))):
        record = stores.skills.get(namespace, name)
        if record is None:
            raise NotFound(f'skill "{name}" not found')
        resolved.skills.append((name, _markdown(record) or ""))
    resolved.tool_names = list(dict.fromkeys(_names(agent_spec.get("tools")) + _names(spec.get("tools"))))
    # Names the worker provides itself (memory, GitHub, coordination) are not stored Tools.
    resolved.tools = tools_for(namespace, [n for n in resolved.tool_names if n not in WORKER_TOOL_NAMES])
    return resolved
