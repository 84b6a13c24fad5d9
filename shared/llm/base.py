"""One message and tool-call model for every provider."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant", "tool"]


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass
class Message:
    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class CallOptions:
    """Sampling and tool-use controls a client may set, in neutral form (the compat proxy carries
    them across vendors). tool_choice: "auto" | "none" | "required" | "tool" (then `forced_tool`)."""

    stop: tuple[str, ...] = ()
    top_p: float | None = None
    tool_choice: str | None = None
    forced_tool: str | None = None  # with tool_choice "tool": the one tool the model must call


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens


@dataclass
class Completion:
    text: str
    tool_calls: list[ToolCall]
    stop_reason: Literal["end_turn", "tool_use", "max_tokens", "stop_sequence"]
    usage: Usage
    model: str


@dataclass
class StreamEvent:
    """One step of a streamed completion: a text delta, or the finished Completion (always last)."""

    kind: Literal["text_delta", "done"]
    text: str = ""
    completion: Completion | None = None


class ProviderError(Exception):
    """The configured provider failed. Never answered by falling back to another provider."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


def unreachable(kind: str, url: str, exc: BaseException) -> ProviderError:
    """A connection failure that names the provider, the URL and the cause (the SDKs say only
    "Connection error."): e.g. `openai-compatible provider at http://vllm:8000/v1 is unreachable:
    [Errno 111] Connection refused`."""
    cause = exc.__cause__ or exc.__context__ or exc
    detail = str(cause) or type(cause).__name__
    if "timed out" in type(exc).__name__.lower() or "timeout" in type(exc).__name__.lower():
        detail = f"timed out ({detail})" if detail and "time" not in detail.lower() else detail or "timed out"
    return ProviderError(f"{kind} provider at {url} is unreachable: {detail}", retryable=True)


class Provider(Protocol):
    name: str
    kind: str
    model: str

    def complete(self, messages: list[Message], *, tools: list[ToolSpec] | None = None,
                 max_tokens: int = 4096, temperature: float | None = None,
                 options: CallOptions | None = None) -> Completion: ...

    def stream(self, messages: list[Message], *, tools: list[ToolSpec] | None = None,
               max_tokens: int = 4096, temperature: float | None = None,
               options: CallOptions | None = None) -> Iterator[StreamEvent]:
        """Text deltas as the model produces them, then one "done" event with the Completion."""
        ...
