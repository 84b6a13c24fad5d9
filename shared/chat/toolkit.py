"""What every chat tool shares: the turn's context, structured results, argument checks.

Results are `{"success": true, "data": …}` or `{"success": false, "error", "errorType",
"suggestion"}` (orka-behaviour §3) so the model can correct itself.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.agent.tools import Tool
from shared.auth.namespaces import resolve_namespace
from shared.auth.principal import Principal
from shared.errors import ShoalError
from shared.llm.base import ToolSpec
from shared.logs import get_logger

log = get_logger("chat.tools")

ERROR_TYPES = {400: "invalid_arguments", 401: "unauthorized_tool", 403: "permission_denied", 404: "not_found",
               409: "already_exists", 429: "limit_reached"}
SUGGESTIONS = {"invalid_arguments": "Check the tool's parameters and try again with valid values",
               "permission_denied": "Use a namespace you are allowed to act in",
               "not_found": "Use list_tasks, list_agents or list_tools to see what exists",
               "already_exists": "Choose another name, or use the existing resource",
               "internal_error": "Try again; if it keeps failing, tell the user what happened"}
ORCHESTRATOR_LABELS = "orka.ai/created-by"


class ToolFailure(Exception):
    """A failure the model should see as a structured error."""

    def __init__(self, error: str, error_type: str, suggestion: str | None = None) -> None:
        super().__init__(error)
        self.error, self.error_type = error, error_type
        self.suggestion = suggestion or SUGGESTIONS.get(error_type, "")


@dataclass
class ChatContext:
    """One turn of one session: who acts, where, and the per-turn counters tools share."""

    principal: Principal
    namespace: str
    session_id: str
    turn_id: str
    max_tasks_per_turn: int
    tool_timeout: float
    blocked_namespaces: frozenset[str]
    tasks_created: list[tuple[str, str]] = field(default_factory=list)  # (namespace, name)
    task_seq: int = 0
    # The name the model asked for → the session-scoped name it got, so "wait_for_task summary" works.
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def labels(self) -> dict[str, str]:
        return {"orka.ai/created-by": "orchestrator", "orka.ai/chat-session": self.session_id}

    def namespace_for(self, args: dict[str, Any]) -> str:
        """The namespace a tool acts in: its `namespace` argument or the chat's; blocked ones refused."""
        wanted = args.get("namespace") or self.namespace
        if not isinstance(wanted, str):
            raise ToolFailure("namespace must be a string", "invalid_arguments")
        if wanted in self.blocked_namespaces:
            raise ToolFailure(f'namespace "{wanted}" is not allowed', "permission_denied",
                              f'Use the chat namespace "{self.namespace}"')
        return resolve_namespace(self.principal, wanted)


def ok(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}


def fail(error: str, error_type: str, suggestion: str | None = None) -> dict[str, Any]:
    return {"success": False, "error": error, "errorType": error_type,
            "suggestion": suggestion if suggestion is not None else SUGGESTIONS.get(error_type, "")}


def text_arg(args: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = args.get(key)
    if value is None or value == "":
        if required:
            raise ToolFailure(f"{key} is required", "invalid_arguments")
        return None
    if not isinstance(value, str):
        raise ToolFailure(f"{key} must be a string", "invalid_arguments")
    return value


def int_arg(args: dict[str, Any], key: str, default: int) -> int:
    value = args.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolFailure(f"{key} must be an integer", "invalid_arguments")
    return int(value)


def structured(fn: Callable[[ChatContext, dict[str, Any]], Any], ctx: ChatContext) -> Callable[[dict], dict]:
    """Run a tool body and turn every outcome into a structured result."""
    def run(args: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(args, dict):
            return fail("arguments must be a JSON object", "invalid_arguments")
        try:
            return ok(fn(ctx, args))
        except ToolFailure as failure:
            return fail(failure.error, failure.error_type, failure.suggestion)
        except ShoalError as error:
            kind = ERROR_TYPES.get(error.status, "internal_error")
            return fail(error.message, kind)
        except Exception as exc:  # the model sees a failure, the log keeps the traceback
            log.exception("chat tool failed", extra={"fields": {"session": ctx.session_id}})
            return fail(f"{type(exc).__name__}: {exc}", "internal_error")

    return run


def make_tool(name: str, description: str, properties: dict[str, Any], required: list[str],
              fn: Callable[[ChatContext, dict[str, Any]], Any], ctx: ChatContext) -> Tool:
    props = {**properties, "namespace": {"type": "string", "description": "Namespace (defaults to the chat's)"}}
    schema = {"type": "object", "properties": props, "required": required}
    return Tool(ToolSpec(name, description, schema), structured(fn, ctx))


def checked_name(args: dict[str, Any]) -> str:
    """The `name` argument, which must be a lowercase RFC 1123 label (a resource name)."""
    name = text_arg(args, "name", required=True)
    if len(name) > 63 or not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", name):
        raise ToolFailure(f'invalid name "{name}": must be a lowercase RFC 1123 label', "invalid_arguments")
    return name
