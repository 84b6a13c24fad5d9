"""Platform-wide endpoints: health, readiness with the LLM provider, the OpenAPI document and its
interactive reference (`/docs`, shared.meta.docs)."""

from __future__ import annotations

from flask import Response

from shared.http import RequestContext, Router
from shared.http.health import health_router, store_check
from shared.http.models import Reply
from shared.meta import docs
from shared.meta.document import served_document


def _llm() -> dict[str, object]:
    from shared.llm.registry import describe_default  # the provider registry: on /readyz, not at cold start

    return {"llm": describe_default()}


_health = health_router({"store": store_check}, extra=_llm)
router = Router(dialect="orka", tag="meta")
router.routes.extend(_health.routes)


@router.route("/openapi.json", public=True, summary="OpenAPI 3.1 document of every route", responses={
    200: Reply("The OpenAPI 3.1 document", schema={"type": "object", "required": ["openapi", "paths"]},
               headers={"ETag": "The document's entity tag, for `If-None-Match`"}),
    304: "Unchanged since the `If-None-Match` entity tag"})
def openapi(ctx: RequestContext):
    body, tag = served_document()
    headers = {"ETag": f'"{tag}"'}
    if tag in ctx.request.if_none_match:  # clients that cached it revalidate for free
        return Response(status=304, headers=headers)
    return Response(body, content_type="application/json", headers=headers)


@router.route("/docs", public=True, summary="Interactive API reference (Swagger UI) of /openapi.json",
              responses={200: Reply("The reference page", media="text/html")})
def docs_page(ctx: RequestContext):
    return docs.page()


@router.route("/docs/init.js", public=True, summary="The reference page's script",
              responses={200: Reply("JavaScript", media="text/javascript")})
def docs_script(ctx: RequestContext):
    return docs.init_script()


@router.route("/docs/static/<name>", public=True, summary="Swagger UI's own assets (and its licence)",
              responses={200: Reply("A stylesheet, script, image or the licence text", media="*/*")})
def docs_static(ctx: RequestContext, name: str):
    return docs.static_file(name)
