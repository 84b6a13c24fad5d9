"""The console's only way to data: the public API, called with the caller's own credential.

Every page is one or more calls here; nothing reads the store directly, so a page shows exactly
what the caller may see through any other client, and every check is the API's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.config import get_settings
from shared.logs import get_logger
from shared.net.pool import pooled

log = get_logger("console")
# The API's SSE streams send a heartbeat every SHOAL_SSE_HEARTBEAT_SECONDS (15 s), so a read that
# waits longer than this means the stream is gone.
STREAM_READ_SECONDS = 90.0


@dataclass
class ApiError(Exception):
    """A non-2xx answer of the API (or 503 when it could not be reached), with its message."""

    status: int
    message: str


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str]


def _http():
    """The process's pooled client for the configured API (shared.net.pool; httpx loads on first use)."""
    base = get_settings().api_url.rstrip("/")
    if not base:
        raise ApiError(503, "the console cannot reach the API: SHOAL_API_URL is not set")

    def make():
        import httpx

        return httpx.Client(base_url=base, timeout=httpx.Timeout(30.0, read=60.0), follow_redirects=False)

    return pooled(f"console-api {base}", make)


def error_message(body: Any, status: int) -> str:
    """The human message of an error body in any of the API's dialects."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for key in ("detail", "message", "error", "title"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    return f"the API answered {status}"


def _headers(cred: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {cred}", "Accept": "application/json", **(extra or {})}


def call(cred: str, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
         raw: bool = False) -> ApiResponse:
    """One API request; ApiError for any non-2xx answer, 503 when the API cannot be reached."""
    import httpx

    clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
    try:
        response = _http().request(method, path, params=clean, json=json, headers=_headers(cred))
    except httpx.HTTPError as exc:
        log.warning("api unreachable", extra={"fields": {"path": path, "error": type(exc).__name__}})
        raise ApiError(503, "the Shoal API is unavailable; try again shortly") from None
    body: Any = response.content if raw else None
    if not raw and response.content:
        try:
            body = response.json()
        except ValueError:
            body = response.text
    if response.status_code >= 400:
        parsed = body
        if raw:
            try:
                parsed = response.json()
            except ValueError:
                parsed = None
        raise ApiError(response.status_code, error_message(parsed, response.status_code))
    return ApiResponse(response.status_code, body, dict(response.headers))


def get(cred: str, path: str, **params: Any) -> Any:
    return call(cred, "GET", path, params=params).body


def stream(cred: str, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
           last_event_id: str | None = None) -> tuple[int, str, Iterator[bytes]]:
    """Open an SSE stream of the API: (status, content type, chunks). The chunks iterator owns the
    connection and closes it when it is closed (the browser went away) or exhausted."""
    import httpx

    headers = _headers(cred, {"Accept": "text/event-stream"})
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
    request = _http().build_request(method, path, params=clean, json=json, headers=headers,
                                    timeout=httpx.Timeout(30.0, read=STREAM_READ_SECONDS))
    try:
        response = _http().send(request, stream=True)
    except httpx.HTTPError:
        raise ApiError(503, "the Shoal API is unavailable; try again shortly") from None
    if response.status_code >= 400:
        try:
            response.read()
            body = response.json()
        except (ValueError, httpx.HTTPError):
            body = None
        finally:
            response.close()
        raise ApiError(response.status_code, error_message(body, response.status_code))

    def chunks() -> Iterator[bytes]:
        try:
            yield from response.iter_raw()
        except httpx.HTTPError:
            return  # the API side ended; the browser's EventSource reconnects with Last-Event-ID
        finally:
            response.close()

    return response.status_code, response.headers.get("Content-Type", "text/event-stream"), chunks()
