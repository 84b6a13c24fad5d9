"""API keys, webhook sources, config, stats and dashboard auth of the labrats dialect."""

from __future__ import annotations

from typing import Any

from shared.auth import api_keys, dashboard, oidc_login
from shared.auth.api_keys import authenticate_dashboard
from shared.clock import now_rfc3339
from shared.config import get_settings
from shared.errors import Invalid, NotFound, Unauthorized, Unavailable, UpstreamError
from shared.http import RequestContext, Router, json_response
from shared.http.models import Reply, RequestBody
from shared.jobs import sources as source_model
from shared.jobs import stores
from shared.net.outbound import outbound_client
from shared.store import AlreadyExists, counters

# List answers are documented by models only the document uses: named, they load with it (cold start).
_LISTS = "shared.jobs.doc_models"
api_keys_router = Router("/api/api-keys", dialect="simple", tag="labrats api keys", authenticator=authenticate_dashboard)
sources_router = Router("/api/webhook-sources", dialect="simple", tag="labrats webhook sources",
                        authenticator=authenticate_dashboard)
config_router = Router("/api/config", dialect="simple", tag="labrats config", authenticator=authenticate_dashboard)
stats_router = Router("/api/stats", dialect="simple", tag="labrats stats", authenticator=authenticate_dashboard)
auth_router = Router("/api/auth", dialect="simple", tag="labrats auth")
ECHO = RequestBody("Any JSON (a legacy stub: echoed as sent)", media="application/json",
                   schema={"description": "Any JSON value"}, required=False)
PROMETHEUS_ANSWER = {"type": "object", "description": "Prometheus' own answer ({status, data, …})"}
SOURCE_NOT_FOUND = "Webhook source not found"
APP_VERSION = "shoal-0.1.0"


# -- API keys ------------------------------------------------------------------------------
@api_keys_router.route("", ["GET"], summary="List API keys (prefix only)",
                       responses={200: Reply("The caller's keys, without the secret part", f"{_LISTS}:ApiKeyList")})
def list_keys(ctx: RequestContext):
    return api_keys.list_keys()


@api_keys_router.route("", ["POST"], summary="Create an API key; the full key is shown once",
                       body="shared.jobs.job_models:ApiKeyCreate",
                       responses={201: Reply("The key, in full this once", "shared.jobs.job_models:ApiKey"),
                                  409: "Name taken"})
def create_key(ctx: RequestContext):
    name = ctx.body().name
    return api_keys.create_key(name.strip(), ctx.require_principal().subject), 201


@api_keys_router.route("/<key_id>", ["DELETE"], summary="Revoke an API key (effective at once)",
                       responses={200: Reply("Revoked", "shared.jobs.job_models:Revoked")})
def revoke_key(ctx: RequestContext, key_id: str):
    api_keys.revoke_key(key_id)
    return {"revoked": key_id}


# -- webhook sources -----------------------------------------------------------------------
@sources_router.route("", ["GET"], summary="List webhook sources",
                      responses={200: Reply("The sources (secrets never shown)", f"{_LISTS}:WebhookSourceList")})
def list_sources(ctx: RequestContext):
    records, _ = stores.webhook_sources.list_page(ctx.namespace(query=False), limit=None)
    return [source_model.view(r) for r in records]


@sources_router.route("", ["POST"], summary="Create a webhook source",
                      body="shared.jobs.job_models:WebhookSourceCreate",
                      responses={201: Reply("The source", "shared.jobs.job_models:WebhookSource"),
                                 409: "Name taken"})
def create_source(ctx: RequestContext):
    ctx.body()  # the labrats checks and unknown fields (m.WebhookSourceCreate)
    fields = source_model.validate(ctx.json_object(), partial=False)
    record = stores.webhook_sources.create(ctx.namespace(query=False), fields["name"], fields,
                                           exists_message=f'webhook source "{fields["name"]}" already exists')
    return source_model.view(record), 201


@sources_router.route("/<source_id>", ["GET"], summary="Webhook source detail",
                      responses={200: Reply("The source", "shared.jobs.job_models:WebhookSource")})
def get_source(ctx: RequestContext, source_id: str):
    return source_model.view(stores.webhook_sources.require(ctx.namespace(query=False), source_id, SOURCE_NOT_FOUND))


@sources_router.route("/<source_id>", ["PATCH"], summary="Update a webhook source",
                      body="shared.jobs.job_models:WebhookSourcePatch",
                      responses={200: Reply("The source", "shared.jobs.job_models:WebhookSource")})
def patch_source(ctx: RequestContext, source_id: str):
    ctx.body()  # the labrats checks and unknown fields (m.WebhookSourcePatch)
    fields = source_model.validate(ctx.json_object(), partial=True)

    def mutate(doc: dict) -> None:
        doc.update(fields)
        doc["updatedAt"] = now_rfc3339()

    return source_model.view(stores.webhook_sources.update(ctx.namespace(query=False), source_id, mutate,
                                                           not_found_message=SOURCE_NOT_FOUND))


@sources_router.route("/<source_id>", ["DELETE"], summary="Delete a webhook source (nothing to tear down)",
                      responses={200: Reply("Deleted", "shared.jobs.job_models:SourceDeleted")})
def delete_source(ctx: RequestContext, source_id: str):
    if not stores.webhook_sources.delete(ctx.namespace(query=False), source_id):
        raise NotFound(SOURCE_NOT_FOUND)
    return {"deleted": source_id, "provisioning": source_model.PROVISIONING}


# -- config --------------------------------------------------------------------------------
def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) \
            else value
    return merged


def read_defaults(namespace: str) -> dict[str, Any]:
    record = stores.ai_config.get(namespace, stores.CONFIG_NAME)
    return record.doc if record else {}


@config_router.route("/defaults", ["GET"], summary="Global defaults",
                     responses={200: Reply("The defaults ({} when none are set)",
                                           "shared.jobs.admin_models:AiDefaults")})
def get_defaults(ctx: RequestContext):
    return read_defaults(ctx.namespace(query=False))


@config_router.route("/defaults", ["PUT"], summary="Merge into the global defaults",
                     body="shared.jobs.admin_models:AiDefaults",
                     responses={200: Reply("The merged defaults", "shared.jobs.admin_models:AiDefaults")})
def put_defaults(ctx: RequestContext):
    body = ctx.body().model_dump(exclude_unset=True)
    namespace = ctx.namespace(query=False)
    if stores.ai_config.get(namespace, stores.CONFIG_NAME) is None:
        try:
            return stores.ai_config.create(namespace, stores.CONFIG_NAME, _merge({}, body)).doc
        except AlreadyExists:
            pass  # created meanwhile: merge into it below

    def mutate(doc: dict) -> None:
        merged = _merge(doc, body)
        doc.clear()
        doc.update(merged)

    return stores.ai_config.update(namespace, stores.CONFIG_NAME, mutate).doc


# Source config moved to webhook sources; the legacy endpoints stay as stubs (exact bodies).
@config_router.route("/sources", ["GET"], summary="Legacy stub",
                     responses={200: Reply("Always no sources", "shared.jobs.admin_models:SourceConfigList")})
def list_source_configs(ctx: RequestContext):
    return {"sources": []}


@config_router.route("/sources/<source>", ["GET"], summary="Legacy stub",
                     responses={200: Reply("The source with empty settings",
                                           "shared.jobs.admin_models:SourceConfig")})
def get_source_config(ctx: RequestContext, source: str):
    return {"source": source, "model": "", "effort": ""}


@config_router.route("/sources/<source>", ["PUT"], summary="Legacy stub: echoes the body", body=ECHO,
                     responses={200: Reply("The body as sent (null when none)", schema=ECHO.schema)})
def put_source_config(ctx: RequestContext, source: str):
    return json_response(ctx.json(allow_empty=True))


@config_router.route("/sources/<source>", ["DELETE"], summary="Legacy stub",
                     responses={200: Reply("Removed", "shared.jobs.admin_models:SourceConfigRemoved")})
def delete_source_config(ctx: RequestContext, source: str):
    return {"removed": source}


# -- stats ---------------------------------------------------------------------------------
@stats_router.route("", ["GET"], summary="Job counts by type, model, repo and status, from maintained counters",
                    responses={200: Reply("The counts", "shared.jobs.admin_models:JobStats")})
def stats(ctx: RequestContext):
    raw = counters.read(stores.STATS_SET, ctx.namespace(query=False))
    groups: dict[str, dict[str, int]] = {"type": {}, "model": {}, "repo": {}, "source": {}, "status": {}}
    for key, value in raw.items():
        group, _, name = key.partition(":")
        if group in groups and name:
            groups[group][name] = value
    total = raw.get("total", 0)
    finished = sum(groups["status"].values())
    return {"total": total, "byType": groups["type"], "byModel": groups["model"], "byRepo": groups["repo"],
            "bySource": groups["source"],
            "totals": {"total": total, "completed": groups["status"].get("completed", 0),
                       "failed": groups["status"].get("failed", 0),
                       "cancelled": groups["status"].get("cancelled", 0),
                       "inFlight": max(0, total - finished)}}


@stats_router.route("/timeseries", ["GET"], summary="Proxy a range query to PROMETHEUS_URL",
                    query="shared.jobs.admin_models:TimeseriesQuery",
                    responses={200: Reply("Prometheus' own answer", schema=PROMETHEUS_ANSWER),
                               502: "Prometheus failed or answered an error",
                               503: "PROMETHEUS_URL is not configured"})
def timeseries(ctx: RequestContext):
    from urllib.parse import urlsplit

    base = get_settings().prometheus_url
    if not base:
        raise Unavailable("Timeseries are unavailable: PROMETHEUS_URL is not configured")
    query = ctx.query()
    if not query.query:
        raise Invalid("query is required")
    params = query.model_dump(exclude_none=True)
    path = "/api/v1/query_range" if "start" in params else "/api/v1/query"
    # The operator configured this URL, so its host may be private (a cluster Service).
    host = urlsplit(base).hostname or ""
    try:
        with outbound_client(timeout=15.0, allow=(host,)) as http:
            response = http.get(base.rstrip("/") + path, params=params)
    except Exception as exc:
        raise UpstreamError(f"Prometheus request failed: {type(exc).__name__}") from None
    try:
        body = response.json()
    except ValueError:
        raise UpstreamError(f"Prometheus answered {response.status_code} without JSON") from None
    return json_response(body, 200 if response.status_code < 400 else 502)


# -- dashboard auth (public) ---------------------------------------------------------------
def _state_cookie_path() -> str:
    return "/api/auth"


def redirect(location: str):
    from flask import Response

    return Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


@auth_router.route("/me", ["GET"], public=True, summary="The signed-in user or null, and the app version",
                   responses={200: Reply("The user (null when not signed in) and the version",
                                         "shared.jobs.admin_models:Me")})
def me(ctx: RequestContext):
    user = None
    if ctx.request.headers.get("Authorization") or ctx.request.cookies.get(dashboard.SESSION_COOKIE):
        try:
            principal = authenticate_dashboard(ctx.request.headers)
            user = {"username": principal.username, "subject": principal.subject, "kind": principal.kind}
            for key in ("email", "name"):
                if principal.claims.get(key):
                    user[key] = principal.claims[key]
        except Unauthorized:
            user = None
    return {"user": user, "version": APP_VERSION}


@auth_router.route("/logout", ["POST"], public=True, summary="Clear the auth_token cookie",
                   responses={200: Reply("Signed out (the cookie is cleared)",
                                         "shared.jobs.admin_models:LoggedOut",
                                         headers={"Set-Cookie": "auth_token, expired"})})
def logout(ctx: RequestContext):
    response = json_response({"ok": True})
    response.delete_cookie(dashboard.SESSION_COOKIE, path="/", httponly=True, samesite="Lax",
                           secure=dashboard.is_https(ctx.request))
    return response


@auth_router.route("/oidc", ["GET"], public=True, summary="Start the OIDC login (state cookie, redirect)",
                   responses={302: Reply("Redirect to the provider's authorization endpoint",
                                         headers={"Location": "The provider's authorization URL",
                                                  "Set-Cookie": "The signed state cookie"}),
                              503: "OIDC login is not configured"})
def oidc_start(ctx: RequestContext):
    url, state, nonce = oidc_login.start()
    response = redirect(url)
    state_token = dashboard.sign({"sub": "login", "state": state, "nonce": nonce}, "oidc-state", dashboard.STATE_SECONDS)
    response.set_cookie(dashboard.STATE_COOKIE, state_token, max_age=dashboard.STATE_SECONDS, path=_state_cookie_path(),
                        httponly=True, secure=dashboard.is_https(ctx.request), samesite="Lax")
    return response


_CALLBACK: dict[int, str | Reply] = {
    302: Reply("Redirect to the dashboard with the auth_token cookie",
               headers={"Location": "The dashboard (the post-login URL setting)", "Set-Cookie": "auth_token (HttpOnly)"}),
    401: "Refused by the provider", 503: "OIDC login is not configured"}


def _callback(ctx: RequestContext):
    oidc_login.config()  # 503 before anything else when the login is not configured
    query = ctx.query()
    if query.error:
        raise Unauthorized("OIDC login was refused by the provider")
    state = query.state or ""
    pending = dashboard.verify(ctx.request.cookies.get(dashboard.STATE_COOKIE) or "", "oidc-state")
    if not state or pending is None or not oidc_login.state_matches(str(pending.get("state", "")), state):
        raise Invalid(oidc_login.INVALID_STATE)
    user = oidc_login.finish(query.code or "", str(pending.get("nonce", "")))
    secure = dashboard.is_https(ctx.request)
    response = redirect(get_settings().dashboard_post_login_url)
    response.set_cookie(dashboard.SESSION_COOKIE, dashboard.issue_session(user.subject, user.username, user.email,
                                                                         user.name),
                        max_age=get_settings().dashboard_session_seconds, path="/", httponly=True, secure=secure,
                        samesite="Lax")
    response.delete_cookie(dashboard.STATE_COOKIE, path=_state_cookie_path(), httponly=True, secure=secure,
                           samesite="Lax")
    return response


@auth_router.route("/oidc/callback", ["GET"], public=True, summary="Exchange the code, set auth_token, redirect",
                   query="shared.jobs.admin_models:OidcCallbackQuery", responses=_CALLBACK)
def oidc_callback(ctx: RequestContext):
    return _callback(ctx)


@auth_router.route("/callback", ["GET"], public=True, summary="Alias of /api/auth/oidc/callback",
                   query="shared.jobs.admin_models:OidcCallbackQuery", responses=_CALLBACK)
def oidc_callback_alias(ctx: RequestContext):
    return _callback(ctx)
