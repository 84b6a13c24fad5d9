"""The Gemini API through Google's official `google-genai` SDK (imported lazily: only when used).

Why the SDK rather than Gemini's OpenAI-compatible endpoint: the compatible endpoint is a beta
translation layer that drops what Gemini tool use needs between turns (thought signatures, which
Gemini 3 models refuse a follow-up without), while the SDK speaks `generateContent` /
`streamGenerateContent` natively, as the issue asks for vendors' own SDKs. It adds google-auth,
tenacity and websockets to the image; cold start does not move (nothing is imported until a call).

SHOAL_LLM_PROVIDER=gemini with GEMINI_API_KEY (sent as `x-goog-api-key`), SHOAL_LLM_MODEL (default
`gemini-2.5-flash`), SHOAL_LLM_BASE_URL replacing `https://generativelanguage.googleapis.com` (a proxy,
tests). Tool calls: Gemini's function calls carry no id on the Gemini API, so each gets `gcall_<n>`;
its thought signature (opaque bytes the next request must return with the call) is kept here by that
id, in a bounded table, and attached again when the tool loop sends the call back.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
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
    unreachable,
)

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
_SIGNATURES_KEPT = 4096  # thought signatures of recent tool calls (a tool loop sends each back once)
_RETRYABLE = (429, 500, 502, 503, 504)
_STOP = {"MAX_TOKENS": "max_tokens"}


class GeminiProvider:
    kind = "gemini"
    wire = "gemini"  # never a same-wire proxy target (shared.llm.wire)

    def __init__(self, name: str, model: str, *, api_key: str | None, base_url: str | None = None,
                 timeout: float = 120.0) -> None:
        self.name, self.model = name, model
        # Always a URL, so /readyz probes the endpoint this provider calls (shared/llm/readiness.py).
        self._api_key, self._base_url, self._timeout = api_key, base_url or self._default_url(), timeout
        self._client: Any = None
        self._signatures: OrderedDict[str, bytes] = OrderedDict()
        self._ids = itertools.count()
        self._lock = threading.Lock()

    def _default_url(self) -> str:
        return DEFAULT_BASE_URL

    def _sdk(self) -> Any:
        if self._client is None:
            from google import genai
            from google.genai import types

            options = types.HttpOptions(base_url=self._base_url, timeout=int(self._timeout * 1000))
            self._client = genai.Client(api_key=self._api_key, http_options=options)
        return self._client

    # -- request --------------------------------------------------------------------------------------
    def _contents(self, messages: list[Message]) -> tuple[str, list[Any]]:
        from google.genai import types

        system = "\n\n".join(m.content for m in messages if m.role == "system")
        names = {c.id: c.name for m in messages for c in m.tool_calls}
        contents: list[Any] = []
        for m in messages:
            if m.role == "system":
                continue
            if m.role == "tool":  # function responses travel in a user turn, one part per call
                part = types.Part(function_response=types.FunctionResponse(
                    name=m.name or names.get(m.tool_call_id or "", "tool"), response={"result": m.content}))
                if contents and contents[-1].role == "user" and contents[-1].parts[0].function_response:
                    contents[-1].parts.append(part)
                else:
                    contents.append(types.Content(role="user", parts=[part]))
                continue
            parts = [types.Part(text=m.content)] if m.content else []
            for call in m.tool_calls:
                with self._lock:
                    signature = self._signatures.get(call.id)
                parts.append(types.Part(function_call=types.FunctionCall(name=call.name, args=call.arguments),
                                        thought_signature=signature))
            contents.append(types.Content(role="model" if m.role == "assistant" else "user",
                                          parts=parts or [types.Part(text="")]))
        return system, contents

    def _config(self, system: str, tools: list[ToolSpec] | None, max_tokens: int, temperature: float | None,
                options: CallOptions | None) -> Any:
        from google.genai import types

        config: dict[str, Any] = {"max_output_tokens": max_tokens,
                                  # The tool loop runs the tools itself: never let the SDK call Python.
                                  "automatic_function_calling": types.AutomaticFunctionCallingConfig(disable=True)}
        if system:
            config["system_instruction"] = system
        if temperature is not None:
            config["temperature"] = temperature
        if tools:
            config["tools"] = [types.Tool(function_declarations=[
                types.FunctionDeclaration(name=t.name, description=t.description, parameters_json_schema=t.parameters)
                for t in tools])]
        if options:
            if options.stop:
                config["stop_sequences"] = list(options.stop)
            if options.top_p is not None:
                config["top_p"] = options.top_p
            if options.tool_choice and tools:
                mode = {"auto": "AUTO", "none": "NONE", "required": "ANY", "tool": "ANY"}[options.tool_choice]
                allowed = [options.forced_tool] if options.tool_choice == "tool" and options.forced_tool else None
                config["tool_config"] = types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
                    mode=mode, allowed_function_names=allowed))
        return types.GenerateContentConfig(**config)

    def _arguments(self, messages: list[Message], tools: list[ToolSpec] | None, max_tokens: int,
                   temperature: float | None, options: CallOptions | None) -> dict[str, Any]:
        system, contents = self._contents(messages)
        return {"model": self.model, "contents": contents,
                "config": self._config(system, tools, max_tokens, temperature, options)}

    # -- response -------------------------------------------------------------------------------------
    def _call(self, part: Any) -> ToolCall:
        call = part.function_call
        ident = call.id or f"gcall_{next(self._ids)}"
        if part.thought_signature:
            with self._lock:
                self._signatures[ident] = part.thought_signature
                while len(self._signatures) > _SIGNATURES_KEPT:
                    self._signatures.popitem(last=False)
        return ToolCall(id=ident, name=call.name or "", arguments=dict(call.args or {}))

    def _error(self, exc: Exception) -> ProviderError:
        from google.genai import errors

        if isinstance(exc, errors.APIError):
            detail = exc.message or exc.status or "error"
            return ProviderError(f"{self.kind} provider error {exc.code}: {detail}", status=exc.code,
                                 retryable=exc.code in _RETRYABLE)
        name = type(exc).__name__.lower()
        if "connect" in name or "timeout" in name or isinstance(exc, OSError):
            return unreachable(self.kind, self._base_url, exc)
        return ProviderError(f"{self.kind} provider error: {type(exc).__name__}: {exc}", retryable=False)

    def complete(self, messages: list[Message], *, tools: list[ToolSpec] | None = None,
                 max_tokens: int = 4096, temperature: float | None = None,
                 options: CallOptions | None = None) -> Completion:
        try:
            response = self._sdk().models.generate_content(
                **self._arguments(messages, tools, max_tokens, temperature, options))
        except Exception as exc:
            raise self._error(exc) from None
        text, calls, finish = [], [], None
        for candidate in (response.candidates or [])[:1]:
            finish = candidate.finish_reason
            for part in (candidate.content.parts if candidate.content else None) or []:
                if part.function_call:
                    calls.append(self._call(part))
                elif part.text and not part.thought:
                    text.append(part.text)
        return self._completion("".join(text), calls, finish, response.usage_metadata, response.model_version)

    def stream(self, messages: list[Message], *, tools: list[ToolSpec] | None = None,
               max_tokens: int = 4096, temperature: float | None = None,
               options: CallOptions | None = None) -> Iterator[StreamEvent]:
        text, calls, finish, usage, model = [], [], None, None, None
        try:
            for chunk in self._sdk().models.generate_content_stream(
                    **self._arguments(messages, tools, max_tokens, temperature, options)):
                usage = chunk.usage_metadata or usage
                model = chunk.model_version or model
                for candidate in (chunk.candidates or [])[:1]:
                    finish = candidate.finish_reason or finish
                    for part in (candidate.content.parts if candidate.content else None) or []:
                        if part.function_call:
                            calls.append(self._call(part))
                        elif part.text and not part.thought:
                            text.append(part.text)
                            yield StreamEvent("text_delta", text=part.text)
        except Exception as exc:
            raise self._error(exc) from None
        yield StreamEvent("done", completion=self._completion("".join(text), calls, finish, usage, model))

    def _completion(self, text: str, calls: list[ToolCall], finish: Any, usage: Any, model: str | None) -> Completion:
        reason = getattr(finish, "value", finish) or "STOP"
        stop = "tool_use" if calls else _STOP.get(str(reason), "end_turn")
        tokens = Usage(int(getattr(usage, "prompt_token_count", 0) or 0),
                       int(getattr(usage, "candidates_token_count", 0) or 0))
        return Completion(text, calls, stop, tokens, model or self.model)  # type: ignore[arg-type]


class VertexGeminiProvider(GeminiProvider):
    """Gemini models on Vertex AI through the same SDK (`vertexai=True`): the model is the Vertex model name
    (`gemini-2.5-pro`), in SHOAL_VERTEX_PROJECT / SHOAL_VERTEX_REGION; SHOAL_VERTEX_ACCESS_TOKEN as a bearer
    token when set, else Application Default Credentials (google-auth)."""

    kind = "vertex-gemini"
    wire = "vertex-gemini"

    def __init__(self, name: str, model: str, *, project: str, region: str, access_token: str | None,
                 base_url: str | None = None, timeout: float = 120.0) -> None:
        self._project, self._region, self._access_token = project, region, access_token
        super().__init__(name, model, api_key=None, base_url=base_url, timeout=timeout)

    def _default_url(self) -> str:
        region = self._region
        return "https://aiplatform.googleapis.com" if region == "global" else f"https://{region}-aiplatform.googleapis.com"

    def _sdk(self) -> Any:
        if self._client is None:
            from google import genai
            from google.genai import types

            credentials = None
            if self._access_token:
                from google.oauth2.credentials import Credentials

                credentials = Credentials(token=self._access_token)
            options = types.HttpOptions(base_url=self._base_url, timeout=int(self._timeout * 1000))
            self._client = genai.Client(vertexai=True, project=self._project, location=self._region,
                                        credentials=credentials, http_options=options)
        return self._client
