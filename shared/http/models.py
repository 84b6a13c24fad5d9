"""What a route declares about its request and responses, and the one way a body or query is validated.

A route names its pydantic models on `Router.route(body=, query=, headers=, responses=)` by import
path, `"shared.tasks.models:TaskCreate"`: the handler reads them with `ctx.body()` / `ctx.query()`
and `shared.http.openapi` documents the same models, so the document cannot drift from the code.
A named model is imported at its first use (`resolve`), not when the route module loads: pydantic
and the models cost a third of a function's cold start, and `/healthz` needs neither
(docs/performance.md, "Cold start, third pass"). This module imports no pydantic itself. A
validation failure becomes `FieldInvalid`, rendered by each dialect (shared.http.dialects): the
message names the field and the problem (`spec.timeout: expected a duration like "30m"`),
OpenAI's `param` names the field, FastAPI gets its `detail` list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from shared.errors import Invalid
from shared.wiring import load

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError


@cache
def _load(path: str) -> Any:
    return load(path)


def resolve(model: type[BaseModel] | str) -> type[BaseModel]:
    """The model a route names: a class as is, a "package.module:Type" imported once (then cached)."""
    return _load(model) if isinstance(model, str) else model


@dataclass(frozen=True)
class Header:
    """A request header a route reads (documented as an `in: header` parameter)."""

    name: str
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Reply:
    """One documented response: a model (or a raw JSON schema) in a media type. For
    `text/event-stream`, `events` maps each event name to the model of its `data` (`message` for
    frames without an event name); a `model` beside `events` is the route's JSON answer when it is
    not asked to stream. A model is named "package.module:Type" (one of Shoal's, e.g.
    shared.jobs.doc_models, or a vendor SDK's type): imported only when the document is built, so a
    route module never pays for it at cold start."""

    description: str = ""
    model: type[BaseModel] | str | None = None
    media: str = "application/json"
    schema: dict[str, Any] | None = None
    events: dict[str, type[BaseModel] | str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # The same status in other media types (e.g. a JSON answer or, with `stream: true`, events).
    alternatives: tuple[Reply, ...] = ()

    @property
    def documented(self) -> bool:
        # A redirect is documented by where it goes (its Location header); it has no body to describe.
        return bool(self.model or self.schema or self.events or self.media != "application/json"
                    or "Location" in self.headers)


@dataclass(frozen=True)
class RequestBody:
    """A request body the route reads itself rather than through `ctx.body()`: raw bytes (a result,
    an artifact), a multipart form (an upload) or a protocol's own messages (MCP's JSON-RPC, checked
    by its SDK). Documented like a Reply: a model (or "package.module:Type") or a raw JSON schema in
    a media type."""

    description: str
    media: str = "application/octet-stream"
    model: type[BaseModel] | str | None = None
    schema: dict[str, Any] | None = None
    required: bool = True


def declared(body: Any, query: Any, request_model: Any, response_model: Any,
             responses: dict[int, Any]) -> list[Any]:
    """Every model a route declares (named or not; None where it declares none): its body (or its
    RequestBody's model), query, request/response models, and each Reply's model and SSE events."""
    out = [body.model if isinstance(body, RequestBody) else body, query, request_model, response_model]
    for spec in responses.values():
        if isinstance(spec, Reply):
            for each in (spec, *spec.alternatives):
                out += [each.model, *each.events.values()]
    return out


BINARY = {"type": "string", "format": "binary"}


class FieldInvalid(Invalid):
    """A 400 naming the field at fault; `param` (OpenAI) and `detail_list` (FastAPI) for the dialects
    that carry the field separately."""

    def __init__(self, message: str, *, param: str | None, detail_list: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.param = param
        self.detail_list = detail_list


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _problem(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "required"
    message = error["msg"]
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _detail(error: dict[str, Any], where: str, prefix: tuple[Any, ...]) -> dict[str, Any]:
    """One item of FastAPI's `detail` list, as FastAPI renders a pydantic error (ctx stringified)."""
    item = {"type": error["type"], "loc": [where, *prefix, *error["loc"]], "msg": error["msg"],
            "input": error.get("input")}
    if error.get("ctx"):
        item["ctx"] = {k: str(v) if isinstance(v, Exception) else v for k, v in error["ctx"].items()}
    return item


def field_invalid(exc: ValidationError, *, prefix: tuple[Any, ...] = (), where: str = "body") -> FieldInvalid:
    """The one translation of a pydantic ValidationError into a client error (every dialect);
    `where` is FastAPI's first `loc` item: "body" or "query"."""
    errors = exc.errors(include_url=False)
    parts = [f"{_path(prefix + tuple(e['loc']))}: {_problem(e)}" for e in errors]
    first = _path(prefix + tuple(errors[0]["loc"])) if errors else None
    return FieldInvalid("; ".join(parts), param=first, detail_list=[_detail(e, where, prefix) for e in errors])


def validate(model: type[BaseModel] | str, value: Any, *, prefix: tuple[Any, ...] = (),
             where: str = "body") -> Any:
    """`value` validated by `model` (a class or its import path); FieldInvalid naming the field."""
    model = resolve(model)  # loads pydantic with the first model a process validates with
    from pydantic import ValidationError

    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise field_invalid(exc, prefix=prefix, where=where) from None


def not_json(message: str, exc: Exception | None = None) -> FieldInvalid:
    """A body that is not JSON (or absent: exc None): `message` for most dialects, FastAPI's
    `json_invalid` / `missing` detail for the FastAPI one."""
    if exc is None:
        detail = {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}
    else:
        detail = {"type": "json_invalid", "loc": ["body", getattr(exc, "pos", 0)], "msg": "JSON decode error",
                  "input": {}, "ctx": {"error": getattr(exc, "msg", "invalid JSON")}}
    return FieldInvalid(message, param=None, detail_list=[detail])
