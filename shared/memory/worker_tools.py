"""Worker tools over memory and sessions: recall_memory, remember, propose_memory, search_transcript.

`memory_tools(namespace, task_name=..., agent_name=..., session_name=...)` returns agent-loop
`Tool`s bound to the task's context. They use the same services as the REST routes, so the
rules (redaction, tag normalisation, proposal lifecycle, events) are the same for workers.
Argument errors come back as `{"success": false, "errorType": "invalid_arguments", ...}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.agent.tools import Tool
from shared.errors import Invalid
from shared.llm.base import ToolSpec
from shared.memory import memories as mem
from shared.memory import proposals
from shared.memory import transcript_search as ts
from shared.memory.common import normalize_tags


@dataclass(frozen=True)
class Context:
    namespace: str
    task_name: str = ""
    agent_name: str = ""
    session_name: str = ""
    parent_task: str = ""


def _invalid(message: str) -> dict[str, Any]:
    return {"success": False, "error": message, "errorType": "invalid_arguments"}


def _int(args: dict[str, Any], key: str, default: int, maximum: int) -> int:
    value = args.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
        raise Invalid(f"{key} must be a positive integer")
    return min(int(value), maximum)


def _guard(fn):
    def run(args: dict[str, Any]) -> Any:
        try:
            return fn(args or {})
        except Invalid as exc:
            return _invalid(exc.message)
    return run


def recall_memory(ctx: Context, args: dict[str, Any]) -> Any:
    flt = mem.MemoryFilter(query=str(args.get("query") or ""), tags=normalize_tags(args.get("tags")),
                           include_disabled=bool(args.get("include_disabled", False)))
    for arg, field in (("task_name", "taskName"), ("agent_name", "agentName"), ("source", "source")):
        if args.get(arg):
            flt.context[field] = str(args[arg])
    docs, _ = mem.list_memories(ctx.namespace, flt, limit=_int(args, "limit", 10, 50))
    mem.mark_recalled(ctx.namespace, docs)
    return {"memories": [{k: d.get(k) for k in ("id", "content", "tags", "source", "agentName", "taskName",
                                                 "updatedAt")} for d in docs], "count": len(docs)}


def remember(ctx: Context, args: dict[str, Any]) -> Any:
    content = args.get("content")
    if not isinstance(content, str) or not content.strip():
        raise Invalid("content is required")
    tags = normalize_tags(args.get("tags"))
    description = str(args.get("description") or "")
    if tags and not proposals.tags_from_description(description):
        description = (description + "\n" if description else "") + "Tags: " + ", ".join(tags)
    title = str(args.get("title") or content.strip().splitlines()[0][:80])
    doc = proposals.create_proposal(ctx.namespace, {
        "type": "memory", "title": title, "description": description, "content": content,
        "taskName": ctx.task_name, "agentName": str(args.get("agent_name") or ctx.agent_name),
        "sessionName": ctx.session_name, "parentTask": ctx.parent_task})
    return {"proposalId": doc["id"], "status": doc["status"],
            "message": "Memory proposal submitted for review; it becomes durable memory once accepted and applied."}


def propose_memory(ctx: Context, args: dict[str, Any]) -> Any:
    title = args.get("title")
    if not isinstance(title, str) or not title.strip():
        raise Invalid("title is required")
    doc = proposals.create_proposal(ctx.namespace, {
        "type": str(args.get("type") or "skill"), "title": title, "skillName": str(args.get("skill_name") or ""),
        "description": str(args.get("description") or ""), "content": str(args.get("content") or ""),
        "patch": str(args.get("patch") or ""), "taskName": ctx.task_name,
        "agentName": str(args.get("agent_name") or ctx.agent_name), "sessionName": ctx.session_name})
    return {"proposalId": doc["id"], "type": doc["type"], "status": doc["status"]}


def search_transcript(ctx: Context, args: dict[str, Any]) -> Any:
    """Case-insensitive substring search over session transcripts of the namespace."""
    query = args.get("query")
    if not isinstance(query, str) or not query.strip():
        raise Invalid("query is required")
    hits = ts.search(ctx.namespace, query, session_name=str(args.get("session_name") or ""),
                     exclude_session_name=str(args.get("exclude_session_name") or ""),
                     roles=set(args.get("roles") or []), limit=_int(args, "limit", ts.DEFAULT_LIMIT, ts.MAX_LIMIT),
                     width=_int(args, "max_snippet_length", ts.DEFAULT_SNIPPET, ts.MAX_SNIPPET))
    matches = [{"session": h.session, "order": h.message.get("order"), "role": h.message.get("role"),
                "snippet": h.snippet, "ts": h.message.get("ts")} for h in hits]
    return {"matches": matches, "count": len(matches)}


_SPECS = {
    "recall_memory": ("Recall durable namespace-scoped memories", {
        "query": {"type": "string", "description": "Substring to look for in content or tags"},
        "tags": {"type": "array", "items": {"type": "string"}, "description": "Every tag must match"},
        "task_name": {"type": "string"}, "agent_name": {"type": "string"}, "source": {"type": "string"},
        "limit": {"type": "integer", "default": 10, "maximum": 50},
        "include_disabled": {"type": "boolean", "default": False}}, []),
    "remember": ("Submit a durable memory proposal for review", {
        "content": {"type": "string", "description": "The fact to remember"}, "title": {"type": "string"},
        "description": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
        "agent_name": {"type": "string"}}, ["content"]),
    "propose_memory": ("Submit a memory-adjacent governance proposal", {
        "title": {"type": "string"}, "type": {"type": "string", "default": "skill"},
        "skill_name": {"type": "string"}, "description": {"type": "string"}, "content": {"type": "string"},
        "patch": {"type": "string"}, "agent_name": {"type": "string"}}, ["title"]),
    "search_transcript": ("Search prior session transcripts", {
        "query": {"type": "string"}, "session_name": {"type": "string"},
        "exclude_session_name": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string", "enum": ["user", "assistant", "tool", "system"]}},
        "limit": {"type": "integer", "default": 10, "maximum": 50},
        "max_snippet_length": {"type": "integer", "default": 300}}, ["query"]),
}
_FUNCTIONS = {"recall_memory": recall_memory, "remember": remember, "propose_memory": propose_memory,
              "search_transcript": search_transcript}


def memory_tools(namespace: str, *, task_name: str = "", agent_name: str = "", session_name: str = "",
                 parent_task: str = "") -> list[Tool]:
    ctx = Context(namespace, task_name, agent_name, session_name, parent_task)
    tools = []
    for name, (description, properties, required) in _SPECS.items():
        spec = ToolSpec(name=name, description=description,
                        parameters={"type": "object", "properties": properties, "required": required})
        fn = _FUNCTIONS[name]
        tools.append(Tool(spec=spec, run=_guard(lambda args, fn=fn: fn(ctx, args))))
    return tools
