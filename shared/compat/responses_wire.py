"""OpenAI Responses wire format (`POST /openai/v1/responses`): the checks every request passes, the
translation to the neutral message model, and the Response object / SSE events rendered back.

The endpoint is a model wire, like `/chat/completions` with `X-Orka-Tools: disabled`: one model call
with the client's own tools, whose tool calls go back to the client. On an OpenAI provider the request
is relayed as sent (shared.compat.passthrough); on any other provider it is translated here:

- `instructions` → a system message; `input` (a string: one user message; or items) → messages:
  `message` items (user; assistant; system and developer → system) with their input_text/output_text/
  text parts and refusals as text (images and files are dropped), `function_call`/`custom_tool_call` →
  tool calls of the assistant turn they belong to, `function_call_output`/`custom_tool_call_output` →
  tool results; reasoning items, item references and built-in tool calls are dropped;
- `function` tools as they are, `custom` tools (free-form text input) as a function taking
  {"input": "…"}; other tools (web_search, file_search, mcp, …) are ignored, and forcing one is refused;
- `max_output_tokens`, `temperature`, `top_p` and `tool_choice` are carried; `reasoning`, `text`, `store`,
  `include`, `parallel_tool_calls`, `truncation`, … are ignored; fields that need responses stored
  upstream (`previous_response_id`, `conversation`, `prompt`, `background`) are refused (400), since
  nothing is stored here and ignoring them would silently drop the conversation.

Streams are `event:`/`data:` pairs numbered by `sequence_number`: response.created, response.in_progress,
per output item output_item.added … output_item.done (a message: content_part.added, output_text.delta…,
output_text.done, content_part.done; a call: function_call_arguments.delta/.done or
custom_tool_call_input.delta/.done), then response.completed (response.incomplete when the token limit
cut the answer short). A failure after the stream started ends it with response.failed.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from shared.compat.common import (
    CompatRequest,
    InvalidField,
    close_events,
    json_integer,
    json_list,
    json_number,
    tool_arguments,
)
from shared.errors import Invalid, ShoalError
from shared.llm.base import CallOptions, Message, ToolCall, ToolSpec, Usage

BAD_BODY = "invalid request body"
MIN_OUTPUT_TOKENS = 16  # the official document's minimum for max_output_tokens
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_TEXT_PARTS = ("input_text", "output_text", "text")
_CALLS = ("function_call", "custom_tool_call")
_RESULTS = ("function_call_output", "custom_tool_call_output")
# Fields that refer to responses stored upstream: no provider behind the translation has them.
_STORED = ("previous_response_id", "conversation", "prompt", "background")
_CUSTOM_INPUT = {"type": "object", "properties": {"input": {"type": "string", "description": "The tool's input"}},
                 "required": ["input"]}


def _typed(body: dict[str, Any], name: str, reader: Callable[[Any, str], Any], expected: str) -> Any:
    """`reader(value, bad)` (common.json_*), with a wrong type reported against the field."""
    try:
        return reader(body.get(name), BAD_BODY)
    except Invalid:
        raise InvalidField(name, f"invalid type for '{name}': expected {expected}") from None


def _optional_string(body: dict[str, Any], name: str) -> None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidField(name, f"invalid type for '{name}': expected a string")


# -- checks (both paths) ---------------------------------------------------------------------------------
def check(body: dict[str, Any]) -> None:
    """What every request must get right before its namespace and provider are resolved, on either path:
    each field's type and range (as the official document has them), and a tool_choice that names only
    a tool the request declares."""
    _optional_string(body, "model")
    _optional_string(body, "instructions")
    items = body.get("input")
    if items is not None and not isinstance(items, str):
        if not isinstance(items, list):
            raise InvalidField("input", "invalid type for 'input': expected a string or an array of input items")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise InvalidField(f"input[{i}]", f"invalid type for 'input[{i}]': expected an object")
    if body.get("stream") is not None and not isinstance(body["stream"], bool):
        raise InvalidField("stream", "invalid type for 'stream': expected a boolean")
    limit = _typed(body, "max_output_tokens", json_integer, "an integer")
    if limit is not None and limit < MIN_OUTPUT_TOKENS:
        raise InvalidField("max_output_tokens", f"max_output_tokens must be at least {MIN_OUTPUT_TOKENS}, got {limit}")
    for name, top in (("temperature", 2), ("top_p", 1)):
        value = _typed(body, name, json_number, "a number")
        if value is not None and not 0 <= value <= top:
            raise InvalidField(name, f"{name} must be between 0 and {top}, got {value}")
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())):
        raise InvalidField("metadata", "invalid type for 'metadata': expected an object of strings")
    tools = _typed(body, "tools", json_list, "an array of tools")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            raise InvalidField(f"tools[{i}]", f"invalid 'tools[{i}]': expected a tool object with a type")
        if tool["type"] in ("function", "custom") and not isinstance(tool.get("name"), str):
            raise InvalidField(f"tools[{i}].name", f"missing required parameter: 'tools[{i}].name'")
    _check_choice(body.get("tool_choice"), tools)


def _declared(tools: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The function and custom tool names a request declares (a namespace's functions included)."""
    names: dict[str, set[str]] = {"function": set(), "custom": set()}
    for tool in tools:
        if tool["type"] in names:
            names[tool["type"]].add(tool["name"])
        elif tool["type"] == "namespace" and isinstance(tool.get("tools"), list):
            names["function"].update(t.get("name") for t in tool["tools"] if isinstance(t, dict))
    return names


def _check_choice(choice: Any, tools: list[dict[str, Any]]) -> None:
    if choice is None or choice in ("auto", "none", "required"):
        return
    if not isinstance(choice, dict) or not isinstance(choice.get("type"), str):
        raise InvalidField("tool_choice", "invalid 'tool_choice': expected \"auto\", \"none\", \"required\" "
                                          "or a tool choice object")
    kind = choice["type"]
    if kind in ("function", "custom"):
        name = choice.get("name")
        if not isinstance(name, str):
            raise InvalidField("tool_choice", "missing required parameter: 'tool_choice.name'")
        if name not in _declared(tools)[kind]:
            raise InvalidField("tool_choice", f"tool_choice names {kind} '{name}', which is not in tools")
    elif kind == "allowed_tools" and choice.get("mode") not in ("auto", "required"):
        raise InvalidField("tool_choice", "invalid 'tool_choice.mode': expected \"auto\" or \"required\"")


# -- translation (providers that do not speak the Responses API) -----------------------------------------
def parse(body: dict[str, Any]) -> CompatRequest:
    """The request in the neutral model (after `check` and provider resolution)."""
    for name in _STORED:
        if body.get(name) not in (None, False):
            raise InvalidField(name, f"{name} needs responses stored upstream, which this provider does not "
                                     "have: send the whole conversation in input")
    messages = _messages(body.get("input"))
    if not messages:
        raise InvalidField("input", "input is required and must be non-empty")
    if body.get("instructions"):
        messages.insert(0, Message(role="system", content=body["instructions"]))
    tools = _tools(json_list(body.get("tools"), BAD_BODY))
    limit = json_integer(body.get("max_output_tokens"), BAD_BODY)
    return CompatRequest(model=body.get("model"), messages=messages, tools=tools,
                         **({"max_tokens": limit} if limit else {}), temperature=body.get("temperature"),
                         stream=bool(body.get("stream")), options=_call_options(body, tools))


def _messages(raw: Any) -> list[Message]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [Message(role="user", content=raw)]
    out: list[Message] = []
    for i, item in enumerate(raw):
        kind = item.get("type") or ("message" if "role" in item else None)  # easy messages may omit type
        if kind == "message":
            role = _ROLES.get(item.get("role"))
            if role is None:
                raise InvalidField(f"input[{i}].role", f"invalid 'input[{i}].role': expected user, assistant, "
                                                       "system or developer")
            text = _text(item.get("content"), f"input[{i}].content")
            if role == "assistant":
                turn = _assistant_turn(out)
                turn.content = "\n".join(t for t in (turn.content, text) if t)
            else:
                out.append(Message(role=role, content=text))
        elif kind in _CALLS:
            _assistant_turn(out).tool_calls.append(_call(item, i))
        elif kind in _RESULTS:
            out.append(Message(role="tool", content=_text(item.get("output"), f"input[{i}].output"),
                               tool_call_id=_required_string(item, "call_id", i)))
        # anything else (reasoning, item references, built-in tool calls) has no neutral form: dropped
    return out


def _assistant_turn(out: list[Message]) -> Message:
    """Consecutive assistant items (text, function and custom tool calls) are one assistant turn, as
    providers expect it (Anthropic pairs tool results with the tool uses of the turn just before)."""
    if not out or out[-1].role != "assistant":
        out.append(Message(role="assistant"))
    return out[-1]


def _text(content: Any, param: str) -> str:
    """A message's content or a tool's output: a string, or the text of its parts (text and refusals)."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list) or not all(isinstance(p, dict) for p in content):
        raise InvalidField(param, f"invalid type for '{param}': expected a string or an array of content parts")
    texts = [p.get("text") if p.get("type") in _TEXT_PARTS else p.get("refusal") if p.get("type") == "refusal"
             else None for p in content]
    return "\n".join(t for t in texts if isinstance(t, str))


def _required_string(item: dict[str, Any], name: str, index: int) -> str:
    value = item.get(name)
    if not isinstance(value, str):
        raise InvalidField(f"input[{index}].{name}", f"missing required parameter: 'input[{index}].{name}'")
    return value


def _call(item: dict[str, Any], index: int) -> ToolCall:
    call_id, name = _required_string(item, "call_id", index), _required_string(item, "name", index)
    if item["type"] == "custom_tool_call":  # free-form text, kept as {"input": ...} as chat completions does
        return ToolCall(id=call_id, name=name, arguments={"input": _required_string(item, "input", index)})
    return ToolCall(id=call_id, name=name, arguments=tool_arguments(item.get("arguments")))


def _tools(tools: list[dict[str, Any]]) -> list[ToolSpec]:
    specs = []
    for tool in tools:
        description = tool.get("description") if isinstance(tool.get("description"), str) else ""
        if tool["type"] == "function":
            parameters = tool.get("parameters")
            specs.append(ToolSpec(tool["name"], description, parameters if isinstance(parameters, dict)
                                  else {"type": "object", "properties": {}}))
        elif tool["type"] == "custom":
            specs.append(ToolSpec(tool["name"], _custom_description(description, tool.get("format")), _CUSTOM_INPUT))
        # built-in tools (web_search, file_search, mcp, shell, …) run at OpenAI: nothing to offer here
    return specs


def _custom_description(description: str, fmt: Any) -> str:
    """A custom tool's description, with its grammar when it has one (the model has no other way to
    learn the input's syntax once the tool is a plain function)."""
    if isinstance(fmt, dict) and fmt.get("type") == "grammar" and isinstance(fmt.get("definition"), str):
        syntax = fmt.get("syntax") if isinstance(fmt.get("syntax"), str) else ""
        return f"{description}\n\nThe input must follow this {syntax} grammar:\n{fmt['definition']}".strip()
    return description


def _call_options(body: dict[str, Any], tools: list[ToolSpec]) -> CallOptions:
    """top_p and tool_choice ("auto"/"none"/"required", a named function or custom tool, allowed_tools'
    mode). Forcing a tool this path cannot offer (built-in, or none left) is refused, not ignored."""
    choice, forced = body.get("tool_choice"), None
    if isinstance(choice, dict):
        name = choice.get("name")
        if choice["type"] in ("function", "custom") and name in {t.name for t in tools}:
            choice, forced = "tool", name
        elif choice["type"] == "allowed_tools":  # its mode is carried, the subset is not (as chat completions)
            choice = choice["mode"]
        else:
            raise InvalidField("tool_choice", f"tool_choice forces the {choice['type']} tool "
                                              f"{name or choice['type']!r}, which this provider cannot run")
    if choice == "required" and not tools:
        raise InvalidField("tool_choice", "tool_choice 'required' needs a function or custom tool")
    return CallOptions(top_p=json_number(body.get("top_p"), BAD_BODY), tool_choice=choice, forced_tool=forced)


# -- rendering -----------------------------------------------------------------------------------------
def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _compact(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


@dataclass(frozen=True)
class Draft:
    """The Response being answered: our id, and what a Response object repeats from its request."""

    ident: str
    created: int
    model: str
    echo: dict[str, Any]
    custom: frozenset[str]  # custom tools' names: their calls go back as custom_tool_call items

    @classmethod
    def of(cls, body: dict[str, Any], model: str) -> Draft:
        """For a request that passed `check`. What is repeated is what was checked or offered to the
        model: its function and custom tools (built-in ones were not), the tool choice in its checked
        form, and no field a check did not look at."""
        tools = [_offered(t) for t in json_list(body.get("tools"), BAD_BODY) if t["type"] in ("function", "custom")]
        parallel = body.get("parallel_tool_calls")
        echo = {"instructions": body.get("instructions"), "tools": tools,
                "tool_choice": _choice(body.get("tool_choice")),
                "parallel_tool_calls": parallel if isinstance(parallel, bool) else True,
                "metadata": body.get("metadata") or {}, "temperature": body.get("temperature"),
                "top_p": body.get("top_p"), "max_output_tokens": json_integer(body.get("max_output_tokens"), BAD_BODY)}
        return cls(_new_id("resp"), int(time.time()), model, echo,
                   frozenset(t["name"] for t in tools if t["type"] == "custom"))

    def response(self, status: str, output: list[dict[str, Any]], usage: Usage | None = None, *,
                 error: dict[str, Any] | None = None, incomplete: dict[str, Any] | None = None) -> dict[str, Any]:
        doc = {"id": self.ident, "object": "response", "created_at": self.created, "status": status,
               "completed_at": int(time.time()) if status == "completed" else None, "error": error,
               "incomplete_details": incomplete, "model": self.model, "output": output, **self.echo}
        if usage is not None:
            doc["usage"] = _usage(usage)
        return doc

    def call_item(self, call: ToolCall, ident: str, *, done: bool) -> dict[str, Any]:
        """A tool call as an output item: arguments (or a custom tool's input) empty until it is done.
        `call_id` is the provider's call id, which the client's function_call_output answers."""
        if call.name in self.custom:
            return {"id": ident, "type": "custom_tool_call", "call_id": call.id, "name": call.name,
                    "input": _custom_input(call) if done else ""}
        return {"id": ident, "type": "function_call", "status": "completed" if done else "in_progress",
                "call_id": call.id, "name": call.name, "arguments": json.dumps(call.arguments) if done else ""}


def _identified(call: ToolCall) -> ToolCall:
    """The call with an id to answer (a provider that names none gets one)."""
    return call if call.id else ToolCall(id=_new_id("call"), name=call.name, arguments=call.arguments)


def _offered(tool: dict[str, Any]) -> dict[str, Any]:
    """A function or custom tool as a Response lists it (only the parts `_tools` read)."""
    description = tool.get("description") if isinstance(tool.get("description"), str) else None
    if tool["type"] == "function":
        parameters, strict = tool.get("parameters"), tool.get("strict")
        return {"type": "function", "name": tool["name"], "description": description,
                "parameters": parameters if isinstance(parameters, dict) else None,
                "strict": strict if isinstance(strict, bool) else None}
    offered = {"type": "custom", "name": tool["name"], **({"description": description} if description else {})}
    fmt = tool.get("format")
    if isinstance(fmt, dict) and (fmt.get("type") == "text" or (
            fmt.get("type") == "grammar" and fmt.get("syntax") in ("lark", "regex")
            and isinstance(fmt.get("definition"), str))):
        offered["format"] = {k: fmt[k] for k in ("type", "syntax", "definition") if k in fmt}
    return offered


def _choice(choice: Any) -> Any:
    """The request's tool choice as a Response repeats it ("auto" when it named none)."""
    if not isinstance(choice, dict):
        return choice or "auto"
    if choice["type"] in ("function", "custom"):
        return {"type": choice["type"], "name": choice["name"]}
    if choice["type"] == "allowed_tools":
        tools = choice.get("tools") if isinstance(choice.get("tools"), list) else []
        return {"type": "allowed_tools", "mode": choice["mode"], "tools": [t for t in tools if isinstance(t, dict)]}
    return choice  # a built-in tool's choice: only the same-wire relay accepts it, and the upstream words it


def _custom_input(call: ToolCall) -> str:
    value = call.arguments.get("input")
    return value if isinstance(value, str) else json.dumps(call.arguments)


def _usage(usage: Usage) -> dict[str, Any]:
    return {"input_tokens": usage.input_tokens, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": usage.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage.input_tokens + usage.output_tokens}


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(ident: str, text: str | None, status: str) -> dict[str, Any]:
    """An assistant message; `text` None while it is being streamed (no content part yet)."""
    return {"id": ident, "type": "message", "status": status, "role": "assistant",
            "content": [] if text is None else [_text_part(text)]}


def _ending(outcome: Any) -> tuple[str, dict[str, Any] | None]:
    """The response's status and incomplete_details: a token limit leaves it incomplete."""
    if outcome.stop_reason == "max_tokens" and not outcome.tool_calls:
        return "incomplete", {"reason": "max_output_tokens"}
    return "completed", None


def response(draft: Draft, outcome: Any) -> dict[str, Any]:
    """The whole Response object (non-streaming)."""
    status, incomplete = _ending(outcome)
    output = []
    if outcome.text or not outcome.tool_calls:
        output.append(_message_item(_new_id("msg"), outcome.text, "incomplete" if incomplete else "completed"))
    output += [draft.call_item(_identified(call), _new_id("fc"), done=True) for call in outcome.tool_calls]
    return draft.response(status, output, outcome.usage, incomplete=incomplete)


def event(kind: str, sequence: int, **fields: Any) -> str:
    return f"event: {kind}\ndata: {_compact({'type': kind, **fields, 'sequence_number': sequence})}\n\n"


def failed_event(snapshot: dict[str, Any], message: str, sequence: int) -> str:
    """response.failed for a response whose stream broke off: the last state the client was told, failed."""
    return event("response.failed", sequence, response={
        **snapshot, "status": "failed", "completed_at": None, "error": {"code": "server_error", "message": message}})


class _Writer:
    """One streamed response's events, numbered in order, and the output items finished so far."""

    def __init__(self, draft: Draft) -> None:
        self.draft = draft
        self.sequence = 0
        self.output: list[dict[str, Any]] = []
        self.message: dict[str, Any] | None = None  # the message item being streamed
        self.text: list[str] = []

    def event(self, kind: str, **fields: Any) -> str:
        self.sequence += 1
        return event(kind, self.sequence - 1, **fields)

    def start(self) -> Iterator[str]:
        snapshot = self.draft.response("in_progress", [])
        yield self.event("response.created", response=snapshot)
        yield self.event("response.in_progress", response=snapshot)

    def _where(self) -> dict[str, Any]:
        return {"item_id": self.message["id"], "output_index": len(self.output), "content_index": 0}  # type: ignore[index]

    def open_message(self) -> Iterator[str]:
        self.message, self.text = _message_item(_new_id("msg"), None, "in_progress"), []
        yield self.event("response.output_item.added", output_index=len(self.output), item=self.message)
        yield self.event("response.content_part.added", **self._where(), part=_text_part(""))

    def delta(self, text: str) -> Iterator[str]:
        if self.message is None:
            yield from self.open_message()
        self.text.append(text)
        yield self.event("response.output_text.delta", **self._where(), delta=text, logprobs=[])

    def end_message(self, status: str = "completed") -> Iterator[str]:
        if self.message is None:
            return
        text = "".join(self.text)
        yield self.event("response.output_text.done", **self._where(), text=text, logprobs=[])
        yield self.event("response.content_part.done", **self._where(), part=_text_part(text))
        item = {**self.message, "status": status, "content": [_text_part(text)]}
        yield self.event("response.output_item.done", output_index=len(self.output), item=item)
        self.output.append(item)
        self.message = None

    def call(self, call: ToolCall) -> Iterator[str]:
        yield from self.end_message()
        call, ident, index = _identified(call), _new_id("fc"), len(self.output)
        item = self.draft.call_item(call, ident, done=True)
        yield self.event("response.output_item.added", output_index=index,
                         item=self.draft.call_item(call, ident, done=False))
        if item["type"] == "custom_tool_call":
            yield self.event("response.custom_tool_call_input.delta", item_id=ident, output_index=index,
                             delta=item["input"])
            yield self.event("response.custom_tool_call_input.done", item_id=ident, output_index=index,
                             input=item["input"])
        else:
            yield self.event("response.function_call_arguments.delta", item_id=ident, output_index=index,
                             delta=item["arguments"])
            yield self.event("response.function_call_arguments.done", item_id=ident, output_index=index,
                             name=call.name, arguments=item["arguments"])
        yield self.event("response.output_item.done", output_index=index, item=item)
        self.output.append(item)

    def finish(self, outcome: Any) -> Iterator[str]:
        status, incomplete = _ending(outcome)
        if self.message is None and not self.output:  # no text and no calls: still one (empty) message
            yield from self.open_message()
        yield from self.end_message("incomplete" if incomplete else "completed")
        kind = "response.completed" if status == "completed" else "response.incomplete"
        yield self.event(kind, response=self.draft.response(status, self.output, outcome.usage,
                                                            incomplete=incomplete))

    def fail(self, message: str) -> str:
        self.sequence += 1
        return failed_event(self.draft.response("in_progress", self.output), message, self.sequence - 1)


def frames(draft: Draft, events: Iterable[Any], *, error_body: Callable[[Exception], Any]) -> Iterator[str]:
    """SSE events for a stream of engine events; `error_body(exc)` (the OpenAI error body) words a failure."""
    writer = _Writer(draft)
    yield from writer.start()
    outcome = None
    try:
        for item in events:
            if item.kind in ("text", "progress") and item.text:
                yield from writer.delta(item.text)
            elif item.kind == "tool_call":
                yield from writer.call(item.call)
            elif item.kind == "keepalive":
                yield ": keep-alive\n\n"  # an SSE comment: clients skip it
            elif item.kind == "done":
                outcome = item.outcome
    except GeneratorExit:
        close_events(events)
        raise
    except Exception as exc:
        yield writer.fail(error_body(exc)["error"]["message"])
        return
    if outcome is None:
        yield writer.fail(error_body(ShoalError("stream ended without a result"))["error"]["message"])
        return
    yield from writer.finish(outcome)
