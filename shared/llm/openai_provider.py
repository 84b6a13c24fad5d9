"""OpenAI and OpenAI-compatible providers through the official SDK (imported lazily)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from shared.llm.base import (
    CallOptions,
    Completion,
    Message,
    ProviderError,
    StreamEvent,
    ToolCall,
    ToolSpec,
    Usage,
)
from shared.llm.wire import SameWire


def to_openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
        elif m.role == "assistant" and m.tool_calls:
            out.append({"role": "assistant", "content": m.content or None, "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                for c in m.tool_calls]})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


class OpenAIProvider(SameWire):
    wire = "openai"  # the HTTP format it speaks, for same-wire proxying (shared.llm.wire)

    def __init__(self, name: str, model: str, *, api_key: str | None, base_url: str | None = None,
                 kind: str = "openai", timeout: float = 120.0) -> None:
        self.name, self.model, self.kind = name, model, kind
        self._api_key, self._base_url, self._timeout = api_key, base_url, timeout
        self._client: Any = None

    def _sdk(self) -> Any:
        if self._client is None:
            import openai  # lazy: ~0.8 s of import

            self._client = openai.OpenAI(api_key=self._api_key or "unused", base_url=self._base_url,
                                         timeout=self._timeout, max_retries=2)
        return self._client

    def _request(self, messages: list[Message], tools: list[ToolSpec] | None, max_tokens: int,
                 temperature: float | None, options: CallOptions | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.model, "messages": to_openai_messages(messages),
                                  "max_tokens": max_tokens}
        if temperature is not None:
            kwargs["temperature"] = temperature
        if tools:
            kwargs["tools"] = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                                  "parameters": t.parameters}} for t in tools]
        if options:
            kwargs.update(openai_options(options, bool(tools)))
        return kwargs

    def _error(self, exc: Exception) -> ProviderError:
        import openai

        if isinstance(exc, openai.APIStatusError):
            return ProviderError(f"{self.kind} provider error {exc.status_code}: {exc.message}",
                                 status=exc.status_code, retryable=exc.status_code in (429, 500, 502, 503))
        if isinstance(exc, openai.APIConnectionError):
            from shared.llm.base import unreachable
            from shared.llm.wire import base_url_for

            return unreachable(self.kind, base_url_for("openai", self._base_url), exc)
        return ProviderError(f"{self.kind} provider error: {type(exc).__name__}", retryable=True)

    def complete(self, messages: list[Message], *, tools: list[ToolSpec] | None = None,
                 max_tokens: int = 4096, temperature: float | None = None,
                 options: CallOptions | None = None) -> Completion:
        import openai

        try:
            response = self._sdk().chat.completions.create(**self._request(messages, tools, max_tokens, temperature,
                                                                           options))
        except openai.APIError as exc:
            raise self._error(exc) from None
        choice = response.choices[0]
        calls = [_tool_call(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls or []]
        usage = Usage(response.usage.prompt_tokens, response.usage.completion_tokens) if response.usage else Usage()
        return Completion(choice.message.content or "", calls, _stop(choice.finish_reason), usage, response.model)

    def stream(self, messages: list[Message], *, tools: list[ToolSpec] | None = None,
               max_tokens: int = 4096, temperature: float | None = None,
               options: CallOptions | None = None) -> Iterator[StreamEvent]:
        import openai

        kwargs = self._request(messages, tools, max_tokens, temperature, options)
        text, calls, finish, usage, model = [], {}, None, Usage(), self.model
        try:
            for chunk in self._sdk().chat.completions.create(**kwargs, stream=True,
                                                             stream_options={"include_usage": True}):
                model = chunk.model or model
                if chunk.usage:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                        yield StreamEvent("text_delta", text=delta.content)
                    for c in delta.tool_calls or []:  # fragments keyed by their stable index
                        entry = calls.setdefault(c.index, {"id": "", "name": "", "arguments": ""})
                        entry["id"] = c.id or entry["id"]
                        if c.function:
                            entry["name"] = c.function.name or entry["name"]
                            entry["arguments"] += c.function.arguments or ""
                    finish = choice.finish_reason or finish
        except openai.APIError as exc:
            raise self._error(exc) from None
        tool_calls = [_tool_call(e["id"], e["name"], e["arguments"]) for _, e in sorted(calls.items())]
        yield StreamEvent("done", completion=Completion("".join(text), tool_calls, _stop(finish), usage, model))


def openai_options(options: CallOptions, has_tools: bool) -> dict[str, Any]:
    """Neutral call options in OpenAI's fields (a tool choice only goes with tools, as OpenAI requires)."""
    out: dict[str, Any] = {}
    if options.stop:
        out["stop"] = list(options.stop)
    if options.top_p is not None:
        out["top_p"] = options.top_p
    if options.tool_choice and has_tools:
        out["tool_choice"] = ({"type": "function", "function": {"name": options.forced_tool}}
                              if options.tool_choice == "tool" else options.tool_choice)
    return out


def _tool_call(call_id: str, name: str, raw: str | None) -> ToolCall:
    try:
        arguments = json.loads(raw or "{}")
    except ValueError:
        arguments = {"_raw": raw}
    return ToolCall(id=call_id, name=name, arguments=arguments)


def _stop(finish_reason: str | None) -> str:
    return {"tool_calls": "tool_use", "length": "max_tokens"}.get(finish_reason or "", "end_turn")
