"""The one agent loop: call the model, run the tools it asks for, repeat until it answers.

Used by the task worker now, and by chat, the compat endpoints and incident analysis later.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.agent.tools import ToolRegistry, render_result
from shared.llm.base import Completion, Message, Provider, ToolCall, Usage

EXHAUSTED_NOTE = ("[System: You have reached the maximum number of iterations. "
                  "Please provide a final summary of what you accomplished.]")


@dataclass
class AgentResult:
    text: str
    messages: list[Message]
    usage: Usage = field(default_factory=Usage)
    iterations: int = 0
    llm_calls: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


Observer = Callable[[str, dict[str, Any]], None]
# Hooks for callers that steer the loop (the chat orchestrator): `before_call(result)` runs before
# every model call and may edit result.messages/result.iterations or raise to stop; `follow_up(result)`
# runs when the model answers without tool calls and may return a note that keeps the loop going.
BeforeCall = Callable[["AgentResult"], None]
FollowUp = Callable[["AgentResult"], "str | None"]


def _start_tool(registry: ToolRegistry, call: ToolCall, pool: concurrent.futures.Executor
                ) -> concurrent.futures.Future | str:
    tool = registry.get(call.name)
    if tool is None:
        return render_result({"success": False, "error": f"unknown tool {call.name}", "errorType": "unknown_tool"})
    return pool.submit(tool.run, call.arguments)


def _finish_tool(call: ToolCall, started: concurrent.futures.Future | str, deadline: float) -> str:
    if isinstance(started, str):
        return started
    try:
        return render_result(started.result(timeout=max(0.0, deadline - time.monotonic())))
    except concurrent.futures.TimeoutError:
        return render_result({"success": False, "error": f"tool {call.name} timed out",
                              "errorType": "internal_error"})
    except Exception as exc:  # a failing tool is a result the model can react to
        return render_result({"success": False, "error": f"{type(exc).__name__}: {exc}",
                              "errorType": "internal_error"})


def _call(provider: Provider, messages: list[Message], specs, max_tokens: int, temperature: float | None,
          notify: Observer | None) -> Completion:
    """One model call; streamed (deltas to `notify`) when a notifier is given."""
    if notify is None:
        return provider.complete(messages, tools=specs, max_tokens=max_tokens, temperature=temperature)
    for event in provider.stream(messages, tools=specs, max_tokens=max_tokens, temperature=temperature):
        if event.kind == "text_delta":
            notify("delta", {"content": event.text})
        elif event.completion is not None:
            return event.completion
    raise RuntimeError("provider stream ended without a completion")


def run_agent(provider: Provider, messages: list[Message], *, tools: ToolRegistry | None = None,
              max_iterations: int = 50, tool_timeout: float = 60.0, max_tokens: int = 4096,
              temperature: float | None = None, observe: Observer | None = None,
              stream: bool = False, before_call: BeforeCall | None = None,
              follow_up: FollowUp | None = None) -> AgentResult:
    """Run until the model answers without tool calls, or until max_iterations (then one tool-less call).

    `observe(kind, data)` sees "delta" (with stream=True: text as the model produces it), "message"
    (a whole assistant text), "tool_call" and "tool_result" (sharing the call's id).
    """
    tools = tools or ToolRegistry()
    result = AgentResult(text="", messages=list(messages))
    notify = observe or (lambda kind, data: None)
    # Not a `with` block: a tool that timed out must not hold the loop's return hostage.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="tool")
    try:
        while True:
            if before_call is not None:
                before_call(result)
            exhausted = result.iterations >= max_iterations
            if exhausted:
                result.messages.append(Message(role="user", content=EXHAUSTED_NOTE))
            specs = None if exhausted or not len(tools) else tools.specs()
            completion = _call(provider, result.messages, specs, max_tokens, temperature, notify if stream else None)
            result.llm_calls += 1
            result.usage.add(completion.usage)
            result.messages.append(Message(role="assistant", content=completion.text,
                                           tool_calls=completion.tool_calls))
            if completion.text:
                notify("message", {"content": completion.text})
            if exhausted or not completion.tool_calls:
                note = follow_up(result) if follow_up is not None and not exhausted else None
                if note:
                    result.iterations += 1
                    result.messages.append(Message(role="user", content=note))
                    continue
                result.text = completion.text
                return result
            result.iterations += 1
            for call in completion.tool_calls:
                notify("tool_call", {"id": call.id, "name": call.name, "args": call.arguments})
            # Independent calls of one turn run in parallel; results keep the model's order.
            deadline = time.monotonic() + tool_timeout
            started = [_start_tool(tools, call, pool) for call in completion.tool_calls]
            for call, handle in zip(completion.tool_calls, started, strict=True):
                output = _finish_tool(call, handle, deadline)
                result.tool_calls.append({"name": call.name, "args": call.arguments, "result": output})
                notify("tool_result", {"id": call.id, "name": call.name, "result": output})
                result.messages.append(Message(role="tool", content=output, tool_call_id=call.id, name=call.name))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
