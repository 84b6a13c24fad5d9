"""Worker-side Tools that run server-side through the worker API (the worker has no store or Secrets).

- catalog Tools (HTTP/MCP) named by the agent or task: `POST /internal/v1/tools/<ns>/<tool>/call`,
  described by the specs the dispatcher resolved (`SHOAL_TASK_AGENT.catalogTools`);
- memory and GitHub tools: `POST /internal/v1/worker-tools/<ns>/<tool>/call`, bound server-side to
  this task (its agent, session, parent, repository scope and Git credential).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.agent.tools import Tool
from shared.catalog.worker_agent_tools import agent_tools
from shared.config import get_settings
from shared.github.tools import github_tools
from shared.llm.base import ToolSpec
from shared.memory.worker_tools import memory_tools
from shared.workerapi.client import InternalClient

_KINDS = {400: "invalid_arguments", 403: "permission_denied", 404: "not_found"}
ANSWER_MARGIN_SECONDS = 10.0  # the server side runs a tool under the per-tool timeout: wait this much longer


def _caller(client: InternalClient, path: str, task: str):
    timeout = get_settings().tool_timeout_seconds + ANSWER_MARGIN_SECONDS

    def run(arguments: dict[str, Any]) -> Any:
        import httpx

        try:
            status, body = client.call("POST", path, json={"arguments": arguments or {}, "taskName": task},
                                       at_most_once=True, timeout=timeout)
        except httpx.TransportError as exc:
            return {"success": False, "errorType": "unknown_outcome",
                    "error": f"no answer from the tool call ({type(exc).__name__}): it may or may not have run",
                    "suggestion": "check its effect before calling it again"}
        if status == 200 and isinstance(body, dict) and "result" in body:
            return body["result"]
        message = body.get("error", {}).get("message") if isinstance(body, dict) else str(body)
        return {"success": False, "error": message or f"HTTP {status}",
                "errorType": _KINDS.get(status, "internal_error")}
    return run


def catalog_tools(client: InternalClient, namespace: str, task: str, specs: Iterable[dict[str, Any]]) -> list[Tool]:
    return [Tool(ToolSpec(s["name"], s.get("description") or "", s.get("parameters") or
                          {"type": "object", "properties": {}}),
                 _caller(client, f"/internal/v1/tools/{namespace}/{s['name']}/call", task)) for s in specs]


def _local_specs() -> dict[str, ToolSpec]:
    """The memory, GitHub and agent tools' schemas (built without any store or credential access)."""
    return {t.spec.name: t.spec for t in [*memory_tools(""), *github_tools(None, lambda: None), *agent_tools("", "")]}


def server_tools(client: InternalClient, namespace: str, task: str, names: Iterable[str]) -> list[Tool]:
    specs = _local_specs()
    return [Tool(specs[n], _caller(client, f"/internal/v1/worker-tools/{namespace}/{n}/call", task))
            for n in dict.fromkeys(names) if n in specs]
