"""Platform-wide endpoints: health, readiness with the LLM provider, the OpenAPI document."""

from __future__ import annotations

from shared.http import RequestContext, Router, json_response
from shared.http.health import health_router, store_check
from shared.http.openapi import build_document
from shared.http.route_table import FUNCTION_ROUTERS, build_api
from shared.llm.registry import describe_default

_health = health_router({"store": store_check}, extra=lambda: {"llm": describe_default()})
router = Router(dialect="orka", tag="meta")
router.routes.extend(_health.routes)


@router.route("/openapi.json", public=True, summary="OpenAPI 3.1 document of every route")
def openapi(ctx: RequestContext):
    return json_response(build_document({name: build_api(name).routes for name in FUNCTION_ROUTERS}))
