"""OpenAPI 3.1 generated from the route table, so it lists exactly the routes that exist."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from enum import Enum
from typing import Any

from pydantic import BaseModel

from shared.http.api import Route
from shared.http.dialects import DIALECTS
from shared.http.models import Reply, RequestBody, resolve
from shared.version import shoal_version

_ERROR_SCHEMAS = {
    "orka": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}}}}},
    "simple": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "problem": {"type": "object", "required": ["type", "title", "detail", "status", "instance"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "detail": {"type": "string"},
        "status": {"type": "integer"}, "instance": {"type": "string"}, "request_id": {"type": "string"}}},
    "fastapi": {"type": "object", "required": ["detail"], "properties": {"detail": {
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]}}},
    "openai": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["message", "type", "param", "code"],
        "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                       "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}}},
    "anthropic": {"type": "object", "required": ["type", "error"], "properties": {
        "type": {"const": "error"}, "error": {"type": "object", "required": ["type", "message"],
                                              "properties": {"type": {"type": "string"},
                                                             "message": {"type": "string"}}}}},
}
_PARAM = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")
_REF = "#/components/schemas/{model}"


def openapi_path(rule: str) -> str:
    return _PARAM.sub(r"{\1}", rule)


def _named_types(model: Any) -> Iterator[type]:
    """The models and enums a type refers to (itself included): what pydantic files under their class name."""
    seen: set[int] = set()
    stack = [model]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        stack.extend(typing.get_args(current))
        if isinstance(current, type) and issubclass(current, (BaseModel, Enum)):
            yield current
            if issubclass(current, BaseModel):
                stack.extend(field.annotation for field in current.model_fields.values())


class Schemas:
    """components/schemas, filled by the models the routes name (refs of nested models included).

    A component is keyed by its class name (as FastAPI does), so two different classes of one name
    would silently share one schema: `claim` refuses that, naming both, when the document is built.
    """

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {f"{name}Error": schema for name, schema in _ERROR_SCHEMAS.items()}
        self.owners: dict[str, type] = {}

    def claim(self, model: Any, *, itself: bool = True) -> None:
        for named in _named_types(model):
            if named is model and not itself:
                continue
            owner = self.owners.setdefault(named.__name__, named)
            if owner is not named:
                raise ValueError(f'two models are named "{named.__name__}" ({owner.__module__}.{owner.__qualname__} '
                                 f"and {named.__module__}.{named.__qualname__}): their OpenAPI components would "
                                 "collide; rename one")

    def inline(self, model: Any, mode: str) -> dict[str, Any]:
        """A route's request_model/response_model (a pydantic model or any type) as a schema; nested
        models go to components/schemas."""
        from pydantic import TypeAdapter

        model = resolve(model)
        self.claim(model)
        schema = TypeAdapter(model).json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
        self.schemas.update(schema.pop("$defs", {}))
        if isinstance(model, type) and issubclass(model, BaseModel):
            self.schemas[model.__name__] = schema
            return {"$ref": _REF.format(model=model.__name__)}
        return schema

    def ref(self, model: type[BaseModel] | str) -> dict[str, Any]:
        if isinstance(model, str) and model.startswith("shared."):
            model = resolve(model)  # one of Shoal's own models (loaded at its first use)
        if isinstance(model, str):
            return self.named(model)
        self.claim(model)
        name = model.__name__
        if name not in self.schemas:
            schema = model.model_json_schema(ref_template=_REF)
            for sub, sub_schema in schema.pop("$defs", {}).items():
                self.schemas.setdefault(sub, sub_schema)
            self.schemas[name] = schema
        return {"$ref": _REF.format(model=name)}

    def named(self, path: str) -> dict[str, Any]:
        """A type named "package.module:Type" (a vendor SDK's model or union). Its nested types are
        filed under "<package>.<Type>.<Nested>": SDKs reuse short names (Choice, Delta, Message) for
        different shapes, which must not overwrite one another nor Shoal's own schemas."""
        import importlib

        from pydantic import TypeAdapter

        module, _, attr = path.partition(":")
        name = f"{module.split('.')[0]}.{attr}"
        if name not in self.schemas:
            kind = getattr(importlib.import_module(module), attr)
            schema = TypeAdapter(kind).json_schema(ref_template=_REF.format(model=name + ".{model}"),
                                                   mode="serialization")
            for sub, sub_schema in schema.pop("$defs", {}).items():
                self.schemas.setdefault(f"{name}.{sub}", sub_schema)
            self.schemas[name] = schema
        return {"$ref": _REF.format(model=name)}

    def query_parameters(self, model: type[BaseModel] | str) -> list[dict[str, Any]]:
        model = resolve(model)
        self.claim(model, itself=False)  # a query model is not a component: its fields are parameters
        schema = model.model_json_schema(ref_template=_REF)
        for sub, sub_schema in schema.pop("$defs", {}).items():
            self.schemas.setdefault(sub, sub_schema)
        required = set(schema.get("required", []))
        params = []
        for name, prop in schema.get("properties", {}).items():
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if prop.get("description"):
                param["description"] = prop["description"]
            params.append(param)
        return params


def _content(reply: Reply, schemas: Schemas) -> dict[str, Any]:
    if reply.events:
        # OpenAPI 3.1 has no schema per SSE event: the stream is a string, each event's `data`
        # shape is listed in x-events (and in the description) so clients and readers know them.
        events = {name: (schemas.ref(model) if model else {}) for name, model in reply.events.items()}
        streamed = {reply.media: {"schema": {"type": "string"}, "x-events": events}}
        if reply.model is not None:  # a route that answers JSON unless asked to stream (`?follow=true`)
            return {"application/json": {"schema": schemas.ref(reply.model)}, **streamed}
        return streamed
    if reply.model is not None:
        return {reply.media: {"schema": schemas.ref(reply.model)}}
    if reply.schema is not None:
        return {reply.media: {"schema": reply.schema}}
    if reply.media != "application/json":
        return {reply.media: {"schema": {"type": "string"}}}
    return {}


def _request_body(body: RequestBody, schemas: Schemas) -> dict[str, Any]:
    """A body the route reads itself (raw bytes, a form, a protocol's messages) in its media type."""
    schema = schemas.ref(body.model) if body.model is not None else body.schema or {"type": "string"}
    return {"required": body.required, "description": body.description, "content": {body.media: {"schema": schema}}}


def _reply(reply: Reply, schemas: Schemas) -> dict[str, Any]:
    out: dict[str, Any] = {"description": reply.description or "OK"}
    content: dict[str, Any] = {}
    for each in (reply, *reply.alternatives):
        content.update(_content(each, schemas))
        if each.events:
            out["description"] += " Server-sent events: " + ", ".join(f"`{n}`" for n in each.events) + "."
    if content:
        out["content"] = content
    if reply.headers:
        out["headers"] = {k: {"description": v, "schema": {"type": "string"}} for k, v in reply.headers.items()}
    return out


def operation(route: Route, method: str, function: str, schemas: Schemas) -> dict[str, Any]:
    params: list[dict[str, Any]] = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                                    for n in _PARAM.findall(route.rule)]
    if route.query is not None:
        params += schemas.query_parameters(route.query)
    params += [{"name": h.name, "in": "header", "required": h.required, "description": h.description,
                "schema": {"type": "string"}} for h in route.headers]
    ok = 201 if (method == "POST" and 201 in route.responses) else 200
    responses: dict[str, Any] = {}
    dialect = DIALECTS[route.dialect or "orka"]
    error_schema = {"$ref": f"#/components/schemas/{route.dialect}Error"}
    for status, spec in sorted(route.responses.items()):
        responses[str(status)] = _reply(spec if isinstance(spec, Reply) else Reply(spec), schemas)
        if status >= 400 and "content" not in responses[str(status)]:
            media = route.error_media_types.get(status, dialect.content_type)
            responses[str(status)]["content"] = {media: {"schema": error_schema}}
    if not any(s.startswith("2") for s in responses):
        responses[str(ok)] = {"description": "OK"}
    if route.response_model is not None and method != "DELETE" and "content" not in responses.get(str(ok), {}):
        responses.setdefault(str(ok), {"description": "OK"})["content"] = {"application/json": {
            "schema": schemas.inline(route.response_model, "serialization")}}
    error = {"content": {dialect.content_type: {"schema": error_schema}}}
    if not route.public:
        responses.setdefault("401", {"description": "Missing or invalid credentials", **error,
                                     "headers": {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}}})
    responses.setdefault("400", {"description": "Invalid input: the message names the field", **error})
    responses.setdefault("404", {"description": "Not found", **error})
    op: dict[str, Any] = {"operationId": f"{function}_{route.handler.__name__}", "summary": route.summary,
                          "tags": [function], "parameters": params, "responses": responses,
                          "x-shoal-function": function}
    if method in ("POST", "PUT", "PATCH") and isinstance(route.body, RequestBody):
        op["requestBody"] = _request_body(route.body, schemas)
    elif method in ("POST", "PUT", "PATCH") and (route.body is not None or route.request_model is not None):
        schema = schemas.ref(route.body) if route.body is not None else \
            schemas.inline(route.request_model, "validation")
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    if route.public:
        op["security"] = []
    return op


def build_document(apis: dict[str, list[Route]]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas = Schemas()
    for function, routes in apis.items():
        for route in routes:
            for method in route.methods:
                if method in ("HEAD", "OPTIONS"):
                    continue
                path = paths.setdefault(openapi_path(route.rule), {})
                if method.lower() not in path:
                    path[method.lower()] = operation(route, method, function, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Shoal", "version": shoal_version(),
                 "description": "Agent orchestration and incident analysis for Kubernetes. "
                                "Interactive reference: [/docs](/docs)."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": dict(sorted(schemas.schemas.items())),
            "headers": {"WWW-Authenticate": {
                "description": 'RFC 6750 challenge: `Bearer realm="shoal"`, with `error="invalid_token"` '
                               "when a credential was given but refused.",
                "schema": {"type": "string"}}},
        },
        "security": [{"bearerAuth": []}],
    }
