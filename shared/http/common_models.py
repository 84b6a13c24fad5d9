"""The pydantic models many routes share: the bases of request bodies and queries, the common
queries, and the answers every function documents (its probes, FastAPI's validation error).

Model modules import these; a route module names them by import path
(`query="shared.http.common_models:PageQuery"`), so none of this loads before a request needs it
(shared.http.models.resolve).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from shared.http.params import limit_param
from shared.models.base import Model


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
    continue_: str | None = Field(None, alias="continue",
                                  description="`metadata.continue` of the previous page")


class Liveness(Model):  # (no docstring: it would be the schema's description)
    status: str


class Readiness(Model):
    """`status` is "ok" or "not ready"; `checks` names each dependency's result; the meta function
    adds `llm` (the default provider and model)."""

    model_config = ConfigDict(extra="allow")
    status: str
    checks: dict[str, str]
