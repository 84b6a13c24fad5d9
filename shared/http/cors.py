"""CORS for the routes Orka's server serves (its dialects: Orka, OpenAI, Anthropic), as Orka's
middleware does, applied once in the request pipeline (`shared.http.api.Api.handle`).

Allowed origins come from `ORKA_CORS_ALLOWED_ORIGINS` (comma-separated; `*` = any). Orka defaults
to `*`; Shoal defaults to none in a cluster (no browser origin may call the API unless listed) and
the local gateway's own origin under `make run`. A preflight (`OPTIONS` with `Origin` and
`Access-Control-Request-Method`) from an allowed origin to an existing route is answered 204 with the
CORS headers; any other answer to an allowed origin carries `Access-Control-Allow-Origin`. Requests
from other origins are handled as if CORS did not exist (the browser then refuses the response).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shared.config import get_settings

DIALECTS = frozenset({"orka", "openai", "anthropic"})
# Orka's list (Origin, Content-Type, Accept, Authorization, x-api-key, context-token headers) plus the
# headers Shoal's own clients send: SSE resume, the compat tools switch, request ids, Anthropic's SDK.
BASE_HEADERS = ("Origin", "Content-Type", "Accept", "Authorization", "X-API-Key", "Last-Event-ID", "X-Orka-Tools",
                "X-Request-Id", "anthropic-version", "anthropic-beta")


def allowed_origins() -> list[str]:
    return [o.strip().rstrip("/") for o in get_settings().cors_allowed_origins.split(",") if o.strip()]


def allow_origin(origin: str | None) -> str | None:
    """The `Access-Control-Allow-Origin` value for a request's Origin, or None when it is not allowed."""
    if not origin:
        return None
    allowed = allowed_origins()
    if "*" in allowed:
        return "*"
    return origin if origin.rstrip("/") in allowed else None


def allow_headers() -> str:
    settings = get_settings()
    names = list(BASE_HEADERS)
    if settings.context_token_profile:
        for spec in settings.context_token_headers.split(","):
            name = spec.split(":", 1)[0].strip()
            if name and name.lower() not in (n.lower() for n in names):
                names.append(name)
    return ", ".join(names)


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    return method == "OPTIONS" and bool(headers.get("Origin")) and bool(headers.get("Access-Control-Request-Method"))


def preflight_headers(origin: str, methods: Iterable[str]) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Allow-Methods": ", ".join(sorted({*methods, "OPTIONS"})),
            "Access-Control-Allow-Headers": allow_headers()}


def response_headers(origin: str) -> dict[str, str]:
    # X-Request-Id is the one header of ours a browser client needs to read (it names the log line).
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Expose-Headers": "X-Request-Id"}
