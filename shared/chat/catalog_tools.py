"""Discovery tools (list_agents, list_tools) and the on-demand management tools.

Agents and tools are the catalog's records (kinds "agent" and "tool" of the objects table, in
Orka's CRD shape); sessions are the chat sessions. Everything the orchestrator creates carries the
`orka.ai/created-by` and `orka.ai/chat-session` labels.
"""

from __future__ import annotations

from typing import Any

from shared.agent.tools import Tool
from shared.catalog.agents import validate_spec
from shared.catalog.stores import agents, tools
from shared.chat.leases import active_lock
from shared.chat.monitor_tools import monitor_tools
from shared.chat.sessions import remove_session
from shared.chat.toolkit import ChatContext, ToolFailure, checked_name, make_tool, text_arg
from shared.clock import now_rfc3339
from shared.errors import Invalid
from shared.store import AlreadyExists

BUILTIN_TOOLS = (
    ("web_search", "Search the web via a configurable API"),
    ("code_exec", "Execute code in a sandboxed environment"),
    ("file_read", "Read files from the workspace"),
    ("web_fetch", "Fetch and extract URL content"),
    ("file_write", "Write or append files in workspace paths"),
)
MANAGEMENT_SIGNALS = ("create an agent", "create agent", "delete the tool", "delete tool", "update agent",
                      "remove tool", "new agent", "make a tool", "delete session", "create tool",
                      "monitor")  # "monitor": create_pr_monitor (e.g. "monitor pull requests of …")
LIST_LIMIT = 100


def wants_management(message: str) -> bool:
    """Management tools load only when the message signals CRUD intent (orka-chat.txt)."""
    lower = message.lower()
    return any(signal in lower for signal in MANAGEMENT_SIGNALS)


def description(doc: dict[str, Any]) -> str:
    spec = doc.get("spec") or {}
    return str(spec.get("description") or doc.get("description") or "")


def agent_summaries(namespace: str) -> list[dict[str, Any]]:
    records, _ = agents.list_page(namespace, limit=LIST_LIMIT)
    out = []
    for record in records:
        spec = record.doc.get("spec") or {}
        item: dict[str, Any] = {"name": record.name, "description": description(record.doc)}
        if isinstance(spec.get("model"), str) and spec["model"]:
            item["model"] = spec["model"]
        runtime = spec.get("runtime")
        if isinstance(runtime, dict) and runtime.get("type"):
            item["runtime"] = runtime["type"]
        out.append(item)
    return out


def tool_summaries(namespace: str) -> list[dict[str, Any]]:
    records, _ = tools.list_page(namespace, limit=LIST_LIMIT)
    return [{"name": r.name, "description": description(r.doc)} for r in records]


def list_agents(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    namespace = ctx.namespace_for(args)
    found = agent_summaries(namespace)
    return {"namespace": namespace, "agents": found, "count": len(found)}


def list_tools(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    namespace = ctx.namespace_for(args)
    found = tool_summaries(namespace)
    return {"namespace": namespace, "tools": found, "count": len(found),
            "builtinTools": [{"name": n, "description": d} for n, d in BUILTIN_TOOLS]}


# -- management ------------------------------------------------------------------------------------
def _agent_spec(args: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Merge the tool's arguments into an Agent spec of the catalog's one shape (shared.models.agent)."""
    merged = dict(spec)
    for key in ("description", "provider", "model", "systemPrompt", "temperature", "tools"):
        if key in args:
            merged[key] = args[key]
    for key in ("runtime", "coordination"):
        if key in args:
            if not isinstance(args[key], dict):
                raise ToolFailure(f"{key} must be an object", "invalid_arguments")
            merged[key] = {**(merged.get(key) or {}), **args[key]}
    try:
        valid = validate_spec(merged)
    except Invalid as exc:
        raise ToolFailure(exc.message, "invalid_arguments") from None
    spec.clear()
    spec.update(valid)
    return spec


def _metadata(ctx: ChatContext, name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(ctx.labels), "creationTimestamp": now_rfc3339()}


def create_agent(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    name, namespace = checked_name(args), ctx.namespace_for(args)
    doc = {"apiVersion": "core.orka.ai/v1alpha1", "kind": "Agent", "metadata": _metadata(ctx, name, namespace),
           "spec": _agent_spec(args, {})}
    try:
        agents.create(namespace, name, doc)
    except AlreadyExists:
        raise ToolFailure(f"Agent '{name}' already exists in namespace '{namespace}'", "already_exists",
                          "Use update_agent to change it, or choose another name") from None
    return {"name": name, "namespace": namespace, "created": True}


def _not_found(kind: str, name: str, namespace: str, hint: str) -> ToolFailure:
    return ToolFailure(f"{kind} '{name}' not found in namespace '{namespace}'", "not_found", hint)


def update_agent(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    name, namespace = text_arg(args, "name", required=True), ctx.namespace_for(args)
    if agents.get(namespace, name) is None:
        raise _not_found("Agent", name, namespace, "Use list_agents to see available agents")
    agents.update(namespace, name, lambda doc: _agent_spec(args, doc.setdefault("spec", {})) and None)
    return {"name": name, "namespace": namespace, "updated": True}


def delete_agent(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    name, namespace = text_arg(args, "name", required=True), ctx.namespace_for(args)
    if not agents.delete(namespace, name):
        raise _not_found("Agent", name, namespace, "Use list_agents to see available agents")
    return {"name": name, "namespace": namespace, "deleted": True}


def create_tool(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    from shared.net.outbound import check_url  # httpx: only when a tool is created

    name, namespace = checked_name(args), ctx.namespace_for(args)
    desc = text_arg(args, "description", required=True)
    url = text_arg(args, "url", required=True)
    method = (text_arg(args, "method") or "POST").upper()
    if method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        raise ToolFailure(f"unsupported HTTP method {method}", "invalid_arguments")
    check_url(url)  # the SSRF guard: a Forbidden here becomes permission_denied
    doc = {"apiVersion": "core.orka.ai/v1alpha1", "kind": "Tool", "metadata": _metadata(ctx, name, namespace),
           "spec": {"description": desc, "type": "http", "http": {"url": url, "method": method}}}
    try:
        tools.create(namespace, name, doc)
    except AlreadyExists:
        raise ToolFailure(f"Tool '{name}' already exists in namespace '{namespace}'", "already_exists",
                          "Choose another name, or delete the existing tool first") from None
    return {"name": name, "namespace": namespace, "created": True}


def delete_tool(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    name, namespace = text_arg(args, "name", required=True), ctx.namespace_for(args)
    if not tools.delete(namespace, name):
        raise _not_found("Tool", name, namespace, "Use list_tools to see available tools")
    return {"name": name, "namespace": namespace, "deleted": True}


def delete_session(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    session_id, namespace = text_arg(args, "sessionId", required=True), ctx.namespace_for(args)
    if session_id == ctx.session_id or active_lock(namespace, session_id) is not None:
        raise ToolFailure(f"Session '{session_id}' is active and cannot be deleted now", "invalid_arguments",
                          "Delete only sessions that are not in use")
    if not remove_session(namespace, session_id):
        raise _not_found("Session", session_id, namespace, "Check the session id")
    return {"sessionId": session_id, "namespace": namespace, "deleted": True}


_NAME = {"type": "string"}
_AGENT_FIELDS = {"name": {"type": "string", "description": "Agent name"},
                 "description": {"type": "string", "description": "What the agent is for"},
                 "provider": {"type": "string", "description": "LLM provider (e.g. openai, anthropic)"},
                 "model": {"type": "string", "description": "Model name"},
                 "temperature": {"type": "number"},
                 "systemPrompt": {"type": "string", "description": "System prompt for the agent"},
                 "tools": {"type": "array", "items": {"type": "string"}, "description": "Tool names to attach"}}


def discovery_tools(ctx: ChatContext) -> list[Tool]:
    return [
        make_tool("list_agents", "List available agents with their model and runtime. Use before creating a task "
                  "with agentRef to find the right agent.", {}, [], list_agents, ctx),
        make_tool("list_tools", "List available tools and built-in tools with their descriptions.", {}, [],
                  list_tools, ctx),
    ]


def management_tools(ctx: ChatContext) -> list[Tool]:
    return [
        make_tool("create_agent", "Create an agent with model, tools, and optional runtime configuration.",
                  {**_AGENT_FIELDS, "runtime": {"type": "object", "properties": {
                      "type": {"type": "string", "description": "Runtime type: copilot or claude"},
                      "defaultMaxTurns": {"type": "integer"}}}}, ["name"], create_agent, ctx),
        make_tool("update_agent", "Update an existing agent.", _AGENT_FIELDS, ["name"], update_agent, ctx),
        make_tool("delete_agent", "Delete an agent.", {"name": _NAME}, ["name"], delete_agent, ctx),
        make_tool("create_tool", "Create a tool with an HTTP endpoint.",
                  {"name": _NAME, "description": {"type": "string"}, "url": {"type": "string"},
                   "method": {"type": "string", "description": "HTTP method (default POST)"}},
                  ["name", "description", "url"], create_tool, ctx),
        make_tool("delete_tool", "Delete a tool.", {"name": _NAME}, ["name"], delete_tool, ctx),
        make_tool("delete_session", "Delete a chat session and its transcript.",
                  {"sessionId": {"type": "string", "description": "Session ID to delete"}}, ["sessionId"],
                  delete_session, ctx),
        *monitor_tools(ctx),
    ]
