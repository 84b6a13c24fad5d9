"""What a route declares about its request and responses, and the one way a body or query is validated.

A route names its pydantic models on `Router.route(body=, query=, headers=, responses=)`; the
handler reads them with `ctx.body()` / `ctx.query()` and `shared.http.openapi` documents the same
models, so the document cannot drift from the code. A validation failure becomes `FieldInvalid`,
rendered by each dialect (shared.http.dialects): the message names the field and the problem
(`spec.timeout: expected a duration like "30m"`), OpenAI's `param` names the field, FastAPI gets its
`detail` list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import Invalid
from shared.http.params import limit_param
from shared.models.base import Model


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
    not asked to stream. A model may be named "package.module:Type" (a vendor SDK's type, or one of
    Shoal's that only the document uses, e.g. shared.jobs.doc_models): imported only when the
    document is built, so a route module never pays for it at cold start."""

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


BINARY = {"type": "string", "format": "binary"}


class StrictModel(Model):
    """A request model of an Orka route: an unknown field is a 400 naming it (Kubernetes' strict
    field validation), never stored or dropped silently (docs/api-reference.md, "Unknown fields")."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ValidationErrorItem(Model):
    """One item of FastAPI's validation error list (its OpenAPI schema `ValidationError`)."""

    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class HTTPValidationError(Model):
    """FastAPI's 422 body, as the operator's LLM service documents it."""

    detail: list[ValidationErrorItem]


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


def validate(model: type[BaseModel], value: Any, *, prefix: tuple[Any, ...] = (), where: str = "body") -> Any:
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


class QueryModel(Model):
    """Query parameters of a route: unknown parameters are ignored (as every HTTP API does with
    query strings); `continue` and other reserved words are fields with an alias."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class NamespaceQuery(QueryModel):
    """`?namespace=` (ctx.namespace() reads it): the routes that act in one namespace."""

    namespace: str | None = Field(None, description="The namespace; default: the caller's")


class PageQuery(NamespaceQuery):
    """An Orka list: `limit` (parse_limit's rules, default 100, at most 500) and the page cursor."""

    limit: limit_param(default=100, maximum=500)  # type: ignore[valid-type]
    continue_: str | None = Field(None, alias="continue", description="`metadata.continue` of the previous page")
