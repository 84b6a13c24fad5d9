"""Stored Tools as agent-loop `Tool` objects: HTTP tools and MCP tools, with secret injection.

`tools_for(namespace, names)` is what the task engine calls for an agent's or a task's tool names.
Every call goes through the SSRF-guarded outbound client. The auth secret is read from the
Kubernetes Secret at call time, injected as `Authorization: Bearer` or into the JSON body, and
scrubbed from whatever text goes back to the model; errors never carry it either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from shared.agent.tools import Tool
from shared.catalog import mcp_client
from shared.catalog.builtins import BUILTIN_NAMES
from shared.catalog.secrets import read_secret_value
from shared.catalog.stores import tools
from shared.duration import parse_go_duration
from shared.errors import NotFound
from shared.llm.base import ToolSpec
from shared.logs import get_logger
from shared.net.outbound import BlockedURL, check_url, outbound_client
from shared.store import Record

log = get_logger("catalog.tool_runtime")

MAX_RESULT_CHARS = 50_000
_EMPTY_SCHEMA = {"type": "object", "properties": {}}


def _failure(message: str, error_type: str = "internal_error") -> dict[str, Any]:
    return {"success": False, "error": message, "errorType": error_type}


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "[REDACTED]") if secret else text


def _secret(namespace: str, http: dict[str, Any]) -> str | None:
    ref = http.get("authSecretRef")
    if not ref:
        return None

    return read_secret_value(namespace, ref["name"], ref["key"])


def _timeout(http: dict[str, Any]) -> float:
    return parse_go_duration(http.get("timeout", "30s"))


def _mark_available(record: Record, available: bool) -> None:
    """Record reachability in status.available (best effort; only writes on a change)."""
    def change(doc: dict[str, Any]) -> bool | None:
        status = doc.setdefault("status", {})
        if status.get("available") == available:
            return False
        status["available"] = available
        return None

    try:
        tools.update(record.namespace, record.name, change)
    except Exception:
        log.warning("could not record tool availability", extra={"fields": {"tool": record.name}})


def run_http_tool(record: Record, arguments: dict[str, Any]) -> Any:
    """One call of a plain HTTP tool; returns the response text (or a failure dict)."""
    import httpx

    http = record.doc["spec"]["http"]
    method = http.get("method", "POST")
    headers = dict(http.get("headers") or {})
    try:
        check_url(http["url"])  # refuse before the secret is even read (the transport checks again)
        secret = _secret(record.namespace, http)
    except BlockedURL as exc:
        return _failure(f"tool {record.name}: {exc.message}", "permission_denied")
    except LookupError as exc:
        return _failure(f"tool {record.name}: {exc}")
    payload = dict(arguments or {})
    if secret is not None:
        if http.get("authInject", "header") == "body":
            payload[http["authBodyKey"]] = secret
        else:
            headers["Authorization"] = f"Bearer {secret}"
    kwargs: dict[str, Any] = {"headers": headers}
    if method in ("GET", "DELETE"):
        if secret is not None and http.get("authInject") == "body":
            return _failure(f"tool {record.name}: authInject body needs a method with a body", "invalid_arguments")
        kwargs["params"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
    else:
        kwargs["json"] = payload
    try:
        with outbound_client(timeout=_timeout(http)) as client:
            response = client.request(method, http["url"], **kwargs)
    except BlockedURL as exc:
        return _failure(f"tool {record.name}: {exc.message}", "permission_denied")
    except httpx.HTTPError as exc:
        _mark_available(record, False)
        return _failure(_scrub(f"tool {record.name}: {type(exc).__name__}", secret))
    _mark_available(record, True)
    text = _scrub(response.text, secret)[:MAX_RESULT_CHARS]
    if response.status_code >= 400:
        return _failure(f"tool {record.name}: HTTP {response.status_code}: {text[:2000]}")
    return text


def _mcp_headers(record: Record) -> tuple[dict[str, str], str | None]:
    http = record.doc["spec"].get("http") or {}
    headers = dict(http.get("headers") or {})
    secret = _secret(record.namespace, http)
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return headers, secret


def run_mcp_tool(record: Record, arguments: dict[str, Any]) -> Any:
    """`tools/call` on the Tool's resolved endpoint, using the Tool's name as the MCP tool name."""
    endpoint = record.doc.get("status", {}).get("endpoint")
    if not endpoint:
        return _failure(f"tool {record.name} has no resolved endpoint")
    secret = None
    try:
        check_url(endpoint)  # refuse before the transport token is read (the transport checks every request)
        headers, secret = _mcp_headers(record)
        is_error, text = mcp_client.call_tool(endpoint, record.name, arguments or {}, headers=headers,
                                              timeout=_timeout(record.doc["spec"].get("http") or {}))
    except BlockedURL as exc:
        return _failure(f"tool {record.name}: {exc.message}", "permission_denied")
    except LookupError as exc:
        return _failure(f"tool {record.name}: {exc}")
    except Exception as exc:
        blocked = _find(exc, BlockedURL)
        if blocked is not None:
            return _failure(f"tool {record.name}: {blocked.message}", "permission_denied")
        _mark_available(record, False)
        log.warning("mcp call failed", extra={"fields": {"tool": record.name, "error": type(exc).__name__}})
        return _failure(_scrub(f"tool {record.name}: MCP call failed ({type(exc).__name__})", secret))
    _mark_available(record, True)
    text = _scrub(text, secret)[:MAX_RESULT_CHARS]
    return _failure(f"tool {record.name}: {text}") if is_error else text


def _find(exc: BaseException, kind: type) -> Any:
    """`kind` inside an exception group or cause chain (anyio wraps errors of task groups)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        stack.extend(getattr(current, "exceptions", ()) or ())
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                stack.append(nxt)
    return None


def tool_spec(record: Record) -> ToolSpec:
    spec = record.doc["spec"]
    return ToolSpec(name=record.name, description=spec.get("description", ""),
                    parameters=spec.get("parameters") or _EMPTY_SCHEMA)


def as_tool(record: Record) -> Tool:
    runner = run_mcp_tool if "mcp" in record.doc["spec"] else run_http_tool
    return Tool(spec=tool_spec(record), run=lambda arguments, r=record: runner(r, arguments))


def tools_for(namespace: str, names: Iterable[str]) -> list[Tool]:
    """The stored Tools named (built-in names are skipped: the worker wires its own built-ins).

    An unknown name is NotFound `tool "x" not found`: an agent that names a missing tool is a
    configuration error the task should fail on, not silently run without.
    """
    out: list[Tool] = []
    for name in dict.fromkeys(names):
        if name in BUILTIN_NAMES:
            continue
        record = tools.get(namespace, name)
        if record is None:
            raise NotFound(f'tool "{name}" not found')
        out.append(as_tool(record))
    return out


def discover_mcp_tools(namespace: str, name: str) -> list[dict[str, Any]]:
    """`tools/list` of an MCP Tool's server (`[{name, description, inputSchema}]`), e.g. to fill parameters."""
    record = tools.require(namespace, name, "tool not found")
    headers, _ = _mcp_headers(record)
    return mcp_client.list_tools(record.doc["status"]["endpoint"], headers=headers,
                                 timeout=_timeout(record.doc["spec"].get("http") or {}))
