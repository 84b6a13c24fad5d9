"""Worker API routes that run tools where the store and the credentials are (Shoal extensions).

A worker has neither store access nor Secrets, so the tools that need them run here:
- `POST /internal/v1/tools/<ns>/<tool>/call` — a stored catalog Tool (HTTP or MCP): the Secret is
  read and injected here, the call goes through the SSRF-guarded client, and the answer is scrubbed
  of the secret (`shared.catalog.tool_runtime`);
- `POST /internal/v1/worker-tools/<ns>/<tool>/call` — the memory tools (`recall_memory`, `remember`,
  `propose_memory`, `search_transcript`), the GitHub tools and `create_agent`/`delete_agent`, bound
  to the calling task: its agent, session and parent for memory; its repository scope and Git
  credential for GitHub; its namespace and ownership for agents.
Body: `{"arguments": {...}, "taskName": "..."}`; answer: `{"result": <the tool's output>}`. Tool-level
failures are results (`{"success": false, ...}`) as in the agent loop; request errors are 4xx.

The tools' modules (the catalog's runtime, GitHub, memory, agents: the agent loop's tool types, git,
the LLM registry) load with the first call of their kind, not with the internal function, whose
most frequent requests are a worker's status reports and heartbeats.
"""

from __future__ import annotations

from typing import Any

from shared.auth.namespaces import require_same_namespace
from shared.catalog.builtins import BUILTIN_NAMES
from shared.errors import Invalid, NotFound
from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.models.worker_contract import (
    AGENT_TOOL_NAMES,
    GITHUB_TOOL_NAMES,
    MEMORY_TOOL_NAMES,
    SERVER_SIDE_WORKER_TOOLS,
)
from shared.tasks.repository import TASK_NOT_FOUND, tasks

router = Router("/internal/v1", dialect="orka", tag="internal")


def _body(ctx: RequestContext) -> tuple[dict[str, Any], str]:
    body = ctx.body()
    return body.arguments or {}, body.taskName or ""


@router.route("/tools/<namespace>/<tool>/call", ["POST"], summary="Call a catalog Tool for a worker",
              body="shared.workerapi.models:ToolCall",
              responses={200: Reply("The tool's result", "shared.workerapi.models:ToolResult"),
                         404: "Unknown tool"})
def call_catalog_tool(ctx: RequestContext, namespace: str, tool: str):
    require_same_namespace(ctx.require_principal(), namespace)
    arguments, task = _body(ctx)
    if tool in BUILTIN_NAMES:  # built-ins run in the worker itself
        raise NotFound(f'tool "{tool}" not found')
    if task:
        tasks.require(namespace, task, TASK_NOT_FOUND)
    from shared.catalog.tool_runtime import tools_for

    [runnable] = tools_for(namespace, [tool])  # NotFound `tool "x" not found`
    return {"result": runnable.run(arguments)}


def _task_git_token(namespace: str, spec: dict[str, Any]) -> str | None:
    """The task's git credential (its named Secret, else a default-named one) for the GitHub tools; a
    named Secret that cannot be read is the tool's structured failure, never an unauthenticated call."""
    from shared.catalog.git_credentials import GitSecretUnreadable, git_token
    from shared.github.tools import ToolFailure

    try:
        return git_token(namespace, spec, default_names=True)
    except GitSecretUnreadable as exc:
        raise ToolFailure(exc.message, "missing_credentials",
                          "Create the Secret, or name an existing one in gitSecretRef") from None


def _worker_tool(namespace: str, tool: str, record_doc: dict[str, Any], task: str):
    spec = record_doc.get("spec", {})
    if tool in MEMORY_TOOL_NAMES:
        from shared.memory.worker_tools import memory_tools

        ref = spec.get("agentRef")
        agent = ref.get("name") if isinstance(ref, dict) else ref
        found = memory_tools(namespace, task_name=task, agent_name=agent or "",
                             session_name=(spec.get("sessionRef") or {}).get("name") or "",
                             parent_task=record_doc.get("metadata", {}).get("labels", {}).get("orka.ai/parent-task", ""))
    elif tool in GITHUB_TOOL_NAMES:
        from shared.github.tools import github_tools, task_context

        found = github_tools(task_context(record_doc), lambda: _task_git_token(namespace, spec))
    elif tool in AGENT_TOOL_NAMES:
        from shared.catalog.worker_agent_tools import agent_tools

        found = agent_tools(namespace, task)
    else:
        raise NotFound(f'tool "{tool}" not found')
    return next(t for t in found if t.spec.name == tool)


@router.route("/worker-tools/<namespace>/<tool>/call", ["POST"],
              summary="Call a memory or GitHub worker tool for a task",
              body="shared.workerapi.models:ToolCall",
              responses={200: Reply("The tool's result", "shared.workerapi.models:ToolResult"),
                         404: "Unknown tool or task"})
def call_worker_tool(ctx: RequestContext, namespace: str, tool: str):
    require_same_namespace(ctx.require_principal(), namespace)
    arguments, task = _body(ctx)
    if not task:
        raise Invalid("taskName is required")

    if tool not in SERVER_SIDE_WORKER_TOOLS:
        raise NotFound(f'tool "{tool}" not found')
    record = tasks.require(namespace, task, TASK_NOT_FOUND)
    return {"result": _worker_tool(namespace, tool, record.doc, task).run(arguments)}
