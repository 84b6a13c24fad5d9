"""`/mcp`: Shoal's MCP server over the streamable HTTP transport, served by the `mcp` function.

The route goes through the one request pipeline, so `/mcp` authenticates like every route (401 in
the Orka dialect without a credential Shoal accepts); the MCP tools then call Shoal's public API at
SHOAL_API_URL with the caller's own bearer token (`shared.mcp_server`, `forward_auth`), so every
action is authorized as the caller, route by route, exactly as over REST.

The SDK's transport is ASGI; functions are WSGI (functions-framework). a2wsgi runs the Starlette app
on one event loop thread per process and streams its response body back through WSGI, so progress
notifications reach the client as they happen. The MCP server is stateless (no session affinity),
as a function scaled to zero must be. The SDK is imported on the first `/mcp` request, never before
`/healthz` (cold start).
"""

from __future__ import annotations

import io
import threading
from typing import Any

from shared.auth.authorization import AUTHENTICATED
from shared.config import get_settings
from shared.errors import Unavailable
from shared.http.api import RequestContext, Router
from shared.http.models import Header, Reply, RequestBody

router = Router("/mcp", dialect="orka", tag="mcp")
_bridge: Any = None
_lock = threading.Lock()


def _build_bridge(api_url: str) -> Any:
    import asyncio  # with the SDK, on the first /mcp call: ~12 ms of the mcp function's cold start

    from a2wsgi import ASGIMiddleware

    from shared.mcp_server import build_server  # the mcp SDK: loaded on the first /mcp call (cold start)

    server = build_server(api_url, forward_auth=True)
    app = server.streamable_http_app()  # creates the session manager
    wsgi = ASGIMiddleware(app)
    ready = threading.Event()

    async def keep_running() -> None:
        # The session manager's task group must live for the process (Starlette's lifespan would do
        # this under an ASGI server; a2wsgi has none).
        async with server.session_manager.run():
            ready.set()
            await asyncio.Event().wait()

    asyncio.run_coroutine_threadsafe(keep_running(), wsgi.loop)
    ready.wait(timeout=10)
    return wsgi


def bridge() -> Any:
    global _bridge
    with _lock:
        if _bridge is None:
            api_url = get_settings().api_url
            if not api_url:
                raise Unavailable("the MCP endpoint needs SHOAL_API_URL (where it reaches Shoal's API)")
            _bridge = _build_bridge(api_url)
    return _bridge


# POST only: the server is stateless, so there is no standalone server-to-client stream (GET) and no
# session to end (DELETE); the pipeline answers both 405, as the transport allows, instead of
# holding a worker thread on a stream nothing would ever write to.
# Documented as MCP's Streamable HTTP transport (specification 2025-06-18, "Transports") defines it and
# the SDK answers; the JSON-RPC types are the SDK's own (imported when the document is built).
_RPC = "mcp.types:JSONRPCMessage"
_RPC_ERROR = "mcp.types:JSONRPCError"
MCP_BODY = RequestBody("One JSON-RPC message (a request, a notification or a response), as application/json",
                       media="application/json", model=_RPC)
MCP_REPLIES: dict[int, str | Reply] = {
    200: Reply("A request's answer: an SSE stream whose `message` events carry JSON-RPC messages (progress "
               "notifications, then the response)", media="text/event-stream", events={"message": _RPC}),
    202: "A notification or a response was accepted (no body)",
    400: Reply("Not a valid JSON-RPC message, or an unsupported MCP-Protocol-Version: a JSON-RPC error",
               _RPC_ERROR, alternatives=(Reply("A body not sent as application/json (the SDK's plain answer)",
                                               media="text/plain"),)),
    406: Reply("The Accept header does not list both application/json and text/event-stream", _RPC_ERROR),
    503: "SHOAL_API_URL is not set (where the MCP tools reach Shoal's API)",
}
PROTOCOL_VERSION = Header("MCP-Protocol-Version", "The negotiated protocol version (e.g. 2025-06-18); "
                                                  "absent: 2025-03-26")


@router.route("", ["POST"], summary="MCP messages (JSON-RPC; answers an SSE stream with progress)",
              streaming=True, permission=AUTHENTICATED, body=MCP_BODY, responses=MCP_REPLIES,
              headers=[PROTOCOL_VERSION])
def mcp_post(ctx: RequestContext):
    from werkzeug.wrappers import Response

    body = ctx.request.get_data(cache=True)  # the pipeline may have read it: hand the app a fresh stream
    environ = {**ctx.request.environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
               "PATH_INFO": "/mcp", "SCRIPT_NAME": ""}
    return Response.from_app(bridge(), environ)
