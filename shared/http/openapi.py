"""OpenAPI 3.1 generated from the route table, so it lists exactly the routes that exist."""

from __future__ import annotations

import re
from typing import Any

from shared.http.api import Route

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


def openapi_path(rule: str) -> str:
    return _PARAM.sub(r"{\1}", rule)


_REF = "#/components/schemas/{model}"


def _schema(model: Any, components: dict[str, Any], mode: str) -> dict[str, Any]:
    """A route's pydantic model (or type) as a schema; its nested models go to components/schemas."""
    from pydantic import BaseModel, TypeAdapter

    schema = TypeAdapter(model).json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
    components.update(schema.pop("$defs", {}))
    if isinstance(model, type) and issubclass(model, BaseModel):  # named, as FastAPI does
        components[model.__name__] = schema
        return {"$ref": _REF.format(model=model.__name__)}
    return schema


def operation(route: Route, method: str, function: str,
              components: dict[str, Any] | None = None) -> dict[str, Any]:
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
              for n in _PARAM.findall(route.rule)]
    ok = 201 if (method == "POST" and 201 in route.responses) else 200
    responses: dict[str, Any] = {}
    components = {} if components is None else components
    error_schema = {"$ref": f"#/components/schemas/{route.dialect}Error"}
    for status, text in sorted(route.responses.items()):
        responses[str(status)] = {"description": text}
        if status >= 400:
            media = route.error_media_types.get(status, "application/json")
            responses[str(status)]["content"] = {media: {"schema": error_schema}}
    responses.setdefault(str(ok), {"description": "OK"})
    if route.response_model is not None and method != "DELETE":
        responses[str(ok)]["content"] = {"application/json": {
            "schema": _schema(route.response_model, components, "serialization")}}
    error_ref = {"content": {"application/json": {"schema": error_schema}}}
    if not route.public:
        responses["401"] = {"description": "Missing or invalid credentials", **error_ref}
    responses.setdefault("400", {"description": "Invalid input", **error_ref})
    responses.setdefault("404", {"description": "Not found", **error_ref})
    op: dict[str, Any] = {"operationId": f"{function}_{route.handler.__name__}", "summary": route.summary,
                          "tags": [function], "parameters": params, "responses": responses,
                          "x-shoal-function": function}
    if route.request_model is not None and method in ("POST", "PUT", "PATCH"):
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": _schema(route.request_model, components, "validation")}}}
    if route.public:
        op["security"] = []
    return op


def build_document(apis: dict[str, list[Route]]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    models: dict[str, Any] = {}
    for function, routes in apis.items():
        for route in routes:
            for method in route.methods:
                if method in ("HEAD", "OPTIONS"):
                    continue
                path = paths.setdefault(openapi_path(route.rule), {})
                path.setdefault(method.lower(), operation(route, method, function, models))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Shoal", "version": "0.1.0",
                 "description": "Agent orchestration and incident analysis for Kubernetes."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {**dict(sorted(models.items())),
                        **{f"{name}Error": schema for name, schema in _ERROR_SCHEMAS.items()}},
        },
        "security": [{"bearerAuth": []}],
    }
