"""ACP `session/update` notifications as the task's progress events.

Each update becomes `(kind, data)`: `delta` (a chunk of the agent's answer), `thought`, `tool_call`,
`tool_result`, `plan`, or `None` for updates a task has no use for (mode and command lists).
Large tool inputs and outputs are cut: the log is for following progress, not a transcript.
"""

from __future__ import annotations

import json
from typing import Any

MAX_FIELD_CHARS = 2000


def _cut(value: Any) -> Any:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_FIELD_CHARS else text[:MAX_FIELD_CHARS] + "…"


def _text(content: Any) -> str:
    """The text of a content block, or of a tool call's content list."""
    if content is None:
        return ""
    if isinstance(content, list):
        return "\n".join(filter(None, (_text(item) for item in content)))
    inner = getattr(content, "content", None)
    if inner is not None and not isinstance(content, str):
        return _text(inner)
    return getattr(content, "text", None) or ""


def _diffs(content: Any) -> list[str]:
    return [item.path for item in content or [] if getattr(item, "type", None) == "diff"]


def describe_update(update: Any) -> tuple[str | None, dict[str, Any]]:
    kind = getattr(update, "session_update", None)
    if kind == "agent_message_chunk":
        return "delta", {"content": _text(update.content)}
    if kind == "agent_thought_chunk":
        return "thought", {"content": _text(update.content)}
    if kind in ("tool_call", "tool_call_update"):
        data: dict[str, Any] = {"id": update.tool_call_id, "status": update.status or "pending"}
        if update.title:
            data["name"] = update.title
        if update.kind:
            data["kind"] = update.kind
        if update.locations:
            data["paths"] = [loc.path for loc in update.locations]
        if update.raw_input is not None:
            data["input"] = _cut(update.raw_input)
        output = _text(update.content)
        if output:
            data["output"] = _cut(output)
        if diffs := _diffs(update.content):
            data["diffs"] = diffs
        return ("tool_call" if kind == "tool_call" else "tool_result"), data
    if kind == "plan":
        return "plan", {"entries": [{"content": e.content, "status": e.status, "priority": e.priority}
                                    for e in update.entries]}
    return None, {}
