"""What both compat dialects share: the parsed request, the mode switch, provider resolution."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.compat.task_models import task_provider
from shared.errors import Invalid, NotFound, ShoalError
from shared.http.dialects import DIALECTS
from shared.http.models import Header, Reply, validate
from shared.llm.registry import describe_default, resolve
from shared.logs import get_logger

if TYPE_CHECKING:
    from shared.http.api import RequestContext, Router
    from shared.llm.base import CallOptions, Message, Provider, ToolSpec

TOOLS_HEADER = "X-Orka-Tools"


@dataclass
class CompatRequest:
    """A chat request in the one message model, whichever vendor's wire format it came in."""

    model: str | None
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int = 4096
    temperature: float | None = None
    stream: bool = False
    include_usage: bool = False
    options: CallOptions | None = None  # carried by the proxy only (server-side tools are the platform's)


class InvalidField(Invalid):
    """A 400 that names the request field at fault (the OpenAI dialect's `param`, e.g. "input[2].call_id")."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def check_role(item: Any, index: int, roles: Iterable[str]) -> None:
    """messages[i] is an object with one of the dialect's roles, else a 400 naming that field (Orka said
    only "invalid request body", which left a client guessing which message and why)."""
    if not isinstance(item, dict):
        raise InvalidField(f"messages[{index}]", f"messages[{index}]: expected an object")
    if item.get("role") not in roles:
        raise InvalidField(f"messages[{index}].role", f"messages[{index}].role: expected one of {', '.join(roles)}; "
                                                      f"got {json.dumps(item.get('role'))}")


def checked_body(ctx: RequestContext, message: str) -> dict[str, Any]:
    """The JSON object body, validated by the route's model (shared.compat.requests: a wrong type is a
    400 naming the field, `param` in OpenAI's dialect; unknown top-level fields are ignored, as the
    vendors do). The raw object is what the wire parsers read and a passthrough relays verbatim."""
    body = ctx.json_object(message=message)
    assert ctx.route is not None and ctx.route.body is not None, "route declares no body model"
    validate(ctx.route.body, body)
    return body


TOOLS_PARAM = Header(TOOLS_HEADER, "`disabled`: a transparent proxy to the provider (no server-side tools)")


def server_tools_enabled(ctx: RequestContext) -> bool:
    """Server-side tools are the default; `X-Orka-Tools: disabled` makes the endpoint a transparent proxy.

    A task token's call is always proxied: its runtime runs its own agent loop in the worker, so the
    model must see exactly the runtime's messages (no Orka tools, rules or goal-state re-prompts).
    """
    if ctx.principal is not None and ctx.principal.kind == "task":
        return False
    return (ctx.request.headers.get(TOOLS_HEADER) or "").strip().lower() != "disabled"


def request_namespace(ctx: RequestContext) -> str:
    """The caller's namespace (an explicit `?namespace=` must match a namespace-bound identity)."""
    return ctx.namespace()


def resolve_provider(model: str | None) -> Provider:
    """`provider/model` or a bare model through the registry (which reuses built providers);
    unresolvable → 400 (Invalid)."""
    return resolve(model or None)


def request_provider(ctx: RequestContext, model: str | None) -> Provider:
    """The provider of this request's model: a task token's by its own rule (configured models only,
    the task's model otherwise, the Agent's own key: `shared.compat.task_models`), else `resolve_provider`."""
    principal = ctx.require_principal()
    if principal.kind == "task":
        return task_provider(principal, model)
    return resolve_provider(model)


def upstream_failure(exc: Exception, action: str = "completion") -> ShoalError:
    """A provider failure as the 500 both vendors' clients expect ("completion failed: …")."""
    return ShoalError(f"{action} failed: {exc}", status=500, code="upstream_error")


class UnknownModel(NotFound):
    """A model id that no entry of the model list has: 404. OpenAI's API answers it as an
    `invalid_request_error` naming `model`, code `model_not_found` (read by shared.http.dialects);
    Anthropic's as a `not_found_error`. The message is the dialect's own wording."""

    param = "model"
    openai_type = "invalid_request_error"
    openai_code = "model_not_found"


def model_entries() -> list[dict[str, Any]]:
    """The configured provider's default model, as `<provider>/<model>` and bare (Orka's /models)."""
    default = describe_default()
    kind, model = default["provider"], default["model"]
    if not model:
        return []
    created = int(time.time())
    return [{"id": ident, "created": created, "owned_by": kind} for ident in (f"default/{model}", model)]


def model_entry(ident: str, unknown: str) -> dict[str, Any]:
    """The entry of `model_entries()` whose id is `ident` (ids may hold `/`: `default/<model>`, or a
    provider's own `org/model`); UnknownModel(unknown) when there is none."""
    found = next((entry for entry in model_entries() if entry["id"] == ident), None)
    if found is None:
        raise UnknownModel(unknown)
    return found


def model_route(router: Router, param: str, reply: str, shape: Callable[[dict[str, Any]], dict[str, Any]],
                unknown: Callable[[str], str], missing: str) -> None:
    """`GET /models/<param>` on a dialect's router: the entry of its list (`shape(entry)`, documented as
    the model `reply`), or UnknownModel(`unknown(id)`), a 404 `missing` describes. `path:` because ids
    hold `/` (`default/<model>`, a provider's `org/model`), which an SDK sends escaped or not."""

    def retrieve(ctx: RequestContext, **path: str) -> dict[str, Any]:
        request_namespace(ctx)
        ident = path[param]
        return shape(model_entry(ident, unknown(ident)))

    retrieve.__name__ = retrieve.__qualname__ = f"retrieve_{router.dialect}_model"  # the operationId
    router.route(f"/models/<path:{param}>", ["GET"], summary="Retrieve a model",
                 query="shared.http.common_models:NamespaceQuery",
                 responses={200: Reply("The model, as listed", reply), 404: missing})(retrieve)


def stream_error_renderer(dialect: str, request_id: str):
    """How a failure after the stream started is written: the dialect's error body (500s logged)."""
    def render(exc: Exception) -> Any:
        if not isinstance(exc, ShoalError):
            get_logger("compat").error("stream failed", exc_info=exc,
                                       extra={"fields": {"request_id": request_id}})
            exc = ShoalError("internal error")
        return DIALECTS[dialect].body(exc, request_id)

    return render


def primed(events: Generator[Any, None, None]) -> Generator[Any, None, None]:
    """Pull the first event now, so a failure before anything streams is a plain HTTP error."""
    first = next(events, None)

    def replay() -> Generator[Any, None, None]:
        try:
            if first is not None:
                yield first
            yield from events
        finally:
            events.close()  # closing the stream (client gone) reaches the engine

    return replay()


def close_events(events: Any) -> None:
    """The client closed the stream: stop the work behind it too (the engine's generator, its upstream)."""
    close = getattr(events, "close", None)
    if close:
        close()


def content_text(content: Any, bad: str) -> str:
    """A message's content as text: a string, or the text parts of a content-part/block list (both
    vendors use {"type": "text", "text": ...}); Invalid(bad) for anything else."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content
                         if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str))
    raise Invalid(bad)


def tool_arguments(raw: Any) -> dict[str, Any]:
    """A tool call's arguments as OpenAI writes them (a JSON object in a string) in the neutral model's
    dict; anything that is not a JSON object is kept whole as {"_raw": ...} for the model to see."""
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_raw": raw}


def json_integer(value: Any, bad: str) -> int | None:
    """An integer field, or None when absent or null; Invalid(bad) for anything else. JSON has one
    number type: 16.0 is the integer 16 (as JSON Schema, and so the vendors' official documents, read it)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(bad)
    return value


def json_number(value: Any, bad: str) -> int | float | None:
    """A number field (temperature, top_p), or None when absent or null; Invalid(bad) otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(bad)
    return value


def json_strings(value: Any, bad: str) -> tuple[str, ...]:
    """A list of strings (stop sequences), () when absent or null; Invalid(bad) otherwise."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise Invalid(bad)
    return tuple(value)


def json_list(value: Any, bad: str) -> list[Any]:
    """An optional array field (tools, functions): [] when absent or null; Invalid(bad) otherwise."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(bad)
    return value
