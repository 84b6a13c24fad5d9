"""Anthropic Messages wire format: request → CompatRequest, Outcome/events → message/SSE events.

Streams follow the official client's accumulator (test-fixtures §5): every frame has an `event:`
line, `message_start` comes first and once for the whole loop, then `ping`, content blocks
(text deltas; tool use as input_json_delta), `message_delta` with the stop reason and usage, and
`message_stop`. A failure mid-stream is an `event: error` frame.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from shared.compat.common import (
    CompatRequest,
    check_role,
    close_events,
    content_text,
    json_integer,
    json_list,
    json_number,
    json_strings,
)
from shared.errors import Invalid, ShoalError
from shared.llm.base import CallOptions, Message, ToolCall, ToolSpec

BAD_BODY = "invalid request body"
BAD_CONTENT = "failed to convert messages: content must be a string or array of content blocks"


def check(body: dict[str, Any], *, max_tokens: bool = True) -> None:
    """Orka's checks before provider resolution, in order: model, messages, max_tokens (not for
    count_tokens, whose body has none)."""
    model, messages = body.get("model"), body.get("messages")
    if (model is not None and not isinstance(model, str)) or (messages is not None and not isinstance(messages, list)):
        raise Invalid(BAD_BODY)
    limit = json_integer(body.get("max_tokens"), BAD_BODY) if max_tokens else 1
    if not model:
        raise Invalid("model is required")
    if not messages:
        raise Invalid("messages is required and must be non-empty")
    if limit is None or limit <= 0:
        raise Invalid("max_tokens is required and must be greater than 0")


def _block_text(content: Any) -> str:
    return content_text(content, BAD_CONTENT)


def _system(raw: Any) -> str:
    try:
        return _block_text(raw)
    except Invalid:
        raise Invalid("failed to parse system prompt: system must be a string or array of content blocks") from None


def _messages(raw: list[Any]) -> list[Message]:
    out: list[Message] = []
    for index, item in enumerate(raw):
        # "system" turns are in the official document's InputMessage roles (instructions mid-conversation)
        check_role(item, index, ("user", "assistant", "system"))
        role, content = item["role"], item.get("content")
        if isinstance(content, str):
            out.append(Message(role=role, content=content))
            continue
        if not isinstance(content, list):
            raise Invalid(BAD_CONTENT)
        texts, calls, results = [], [], []
        for block in content:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif kind == "tool_use":
                arguments = block.get("input") if isinstance(block.get("input"), dict) else {}
                calls.append(ToolCall(id=str(block.get("id") or ""), name=str(block.get("name") or ""),
                                      arguments=arguments))
            elif kind == "tool_result":
                results.append(Message(role="tool", content=_block_text(block.get("content")),
                                       tool_call_id=str(block.get("tool_use_id") or "")))
            elif kind is None:
                raise Invalid(BAD_CONTENT)
            # other block types (images, thinking, documents) carry no text for the model model here
        out.extend(results)  # tool results answer the previous assistant turn: they come first
        if texts or calls or not results:
            out.append(Message(role=role, content="\n".join(texts), tool_calls=calls))
    return out


def _tools(raw: Any) -> list[ToolSpec]:
    specs = []
    for tool in json_list(raw, BAD_BODY):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise Invalid(BAD_BODY)
        if tool.get("type") not in (None, "custom"):
            continue  # Anthropic's own server tools (web_search_…) have no schema to forward
        schema = tool.get("input_schema") or {"type": "object", "properties": {}}
        specs.append(ToolSpec(tool["name"], tool.get("description") or "", schema))
    return specs


def parse(body: dict[str, Any]) -> CompatRequest:
    """The request in the neutral model (after `check` and provider resolution, as Orka does)."""
    temperature = body.get("temperature")
    json_number(temperature, BAD_BODY)
    if not isinstance(body.get("stream", False), bool):
        raise Invalid(BAD_BODY)
    request = conversation(body)
    request.max_tokens = json_integer(body["max_tokens"], BAD_BODY)
    request.temperature, request.stream, request.options = temperature, bool(body.get("stream")), _call_options(body)
    return request


def conversation(body: dict[str, Any]) -> CompatRequest:
    """What the model would read (system, messages, tools), checked as `parse` checks it: all that
    count_tokens needs, and what `parse` adds the call's settings to."""
    messages = _messages(body["messages"])
    system = _system(body.get("system"))
    if system:
        messages.insert(0, Message(role="system", content=system))
    return CompatRequest(model=body["model"], messages=messages, tools=_tools(body.get("tools")))


_CHOICES = {"auto": "auto", "any": "required", "none": "none", "tool": "tool"}


def _call_options(body: dict[str, Any]) -> CallOptions:
    """stop_sequences, top_p, tool_choice ({"type": auto|any|none|tool, "name"})."""
    stop, top_p, choice = body.get("stop_sequences"), body.get("top_p"), body.get("tool_choice")
    stop, top_p = json_strings(stop, BAD_BODY), json_number(top_p, BAD_BODY)
    kind = forced = None
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in _CHOICES:
            raise Invalid(BAD_BODY)
        kind = _CHOICES[choice["type"]]
        if kind == "tool":
            if not isinstance(choice.get("name"), str):
                raise Invalid(BAD_BODY)
            forced = choice["name"]
    return CallOptions(stop=stop, top_p=top_p, tool_choice=kind, forced_tool=forced)


# The official document lists every response field as present, with null where there is nothing to
# report (Anthropic's own API sends them): we say "no citations", "called directly by the model",
# "no stop details / container" and "no cache or server-tool figures" rather than leave them out.
def _text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text, "citations": None}


def _tool_use_block(call: ToolCall, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": arguments, "caller": {"type": "direct"}}


_NO_FIGURES = {"cache_creation_input_tokens": None, "cache_read_input_tokens": None, "output_tokens_details": None,
               "server_tool_use": None}


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, **_NO_FIGURES, "cache_creation": None,
            "inference_geo": None, "service_tier": None}


def _content(outcome: Any) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if outcome.text or not outcome.tool_calls:
        blocks.append(_text_block(outcome.text))
    blocks += [_tool_use_block(c, c.arguments) for c in outcome.tool_calls]
    return blocks


def _stop(outcome: Any) -> str:
    return "tool_use" if outcome.tool_calls else outcome.stop_reason


def message(ident: str, model: str, outcome: Any) -> dict[str, Any]:
    return {"id": ident, "type": "message", "role": "assistant", "content": _content(outcome), "model": model,
            "stop_reason": _stop(outcome), "stop_sequence": None, "stop_details": None, "container": None,
            "usage": _usage(outcome.usage.input_tokens, outcome.usage.output_tokens)}


def frames(ident: str, model: str, events: Iterable[Any], *, error_body: Any) -> Iterator[str]:
    """SSE events for a stream of engine events; `error_body(exc)` renders a failure mid-stream."""

    def event(kind: str, data: dict[str, Any]) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data}, separators=(',', ':'))}\n\n"

    yield event("message_start", {"message": {
        "id": ident, "type": "message", "role": "assistant", "content": [], "model": model, "stop_reason": None,
        "stop_sequence": None, "stop_details": None, "container": None, "usage": _usage(0, 0)}})
    yield event("ping", {})
    index, text_open, outcome = -1, False, None

    def start(block: dict[str, Any]) -> str:
        return event("content_block_start", {"index": index, "content_block": block})

    try:
        for item in events:
            if item.kind == "text" and item.text:
                if not text_open:
                    index, text_open = index + 1, True
                    yield start(_text_block(""))
                yield event("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": item.text}})
            elif item.kind in ("progress", "tool_call"):
                if text_open:
                    yield event("content_block_stop", {"index": index})
                    text_open = False
                index += 1
                if item.kind == "progress":  # server-side tool results reach the client as text blocks
                    yield start(_text_block(""))
                    yield event("content_block_delta", {"index": index, "delta": {"type": "text_delta",
                                                                                  "text": item.text}})
                else:
                    call = item.call
                    yield start(_tool_use_block(call, {}))
                    yield event("content_block_delta", {"index": index, "delta": {
                        "type": "input_json_delta", "partial_json": json.dumps(call.arguments)}})
                yield event("content_block_stop", {"index": index})
            elif item.kind == "keepalive":
                yield event("ping", {})
            elif item.kind == "done":
                outcome = item.outcome
    except GeneratorExit:
        close_events(events)
        raise
    except Exception as exc:
        body = error_body(exc)
        yield f"event: error\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"
        return
    if outcome is None:
        body = error_body(ShoalError("stream ended without a result"))
        yield f"event: error\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"
        return
    if text_open:
        yield event("content_block_stop", {"index": index})
    yield event("message_delta", {"delta": {"stop_reason": _stop(outcome), "stop_sequence": None,
                                            "stop_details": None, "container": None},
                                  "usage": {"input_tokens": outcome.usage.input_tokens,
                                            "output_tokens": outcome.usage.output_tokens, **_NO_FIGURES}})
    yield event("message_stop", {})
