"""OpenAI and OpenAI-compatible providers through the official SDK (imported lazily)."""

from __future__ import annotations

import json
from typing import Any

from shared.llm.base import Completion, Message, ProviderError, ToolCall, ToolSpec, Usage


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


class OpenAIProvider:
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

    def complete(self, messages: list[Message], *, tools: list[ToolSpec] | None = None,
                 max_tokens: int = 4096, temperature: float | None = None) -> Completion:
        import openai

        kwargs: dict[str, Any] = {"model": self.model, "messages": to_openai_messages(messages),
                                  "max_tokens": max_tokens}
        if temperature is not None:
            kwargs["temperature"] = temperature
        if tools:
            kwargs["tools"] = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                                  "parameters": t.parameters}} for t in tools]
        try:
            response = self._sdk().chat.completions.create(**kwargs)
        except openai.APIStatusError as exc:
            raise ProviderError(f"{self.kind} provider error {exc.status_code}: {exc.message}",
                                status=exc.status_code, retryable=exc.status_code in (429, 500, 502, 503)) from None
        except openai.APIError as exc:
            raise ProviderError(f"{self.kind} provider error: {type(exc).__name__}", retryable=True) from None
        choice = response.choices[0]
        calls = []
        for c in choice.message.tool_calls or []:
            try:
                arguments = json.loads(c.function.arguments or "{}")
            except ValueError:
                arguments = {"_raw": c.function.arguments}
            calls.append(ToolCall(id=c.id, name=c.function.name, arguments=arguments))
        stop = {"tool_calls": "tool_use", "length": "max_tokens"}.get(choice.finish_reason or "", "end_turn")
        usage = Usage(response.usage.prompt_tokens, response.usage.completion_tokens) if response.usage else Usage()
        return Completion(choice.message.content or "", calls, stop, usage, response.model)
