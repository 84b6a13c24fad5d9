"""The Anthropic provider through the official SDK (imported lazily: ~1.8 s)."""

from __future__ import annotations

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

# Error types of a failed stream that a retry may cure: Anthropic's SSE `error` events, and Bedrock's
# exception frames (botocore names them by their `:exception-type`).
RETRYABLE_STREAM_ERRORS = frozenset({
    "overloaded_error", "rate_limit_error", "api_error", "timeout_error",
    "throttlingException", "serviceUnavailableException", "internalServerException",
    "modelStreamErrorException", "modelTimeoutException"})


def to_anthropic(messages: list[Message]) -> tuple[str, list[dict[str, Any]]]:
    """(system prompt, messages) with tool results as user tool_result blocks."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif m.role == "assistant" and m.tool_calls:
            content: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
            content += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in m.tool_calls]
            out.append({"role": "assistant", "content": content})
        else:
            out.append({"role": m.role, "content": m.content})
    return system, out


class AnthropicProvider(SameWire):
    kind = "anthropic"
    wire = "anthropic"  # the HTTP format it speaks, for same-wire proxying (shared.llm.wire)

    def __init__(self, name: str, model: str, *, api_key: str | None, base_url: str | None = None,
                 timeout: float = 120.0) -> None:
        self.name, self.model = name, model
        self._api_key, self._base_url, self._timeout = api_key, base_url, timeout
        self._client: Any = None

    def _sdk(self) -> Any:
        if self._client is None:
            import anthropic

            self._client = anthropic.Anthropic(api_key=self._api_key, base_url=self._base_url,
                                               timeout=self._timeout, max_retries=2)
        return self._client

    def _request(self, messages: list[Message], tools: list[ToolSpec] | None, max_tokens: int,
                 temperature: float | None, options: CallOptions | None = None) -> dict[str, Any]:
        system, converted = to_anthropic(messages)
        kwargs: dict[str, Any] = {"model": self.model, "messages": converted, "max_tokens": max_tokens}
        if system:
            kwargs["system"] = system
        # This SDK's create() no longer names temperature/top_p; the Messages API still takes them.
        sampling = {"temperature": temperature} if temperature is not None else {}
        if tools:
            kwargs["tools"] = [{"name": t.name, "description": t.description, "input_schema": t.parameters}
                               for t in tools]
        if options:
            kwargs.update(anthropic_options(options, bool(tools)))
        if "top_p" in kwargs:
            sampling["top_p"] = kwargs.pop("top_p")
        if sampling:
            kwargs["extra_body"] = sampling
        return kwargs

    def _error(self, exc: Exception) -> ProviderError:
        """The SDK's failure as a ProviderError naming this provider's kind (bedrock and vertex-anthropic
        share this client code); an error event inside a 200 stream is named by its type, not by 200."""
        import anthropic

        if isinstance(exc, anthropic.APIStatusError) and exc.status_code == 200:
            error = exc.body.get("error") if isinstance(exc.body, dict) else None
            kind = error.get("type") if isinstance(error, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            return ProviderError(f"{self.kind} provider error: {kind or 'stream error'}: {message or exc.message}",
                                 retryable=kind in RETRYABLE_STREAM_ERRORS)
        if isinstance(exc, anthropic.APIStatusError):
            return ProviderError(f"{self.kind} provider error {exc.status_code}: {exc.message}",
                                 status=exc.status_code, retryable=exc.status_code in (429, 500, 502, 503, 529))
        if isinstance(exc, anthropic.APIConnectionError):
            from shared.llm.base import unreachable

            return unreachable(self.kind, str(self._sdk().base_url).rstrip("/"), exc)
        return ProviderError(f"{self.kind} provider error: {type(exc).__name__}", retryable=True)

    def complete(self, messages: list[Message], *, tools: list[ToolSpec] | None = None,
                 max_tokens: int = 4096, temperature: float | None = None,
                 options: CallOptions | None = None) -> Completion:
        import anthropic

        try:
            response = self._sdk().messages.create(**self._request(messages, tools, max_tokens, temperature, options))
        except anthropic.APIError as exc:
            raise self._error(exc) from None
        return _completion(response)

    def stream(self, messages: list[Message], *, tools: list[ToolSpec] | None = None,
               max_tokens: int = 4096, temperature: float | None = None,
               options: CallOptions | None = None) -> Iterator[StreamEvent]:
        import anthropic

        try:
            with self._sdk().messages.stream(**self._request(messages, tools, max_tokens, temperature,
                                                             options)) as stream:
                for event in stream:
                    if event.type == "content_block_delta" and event.delta.type == "text_delta":
                        yield StreamEvent("text_delta", text=event.delta.text)
                final = stream.get_final_message()
        except anthropic.APIError as exc:
            raise self._error(exc) from None
        yield StreamEvent("done", completion=_completion(final))


def anthropic_options(options: CallOptions, has_tools: bool) -> dict[str, Any]:
    """Neutral call options in Anthropic's fields ("required" is Anthropic's "any")."""
    out: dict[str, Any] = {}
    if options.stop:
        out["stop_sequences"] = list(options.stop)
    if options.top_p is not None:
        out["top_p"] = options.top_p
    if options.tool_choice and has_tools:
        out["tool_choice"] = {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"},
                              "tool": {"type": "tool", "name": options.forced_tool}}[options.tool_choice]
    return out


def _completion(response: Any) -> Completion:
    text = "".join(b.text for b in response.content if b.type == "text")
    calls = [ToolCall(id=b.id, name=b.name, arguments=dict(b.input or {}))
             for b in response.content if b.type == "tool_use"]
    stop = response.stop_reason if response.stop_reason in ("tool_use", "max_tokens", "stop_sequence") else "end_turn"
    return Completion(text, calls, stop, Usage(response.usage.input_tokens, response.usage.output_tokens),
                      response.model)
