"""`/api/v1/secrets` (names only), `/api/v1/auth/validate` and `/api/v1/auth/whoami`.

Secrets come from the Kubernetes Secrets of the namespace; only `{name, namespace, type}` ever
leaves this module, and ServiceAccount-token Secrets are not listed at all.
"""

from __future__ import annotations

from typing import Any

from shared.catalog.crd import page
from shared.errors import Forbidden, Invalid, UpstreamError
from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.kube import core_v1
from shared.logs import get_logger

secrets_router = Router("/api/v1/secrets", dialect="orka", tag="secrets")
auth_router = Router("/api/v1/auth", dialect="orka", tag="auth")
log = get_logger("catalog.secrets")

SA_TOKEN_TYPE = "kubernetes.io/service-account-token"




def list_secret_names(namespace: str, *, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Names and types of the namespace's Secrets; values are dropped before anything else sees them."""
    import json

    from kubernetes.client.exceptions import ApiException

    try:
        # _preload_content=False: parse the raw list ourselves and keep only metadata, so secret
        # values never become client objects (or end up in a traceback).
        response = core_v1().list_namespaced_secret(namespace, limit=limit, _continue=cursor or None,
                                                    _preload_content=False)
        listing = json.loads(response.data)
    except ApiException as exc:
        if exc.status == 403:
            raise Forbidden("not authorized to list secrets") from None
        if exc.status in (400, 410) and cursor:
            raise Invalid("invalid continue token") from None
        log.warning("listing secrets failed", extra={"fields": {"namespace": namespace, "status": exc.status}})
        raise UpstreamError("failed to list secrets") from None
    items = [{"name": item["metadata"]["name"], "namespace": item["metadata"].get("namespace", namespace),
              "type": item.get("type", "Opaque")}
             for item in listing.get("items") or [] if item.get("type") != SA_TOKEN_TYPE]
    return items, (listing.get("metadata") or {}).get("continue") or None


def read_secret_data(namespace: str, name: str) -> dict[str, str]:
    """Every key of a Secret, decoded; for credential injection only (never returned or logged)."""
    import base64
    import json

    from kubernetes.client.exceptions import ApiException

    try:
        raw = json.loads(core_v1().read_namespaced_secret(name, namespace, _preload_content=False).data)
    except ApiException as exc:
        if exc.status == 404:
            raise LookupError(f'secret "{name}" not found') from None
        raise LookupError(f'secret "{name}" could not be read (HTTP {exc.status})') from None
    data = {key: base64.b64decode(value).decode() for key, value in (raw.get("data") or {}).items()}
    return {**(raw.get("stringData") or {}), **data}


def read_secret_value(namespace: str, name: str, key: str) -> str:
    """One key of a Secret, decoded; for tool auth injection only (never returned or logged)."""
    data = read_secret_data(namespace, name)
    if key in data:
        return data[key]
    raise LookupError(f'secret "{name}" has no key "{key}"')


@secrets_router.route("", ["GET"], summary="List secret names (metadata only)",
                      query="shared.http.common_models:PageQuery",
              responses={200: Reply("Names and types; never a value", "shared.catalog.resources:SecretList"),
                         403: "Not allowed to list Secrets",
                         502: "The Kubernetes API failed"})
def list_secrets(ctx: RequestContext):
    query = ctx.query()
    items, cursor = list_secret_names(ctx.namespace(), limit=query.limit, cursor=query.continue_ or None)
    return page(items, cursor)


@auth_router.route("/validate", ["GET"], summary="Validate auth token",
                   responses={200: Reply("The caller is authenticated",
                                         "shared.catalog.resources:Validation")})
def validate(ctx: RequestContext):
    return {"authenticated": True, **ctx.require_principal().public_fields()}


@auth_router.route("/whoami", ["GET"], summary="The caller's sanitised identity",
                   responses={200: Reply("Who the caller is (never a token or raw claims)",
                                         "shared.catalog.resources:Identity")})
def whoami(ctx: RequestContext):
    return ctx.require_principal().identity()
