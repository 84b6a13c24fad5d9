"""`/anthropic/v1`: messages (plain and streaming), their token count and the models, in Anthropic's dialect.

Clients authenticate with `Authorization: Bearer` (anthropic ≥ 2) or `x-api-key` (older SDKs);
the resolver accepts both. `anthropic-version` is accepted and not interpreted.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.compat import anthropic_wire, engine, passthrough, token_count
from shared.compat.common import (
    TOOLS_PARAM,
    checked_body,
    model_entries,
    model_route,
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


_RELAYED = [Header("anthropic-version", "Accepted, relayed to an Anthropic provider"),
            Header("anthropic-beta", "Relayed to an Anthropic provider")]


@router.route("/messages", ["POST"], summary="Create a message (streaming and non-streaming)", streaming=True,
              body="shared.compat.schemas:MessagesRequest", headers=[TOOLS_PARAM, *_RELAYED],
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
    data = [_model(m) for m in model_entries()]
    return {"object": "list", "data": data, "has_more": False,
            "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}


def _model(entry: dict) -> dict:
    # The official ModelInfo's required fields, null where Shoal knows nothing (limits, capabilities).
    return {**entry, "object": "model", "type": "model", "display_name": entry["id"], "lifecycle": "active",
            "created_at": datetime.fromtimestamp(entry["created"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "capabilities": None, "max_input_tokens": None, "max_tokens": None}


# Anthropic's own wording for an unknown model: "model: <id>".
model_route(router, "model_id", "shared.compat.schemas:AnthropicModelEntry", _model,
            lambda ident: f"model: {ident}", "No listed model has this id")


@router.route("/messages/count_tokens", ["POST"], summary="Count the input tokens of a message",
              body="shared.compat.schemas:CountTokensRequest", headers=_RELAYED,
              responses={200: Reply("The count: the Anthropic provider's own, or the demo model's",
                                    "anthropic.types:MessageTokensCount"),
                         400: "Invalid request (the message names the field), or a model whose provider cannot "
                              "count tokens",
                         500: "The provider failed (`token count failed: …`)"})
def count_message_tokens(ctx: RequestContext):
    """The checks of /messages but `max_tokens`; relayed to an Anthropic provider (shared.compat.token_count)."""
    body = checked_body(ctx, anthropic_wire.BAD_BODY)
    anthropic_wire.check(body, max_tokens=False)
    request_namespace(ctx)
    provider = request_provider(ctx, body["model"])
    headers = ctx.request.headers
    return token_count.count_tokens(body, provider, version=headers.get("anthropic-version"),
                                    beta=headers.get("anthropic-beta"))
