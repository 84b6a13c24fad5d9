"""The local gateway: routes by `infra/httproutes.yaml` to the function processes, streaming bodies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import httpx
from werkzeug import Request, Response

from shared.local.manifests import RouteMatch, pick_route

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}


class Gateway:
    def __init__(self, table: list[RouteMatch], backend_url: Callable[[str], str | None]) -> None:
        self.table = table
        self.backend_url = backend_url
        self.client = httpx.Client(timeout=httpx.Timeout(connect=5.0, read=None, write=60.0, pool=10.0),
                                   limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))

    def __call__(self, environ, start_response):
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        route = pick_route(self.table, request.path)
        if route is None:
            return _error(404, "not found")
        base = self.backend_url(route.backend)
        if base is None:
            return _error(503, f"function {route.backend} is not running")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers.setdefault("X-Request-Id", uuid.uuid4().hex)
        headers["X-Forwarded-For"] = request.remote_addr or ""
        body = request.get_data()
        query = request.query_string.decode("latin-1")
        url = base + request.path + (f"?{query}" if query else "")
        upstream = self.client.build_request(request.method, url, headers=headers, content=body)
        try:
            response = self.client.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            return _error(502, f"function {route.backend} unreachable: {type(exc).__name__}")
        out_headers = [(k, v) for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP
                       and k.lower() != "content-encoding"]
        return Response(_relay(response), status=response.status_code, headers=out_headers, direct_passthrough=True)


def _relay(response: httpx.Response) -> Iterator[bytes]:
    """Pass bytes on as they arrive (SSE must not be buffered)."""
    try:
        yield from response.iter_raw()
    finally:
        response.close()


def _error(status: int, message: str) -> Response:
    return Response(json.dumps({"error": {"code": status, "message": message}}), status=status,
                    content_type="application/json")
