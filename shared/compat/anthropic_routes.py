"""`/anthropic/v1`: messages (plain and streaming) and the model list, in Anthropic's dialect.

Clients authenticate with `Authorization: Bearer` (anthropic ≥ 2) or `x-api-key` (older SDKs);
the resolver accepts both. `anthropic-version` is accepted and not interpreted.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.compat import anthropic_wire, engine, passthrough
from shared.compat.common import (
    TOOLS_PARAM,
    checked_body,
    model_entries,
    primed,
    request_namespace,
    request_provider,
    server_tools_enabled,
    stream_error_renderer,
)
from shared.compat.tools import compat_tools
from shared.compat.usage import Tally
from shared.http.api import RequestContext, Router
from shared.http.models import Header, Reply
from shared.http.sse import sse_response

router = Router("/anthropic/v1", dialect="anthropic", tag="anthropic")
_EVENTS = ("message_start", "ping", "content_block_start", "content_block_delta", "content_block_stop",
           "message_delta", "message_stop")


@router.route("/messages", ["POST"], summary="Create a message (streaming and non-streaming)", streaming=True,
              body="shared.compat.schemas:MessagesRequest",
              headers=[TOOLS_PARAM, Header("anthropic-version", "Accepted, relayed to an Anthropic provider"),
                       Header("anthropic-beta", "Relayed to an Anthropic provider")],
              responses={200: Reply("A message (`stream: true`: its events; a failure mid-stream is an "
                                    "`error` event)", "anthropic.types:Message",
                                    alternatives=(Reply(media="text/event-stream", events={
                                        **dict.fromkeys(_EVENTS, "anthropic.types:RawMessageStreamEvent"),
                                        "error": None}),)),
                         400: "Invalid request: the message names the field",
                         500: "The provider failed (`completion failed: …`)"})
def create_message(ctx: RequestContext):
    body = checked_body(ctx, anthropic_wire.BAD_BODY)
    anthropic_wire.check(body)
    namespace = request_namespace(ctx)
    provider = request_provider(ctx, body["model"])
    request = anthropic_wire.parse(body)
    ident = f"msg_{uuid.uuid4()}"
    principal = ctx.require_principal()
    tally = Tally(principal)  # a task token's usage, written once the answer is sent
    tools = None
    if server_tools_enabled(ctx):
        tools = compat_tools(principal, namespace)
    elif passthrough.speaks(provider, "anthropic"):
        headers = ctx.request.headers
        return tally.after(passthrough.anthropic(
            body, provider, ident, stream=request.stream, error_body=stream_error_renderer("anthropic", ctx.request_id),
            version=headers.get("anthropic-version"), beta=headers.get("anthropic-beta"), on_usage=tally.sink))
    if not request.stream:
        outcome = engine.complete(request, provider, tools, namespace)
        tally.add(outcome.usage)
        return tally.after(anthropic_wire.message(ident, provider.model, outcome))
    events = primed(tally.events(engine.stream(request, provider, tools, namespace)))
    return tally.after(sse_response(anthropic_wire.frames(ident, provider.model, events,
                                                          error_body=stream_error_renderer("anthropic",
                                                                                           ctx.request_id)),
                                    heartbeat_seconds=None))  # the engine keeps the stream alive itself


@router.route("/models", ["GET"], summary="List available models",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The configured models, with Anthropic's paging fields",
                                    "shared.compat.schemas:AnthropicModelList")})
def list_anthropic_models(ctx: RequestContext):
    """Orka's list shape, with the fields Anthropic's clients read (type, display_name, created_at, paging)."""
    request_namespace(ctx)
    data = [{**m, "object": "model", "type": "model", "display_name": m["id"], "lifecycle": "active",
             "created_at": datetime.fromtimestamp(m["created"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
            for m in model_entries()]
    return {"object": "list", "data": data, "has_more": False,
            "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}
