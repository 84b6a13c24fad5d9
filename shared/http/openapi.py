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
}
_PARAM = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")


def openapi_path(rule: str) -> str:
    return _PARAM.sub(r"{\1}", rule)


def operation(route: Route, method: str, function: str) -> dict[str, Any]:
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
              for n in _PARAM.findall(route.rule)]
    ok = 201 if (method == "POST" and 201 in route.responses) else 200
    responses: dict[str, Any] = {}
    for status, text in sorted(route.responses.items()):
        responses[str(status)] = {"description": text}
    responses.setdefault(str(ok), {"description": "OK"})
    error_ref = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{route.dialect}Error"}}}}
    if not route.public:
        responses["401"] = {"description": "Missing or invalid credentials", **error_ref}
    responses.setdefault("400", {"description": "Invalid input", **error_ref})
    responses.setdefault("404", {"description": "Not found", **error_ref})
    op: dict[str, Any] = {"operationId": f"{function}_{route.handler.__name__}", "summary": route.summary,
                          "tags": [function], "parameters": params, "responses": responses,
                          "x-shoal-function": function}
    if route.public:
        op["security"] = []
    return op


def build_document(apis: dict[str, list[Route]]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for function, routes in apis.items():
        for route in routes:
            for method in route.methods:
                if method in ("HEAD", "OPTIONS"):
                    continue
                path = paths.setdefault(openapi_path(route.rule), {})
                path.setdefault(method.lower(), operation(route, method, function))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Shoal", "version": "0.1.0",
                 "description": "Agent orchestration and incident analysis for Kubernetes."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {f"{name}Error": schema for name, schema in _ERROR_SCHEMAS.items()},
        },
        "security": [{"bearerAuth": []}],
    }
