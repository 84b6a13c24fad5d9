"""`/openai/v1`: chat completions and responses (plain and streaming) and the models, in OpenAI's dialect."""

from __future__ import annotations

import secrets
import time

from shared.compat import engine, openai_wire, passthrough, responses_wire
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
from shared.http.models import Reply, validate
from shared.http.sse import sse_response

router = Router("/openai/v1", dialect="openai", tag="openai")
# The answers are the official SDK's types (imported only when the document is built).
_FAILED = {400: "Invalid request: the message and `param` name the field",
           500: "The provider failed (`completion failed: …`)"}
_RESPONSE_EVENTS = ("response.created", "response.in_progress", "response.output_item.added",
                    "response.content_part.added", "response.output_text.delta", "response.output_text.done",
                    "response.content_part.done", "response.function_call_arguments.delta",
                    "response.function_call_arguments.done", "response.custom_tool_call_input.delta",
                    "response.custom_tool_call_input.done", "response.output_item.done", "response.completed",
                    "response.incomplete", "response.failed", "error")


@router.route("/chat/completions", ["POST"], summary="Chat completions (streaming and non-streaming)",
              streaming=True, body="shared.compat.schemas:ChatCompletionRequest", headers=[TOOLS_PARAM],
              responses={
                  200: Reply("A chat completion (`stream: true`: its chunks, then `data: [DONE]`)",
                             "openai.types.chat:ChatCompletion", alternatives=(Reply(
                                 media="text/event-stream",
                                 events={"message": "openai.types.chat:ChatCompletionChunk"}),)), **_FAILED})
def chat_completions(ctx: RequestContext):
    body = checked_body(ctx, openai_wire.BAD_BODY)
    request = openai_wire.parse(body)
    namespace = request_namespace(ctx)
    provider = request_provider(ctx, request.model)
    openai_wire.apply_max_tokens(body, request)
    ident, created = f"chatcmpl-{secrets.token_hex(4)}", int(time.time())
    principal = ctx.require_principal()
    tally = Tally(principal)  # a task token's usage, written once the answer is sent
    tools = None
    if server_tools_enabled(ctx):
        tools = compat_tools(principal, namespace)
    elif passthrough.speaks(provider, "openai"):
        return tally.after(passthrough.openai(body, provider, ident, stream=request.stream,
                                              error_body=stream_error_renderer("openai", ctx.request_id),
                                              on_usage=tally.sink))
    if not request.stream:
        outcome = engine.complete(request, provider, tools, namespace)
        tally.add(outcome.usage)
        return tally.after(openai_wire.response(ident, created, provider.model, outcome))
    events = primed(tally.events(engine.stream(request, provider, tools, namespace)))
    return tally.after(sse_response(openai_wire.frames(ident, created, provider.model, events,
                                                       include_usage=request.include_usage,
                                                       error_body=stream_error_renderer("openai", ctx.request_id)),
                                    heartbeat_seconds=None))  # the engine keeps the stream alive itself


@router.route("/responses", ["POST"], summary="Create a model response (Responses API, streaming and non-streaming)",
              streaming=True, body="shared.compat.schemas:ResponsesRequest", responses={
                  200: Reply("A response (`stream: true`: its events)", "openai.types.responses:Response",
                             alternatives=(Reply(media="text/event-stream", events=dict.fromkeys(
                                 _RESPONSE_EVENTS, "openai.types.responses:ResponseStreamEvent")),)), **_FAILED})
def create_response(ctx: RequestContext):
    """A model wire, whatever `X-Orka-Tools` says (coding agents such as the Codex CLI run their own
    tools): relayed to an OpenAI provider's /responses, translated for any other provider, one call."""
    body = ctx.json_object(message=responses_wire.BAD_BODY)
    responses_wire.check(body)  # OpenAI's own wording for the fields it checks; the model for the rest
    validate("shared.compat.schemas:ResponsesRequest", body)
    namespace = request_namespace(ctx)
    principal = ctx.require_principal()
    tally = Tally(principal)  # a task token's usage, written once the answer is sent
    provider = request_provider(ctx, body.get("model"))
    draft = responses_wire.Draft.of(body, provider.model)
    error_body = stream_error_renderer("openai", ctx.request_id)
    # Only OpenAI itself is sure to serve /responses; an OpenAI-compatible server (vLLM, Ollama, …)
    # often speaks chat completions alone, so its requests are translated like any other vendor's.
    if passthrough.speaks(provider, "openai") and provider.kind == "openai":
        return tally.after(passthrough.openai_responses(body, provider, draft, stream=bool(body.get("stream")),
                                                        error_body=error_body, on_usage=tally.sink))
    request = responses_wire.parse(body)
    if not request.stream:
        outcome = engine.complete(request, provider, None, namespace)
        tally.add(outcome.usage)
        return tally.after(responses_wire.response(draft, outcome))
    events = primed(tally.events(engine.stream(request, provider, None, namespace)))
    return tally.after(sse_response(responses_wire.frames(draft, events, error_body=error_body),
                                    heartbeat_seconds=None))


@router.route("/models", ["GET"], summary="List available models",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The configured models (`provider/model` and bare)",
                                    "shared.compat.schemas:OpenAIModelList")})
def list_openai_models(ctx: RequestContext):
    request_namespace(ctx)
    return {"object": "list", "data": [_model(m) for m in model_entries()]}


def _model(entry: dict) -> dict:
    return {**entry, "object": "model"}


# OpenAI's own wording for an unknown model (its 404 says `invalid_request_error`, `model_not_found`).
model_route(router, "model", "shared.compat.schemas:ModelEntry", _model,
            lambda ident: f"The model '{ident}' does not exist", "No listed model has this id (`code: model_not_found`)")
