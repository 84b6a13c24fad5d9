"""The compat engine: one request in the neutral model → an Outcome, or a stream of neutral events.

Two modes:
- server-side tools (the default): the platform's tools run inside the request through the one
  agent loop with the compat rules (`shared.compat.rules`); the client sees the final answer,
  and, when streaming, the model's text and the tools' progress as it happens;
- transparent proxy (`X-Orka-Tools: disabled`): one call to the configured provider with the
  client's own tools; tool calls go back to the client untouched.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from shared.agent.loop import run_agent
from shared.agent.tools import ToolRegistry
from shared.compat.common import CompatRequest, upstream_failure
from shared.compat.rules import GOAL_SENTINEL, compat_rules, coordinator_prompt, strip_sentinel
from shared.config import get_settings
from shared.llm.base import Message, Provider, ProviderError, ToolCall, Usage

KEEPALIVE_SECONDS = 15.0


class ClientGone(Exception):
    """The client stopped reading: the server-side loop ends at its next step."""


@dataclass
class Outcome:
    text: str
    tool_calls: list[ToolCall]
    stop_reason: str
    usage: Usage
    model: str


@dataclass
class Event:
    """text: model output; progress: a server-side step, shown as text; tool_call: for the client;
    keepalive: nothing happened for a while (the wire sends its own keep-alive); done."""

    kind: Literal["text", "progress", "tool_call", "keepalive", "done"]
    text: str = ""
    call: ToolCall | None = None
    outcome: Outcome | None = None


def _agent_messages(request: CompatRequest, namespace: str) -> list[Message]:
    # Orka discards the client's tool history in this mode: its tools are not the ones we run.
    kept = [Message(role=m.role, content=m.content) for m in request.messages
            if m.role != "tool" and (m.content or not m.tool_calls)]
    return [Message(role="system", content=coordinator_prompt(namespace)), *kept]


def _agent_kwargs(request: CompatRequest) -> dict[str, Any]:
    settings = get_settings()
    return {"max_iterations": settings.agent_max_iterations, "tool_timeout": settings.tool_timeout_seconds,
            "max_tokens": request.max_tokens, "temperature": request.temperature,
            "rules": compat_rules(settings.compat_max_reprompts)}


def complete(request: CompatRequest, provider: Provider, tools: ToolRegistry | None,
             namespace: str) -> Outcome:
    """The whole answer at once (non-streaming)."""
    try:
        if tools is None:
            c = provider.complete(request.messages, tools=request.tools or None, max_tokens=request.max_tokens,
                                  temperature=request.temperature, options=request.options)
            return Outcome(c.text, c.tool_calls, c.stop_reason, c.usage, c.model or provider.model)

        result = run_agent(provider, _agent_messages(request, namespace), tools=tools, **_agent_kwargs(request))
    except ProviderError as exc:
        raise upstream_failure(exc) from None
    return Outcome(strip_sentinel(result.text), [], "end_turn", result.usage, provider.model)


def stream(request: CompatRequest, provider: Provider, tools: ToolRegistry | None,
           namespace: str) -> Generator[Event, None, None]:
    """Neutral events ending with "done"; a provider failure is raised as the 500 ShoalError."""
    events = _proxy_events(request, provider) if tools is None else _agent_events(request, provider, tools,
                                                                                   namespace)
    try:
        yield from events
    except ProviderError as exc:
        raise upstream_failure(exc) from None


def _proxy_events(request: CompatRequest, provider: Provider) -> Iterator[Event]:
    for event in provider.stream(request.messages, tools=request.tools or None, max_tokens=request.max_tokens,
                                 temperature=request.temperature, options=request.options):
        if event.kind == "text_delta":
            yield Event("text", text=event.text)
        elif event.completion is not None:
            c = event.completion
            for call in c.tool_calls:
                yield Event("tool_call", call=call)
            yield Event("done", outcome=Outcome(c.text, c.tool_calls, c.stop_reason, c.usage,
                                                c.model or provider.model))
            return


def progress_text(name: str, result: str) -> str:
    """What the client sees of a server-side tool call: its name and status, never its result (which can
    hold file contents, task logs, transcripts or credentials). Orka's form: `[Tool <name> completed]`,
    `failed` for a `{"success": false}` result, or `phase=<phase>` when the result reports a task phase."""
    status = "completed"
    try:
        parsed = json.loads(result)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict):
        data = parsed.get("data")
        phase = data.get("phase") if isinstance(data, dict) else None
        if parsed.get("success") is False:
            status = "failed"
        elif isinstance(phase, str) and phase:
            status = f"phase={phase}"
    return f"\n[Tool {name} {status}]\n"


_END = object()


def _agent_events(request: CompatRequest, provider: Provider, tools: ToolRegistry,
                  namespace: str) -> Iterator[Event]:
    """Run the loop in a worker thread; relay what it observes as it happens.

    This generator is iterated by the server itself (no relay thread), so when the client goes away
    the server closes it, and the loop stops at its next step instead of running on (model calls,
    new tasks) for nobody. While the loop is quiet (a long tool) it yields keep-alives, which is also
    how a disconnect is noticed.
    """
    pipe: queue.Queue = queue.Queue()
    text = SentinelFilter()
    gone = threading.Event()

    def observe(kind: str, data: dict[str, Any]) -> None:
        if gone.is_set():
            raise ClientGone()
        if kind == "delta":
            shown = text.feed(data["content"])
            if shown:
                pipe.put(Event("text", text=shown))
        elif kind == "tool_result":
            pipe.put(Event("progress", text=progress_text(data["name"], data["result"])))
        elif kind == "reprompt":
            pipe.put(Event("progress", text="\n[Continuing workflow...]\n"))
        elif kind == "auto_poll":
            pipe.put(Event("progress", text="\n[Auto-polling tasks...]\n"))

    def work() -> None:
        try:
            result = run_agent(provider, _agent_messages(request, namespace), tools=tools, observe=observe,
                               stream=True, **_agent_kwargs(request))
            rest = text.flush()
            if rest:
                pipe.put(Event("text", text=rest))
            pipe.put(Event("done", outcome=Outcome(strip_sentinel(result.text), [], "end_turn", result.usage,
                                                   provider.model)))
        except ClientGone:
            pass
        except BaseException as exc:  # relayed to the consumer, which renders it in the dialect
            pipe.put(exc)
        finally:
            pipe.put(_END)

    threading.Thread(target=work, name="compat-loop", daemon=True).start()
    try:
        while True:
            try:
                item = pipe.get(timeout=KEEPALIVE_SECONDS)
            except queue.Empty:
                yield Event("keepalive")
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        gone.set()  # closed early (client gone) or finished: either way nothing more is wanted


class SentinelFilter:
    """Removes the goal-state sentinel from streamed text, even when it arrives split across deltas."""

    def __init__(self, sentinel: str = GOAL_SENTINEL) -> None:
        self.sentinel = sentinel
        self.buffer = ""
        self.trim = False  # drop whitespace right after a removed sentinel (as the plain answer does)

    def feed(self, text: str) -> str:
        self.buffer += text
        if self.sentinel in self.buffer:
            before, _, after = self.buffer.rpartition(self.sentinel)
            self.buffer = before.replace(self.sentinel, "") + after
            self.trim = True
        hold = 0  # the longest tail that could still become the sentinel
        for size in range(min(len(self.sentinel) - 1, len(self.buffer)), 0, -1):
            if self.sentinel.startswith(self.buffer[-size:]):
                hold = size
                break
        out, self.buffer = self.buffer[:len(self.buffer) - hold], self.buffer[len(self.buffer) - hold:]
        return self._trimmed(out)

    def flush(self) -> str:
        out, self.buffer = self.buffer, ""
        return self._trimmed(out)

    def _trimmed(self, out: str) -> str:
        if self.trim and out:
            out = out.lstrip(" \t\r\n")
            self.trim = not out
        return out
