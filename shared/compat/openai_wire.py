"""OpenAI chat-completions wire format: request → CompatRequest, Outcome/events → response/chunks.

Shapes follow the official client in strict mode (test-fixtures §5): the first chunk's delta is
{"role":"assistant","content":""}, tool-call deltas carry a stable index, the finish chunk has an
empty delta, usage comes in an extra chunk with "choices":[] only when
stream_options.include_usage, and the stream ends with `data: [DONE]` (never after an error).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from shared.compat.common import (
    CompatRequest,
    InvalidField,
    check_role,
    close_events,
    content_text,
    json_integer,
    json_list,
    json_number,
    json_strings,
    tool_arguments,
)
from shared.errors import Invalid, ShoalError, UpstreamError
from shared.llm.base import CallOptions, Message, ToolCall, ToolSpec

BAD_BODY = "invalid request body"
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length"}
# `function` is the deprecated role of a function-calling result: a tool result by another name.
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool",
          "function": "tool"}


def _text(content: Any) -> str:
    """A message's content: a string, or the text parts of a content-part list."""
    return content_text(content, BAD_BODY)


def _legacy_call_id(name: str) -> str:
    """The deprecated function-calling flow pairs a `function` message with the assistant's
    `function_call` by name alone; both get this id, so a provider sees an ordinary tool call and result."""
    return "call_" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _call(call: Any) -> ToolCall:
    """One entry of an assistant message's `tool_calls`: a function call, or a custom tool call
    (free-form text input, kept as {"input": ...})."""
    if isinstance(call, dict) and call.get("type") == "custom":
        custom = call.get("custom")
        if not isinstance(custom, dict) or not isinstance(custom.get("name"), str):
            raise Invalid(BAD_BODY)
        return ToolCall(id=str(call.get("id") or ""), name=custom["name"], arguments={"input": custom.get("input")})
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise Invalid(BAD_BODY)
    return ToolCall(id=str(call.get("id") or ""), name=function["name"], arguments=tool_arguments(function.get("arguments")))


def _message(item: Any, index: int) -> Message:
    check_role(item, index, _ROLES)
    role = _ROLES[item["role"]]
    raw_calls = item.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        raise Invalid(BAD_BODY)
    calls = [_call(call) for call in raw_calls]
    legacy = item.get("function_call")
    if role == "assistant" and isinstance(legacy, dict) and isinstance(legacy.get("name"), str):
        calls.append(ToolCall(id=_legacy_call_id(legacy["name"]), name=legacy["name"],
                              arguments=tool_arguments(legacy.get("arguments"))))
    name = item.get("name") if isinstance(item.get("name"), str) else None
    tool_call_id = item.get("tool_call_id")
    if item["role"] == "function":
        tool_call_id = _legacy_call_id(name or "")
    return Message(role=role, content=_text(item.get("content")), tool_calls=calls,
                   tool_call_id=tool_call_id if isinstance(tool_call_id, str) else None, name=name)


def _integer(value: Any) -> int | None:
    return json_integer(value, BAD_BODY)


def _tools(raw: Any) -> list[ToolSpec]:
    specs = []
    for tool in json_list(raw, BAD_BODY):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            continue
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise Invalid(BAD_BODY)
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        specs.append(ToolSpec(function["name"], function.get("description") or "", parameters))
    return specs


def _functions(raw: Any) -> list[ToolSpec]:
    """The deprecated `functions` list (function definitions without the tool wrapper)."""
    return _tools([{"type": "function", "function": f} for f in json_list(raw, BAD_BODY)])


def parse(body: dict[str, Any]) -> CompatRequest:
    """The checks before provider resolution, in Orka's order: body, messages, n."""
    messages = body.get("messages")
    if messages is not None and not isinstance(messages, list):
        raise Invalid(BAD_BODY)
    if not messages:
        raise Invalid("messages is required and must be non-empty")
    n = _integer(body.get("n"))
    if n is not None and n > 1:
        raise InvalidField("n", "n > 1 is not supported: underlying providers do not support multiple choices")
    model, temperature = body.get("model"), body.get("temperature")
    if model is not None and not isinstance(model, str):
        raise Invalid(BAD_BODY)
    json_number(temperature, BAD_BODY)
    options, stream = body.get("stream_options") or {}, body.get("stream")
    if not isinstance(options, dict) or (stream is not None and not isinstance(stream, bool)):
        raise Invalid(BAD_BODY)
    tools = _tools(body.get("tools")) or _functions(body.get("functions"))
    return CompatRequest(model=model, messages=[_message(m, i) for i, m in enumerate(messages)], tools=tools,
                         temperature=temperature, stream=bool(stream),
                         include_usage=bool(options.get("include_usage")), options=_call_options(body))


def _call_options(body: dict[str, Any]) -> CallOptions:
    """stop (a string or up to 4 strings), top_p, tool_choice ("auto"/"none"/"required"/a function/
    a custom tool/allowed_tools)."""
    stop, top_p, choice = body.get("stop"), body.get("top_p"), body.get("tool_choice")
    if isinstance(stop, str):
        stop = [stop]
    stop, top_p = json_strings(stop, BAD_BODY), json_number(top_p, BAD_BODY)
    forced = None
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        # The official document's "only these tools" form: its mode is carried, the subset is not
        # (the upstream still sees every tool the client declared).
        allowed = choice.get("allowed_tools")
        choice = allowed.get("mode") if isinstance(allowed, dict) else None
        if choice not in ("auto", "required"):
            raise Invalid(BAD_BODY)
    elif isinstance(choice, dict):
        # {"type":"function","function":{"name"}} or a custom tool {"type":"custom","custom":{"name"}}
        named = choice.get("custom") if choice.get("type") == "custom" else choice.get("function")
        if not isinstance(named, dict) or not isinstance(named.get("name"), str):
            raise Invalid(BAD_BODY)
        choice, forced = "tool", named["name"]
    elif choice is not None and choice not in ("auto", "none", "required"):
        raise Invalid(BAD_BODY)
    return CallOptions(stop=stop, top_p=top_p, tool_choice=choice, forced_tool=forced)


def apply_max_tokens(body: dict[str, Any], request: CompatRequest) -> None:
    """max_completion_tokens, else max_tokens; a positive value below 16 is refused (after resolution)."""
    value = _integer(body.get("max_completion_tokens"))
    if value is None:
        value = _integer(body.get("max_tokens"))
    if value is None:
        return
    if value > 0:
        if value < 16:
            raise InvalidField("max_tokens", f"max_tokens must be at least 16, got {value}")
        request.max_tokens = value


def _tool_calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in calls]


def usage(outcome: Any) -> dict[str, int]:
    prompt, completion = outcome.usage.input_tokens, outcome.usage.output_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _finish(outcome: Any, called: bool) -> str | None:
    """The finish reason, or None when the outcome is no answer: a plain stop with no text and no tool
    call (Orka answers that with a 502 rather than an empty completion a client would take as the reply)."""
    if called:
        return "tool_calls"
    if outcome.stop_reason in ("end_turn", "stop_sequence", "stop") and not outcome.text.strip():
        return None
    return FINISH.get(outcome.stop_reason, "stop")


def _no_answer(outcome: Any, *, streaming: bool) -> UpstreamError:
    what = "stream ended with" if streaming else "returned"
    return UpstreamError(f"provider {what} non-success outcome {json.dumps(outcome.stop_reason)}")


def response(ident: str, created: int, model: str, outcome: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": outcome.text, "refusal": None}
    if outcome.tool_calls:
        message["content"] = outcome.text or None
        message["tool_calls"] = _tool_calls(outcome.tool_calls)
    finish = _finish(outcome, bool(outcome.tool_calls))
    if finish is None:
        raise _no_answer(outcome, streaming=False)
    return {"id": ident, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": usage(outcome)}


def frames(ident: str, created: int, model: str, events: Iterable[Any], *, include_usage: bool,
           error_body: Any) -> Iterator[str]:
    """SSE frames for a stream of engine events; `error_body(exc)` renders a failure mid-stream."""

    def data(payload: Any) -> str:
        return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return data({"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    yield chunk({"role": "assistant", "content": ""})
    outcome, calls = None, 0
    try:
        for event in events:
            if event.kind in ("text", "progress") and event.text:
                yield chunk({"content": event.text})
            elif event.kind == "keepalive":
                yield ": keep-alive\n\n"  # an SSE comment: clients skip it
            elif event.kind == "tool_call":
                call = event.call
                yield chunk({"tool_calls": [{"index": calls, "id": call.id, "type": "function",
                                             "function": {"name": call.name, "arguments": ""}}]})
                yield chunk({"tool_calls": [{"index": calls, "function": {"arguments": json.dumps(call.arguments)}}]})
                calls += 1
            elif event.kind == "done":
                outcome = event.outcome
    except GeneratorExit:
        close_events(events)
        raise
    except Exception as exc:  # the client gets {"error":…} and no [DONE]
        yield data(error_body(exc))
        return
    if outcome is None:
        yield data(error_body(ShoalError("stream ended without a result")))
        return
    finish = _finish(outcome, bool(calls))
    if finish is None:
        yield data(error_body(_no_answer(outcome, streaming=True)))
        return
    yield chunk({}, finish)
    if include_usage:
        yield data({"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [], "usage": usage(outcome)})
    yield "data: [DONE]\n\n"
