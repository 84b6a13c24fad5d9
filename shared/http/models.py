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
    not asked to stream."""

    description: str = ""
    model: type[BaseModel] | None = None
    media: str = "application/json"
    schema: dict[str, Any] | None = None
    events: dict[str, type[BaseModel] | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def documented(self) -> bool:
        return bool(self.model or self.schema or self.events or self.media != "application/json")


class StrictModel(BaseModel):
    """A request model of an Orka route: an unknown field is a 400 naming it (Kubernetes' strict
    field validation), never stored or dropped silently (docs/api-reference.md, "Unknown fields")."""

    # defer_build (here and on the other models a function loads at start): the validator is built at
    # the first validation, not at import, which keeps it out of every cold start.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


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


def field_invalid(exc: ValidationError, *, prefix: tuple[Any, ...] = ()) -> FieldInvalid:
    """The one translation of a pydantic ValidationError into a client error (every dialect)."""
    errors = exc.errors(include_url=False)
    parts = [f"{_path(prefix + tuple(e['loc']))}: {_problem(e)}" for e in errors]
    first = _path(prefix + tuple(errors[0]["loc"])) if errors else None
    details = [{"type": e["type"], "loc": ["body", *prefix, *e["loc"]], "msg": e["msg"],
                "input": e.get("input")} for e in errors]
    return FieldInvalid("; ".join(parts), param=first, detail_list=details)


def validate(model: type[BaseModel], value: Any, *, prefix: tuple[Any, ...] = ()) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise field_invalid(exc, prefix=prefix) from None


class QueryModel(BaseModel):
    """Query parameters of a route: unknown parameters are ignored (as every HTTP API does with
    query strings); `continue` and other reserved words are fields with an alias."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


class NamespaceQuery(QueryModel):
    """`?namespace=`, which `ctx.namespace()` reads: the namespace the request acts in."""

    namespace: str | None = Field(None, description="The namespace; default: the caller's")
