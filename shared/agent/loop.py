"""The one agent loop: call the model, run the tools it asks for, repeat until it answers.

Used by the task worker (`shared.worker.run`), chat turns (`shared.chat.turn`), the compat endpoints'
server-side tools (`shared.compat.engine`) and incident investigations (`shared.investigation.engine`);
each brings its own tools and `LoopRules`.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.agent.tools import ToolRegistry, render_result
from shared.llm.base import Completion, Message, Provider, ProviderError, ToolCall, Usage

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


@dataclass
class LoopRules:
    """Optional policies layered on the one loop (Orka's chat and compat loops); all off by default.

    - repetition_warning: chat's repetition rule. The 3rd or later identical call (same name and
      arguments) costs 5 iterations and earns a warning note after the turn's results.
    - repoll(calls, outputs): True to run the same calls again without a model round trip (the
      compat loop's auto-poll of `wait_for_task` on a running task); each poll costs an iteration.
    - reprompt(text, reprompts_so_far): for a text answer without tool calls, a user note that sends
      the model back to work (the compat loop's goal-state re-prompt), or None to finish.
    """

    repetition_warning: bool = False
    repoll: Callable[[list[ToolCall], list[str]], bool] | None = None
    reprompt: Callable[[str, int], str | None] | None = None
    # - before_call(result): runs before every model call; may edit result.messages/iterations or
    #   raise to stop (chat's deadline, progress checks, truncation).
    # - follow_up(result): for a text answer without tool calls, a note that keeps the loop going
    #   (chat's "tasks still running"); checked before `reprompt`.
    before_call: Callable[[AgentResult], None] | None = None
    follow_up: Callable[[AgentResult], str | None] | None = None
    # - exhausted_fallback: the answer when the tool-less call after the iteration limit fails with a
    #   ProviderError (chat's "Reached iteration limit."); None lets the error propagate.
    exhausted_fallback: str | None = None


def repetition_key(call: ToolCall) -> str:
    """Orka's key: sha256(name + raw arguments)[:16] (arguments in one canonical JSON form)."""
    raw = json.dumps(call.arguments, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((call.name + raw).encode()).hexdigest()[:16]


def repetition_note(name: str, count: int) -> str:
    return f"[System: Warning — you have called {name} with the same arguments {count} times. Try a different approach.]"


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


def _run_tools(tools: ToolRegistry, calls: list[ToolCall], pool: concurrent.futures.Executor,
               tool_timeout: float, result: AgentResult, notify: Observer) -> list[str]:
    """Run one turn's calls (in parallel; results keep the model's order) and append their results."""
    deadline = time.monotonic() + tool_timeout
    started = [_start_tool(tools, call, pool) for call in calls]
    outputs = []
    for call, handle in zip(calls, started, strict=True):
        output = _finish_tool(call, handle, deadline)
        outputs.append(output)
        result.tool_calls.append({"name": call.name, "args": call.arguments, "result": output})
        notify("tool_result", {"id": call.id, "name": call.name, "result": output})
        result.messages.append(Message(role="tool", content=output, tool_call_id=call.id, name=call.name))
    return outputs


def _fallback(result: AgentResult, text: str, notify: Observer, stream: bool) -> AgentResult:
    """End with a canned answer, reported the way a model's answer would have been."""
    if stream:
        notify("delta", {"content": text})
    notify("message", {"content": text})
    result.messages.append(Message(role="assistant", content=text))
    result.text = text
    return result


def run_agent(provider: Provider, messages: list[Message], *, tools: ToolRegistry | None = None,
              max_iterations: int = 50, tool_timeout: float = 60.0, max_tokens: int = 4096,
              temperature: float | None = None, observe: Observer | None = None,
              stream: bool = False, rules: LoopRules | None = None) -> AgentResult:
    """Run until the model answers without tool calls, or until max_iterations (then one tool-less call).

    `observe(kind, data)` sees "delta" (with stream=True: text as the model produces it), "message"
    (a whole assistant text), "tool_call" and "tool_result" (sharing the call's id), and with
    `rules`: "reprompt" (the note sent back) and "auto_poll" (the turn's calls run again).
    """
    tools = tools or ToolRegistry()
    rules = rules or LoopRules()
    result = AgentResult(text="", messages=list(messages))
    notify = observe or (lambda kind, data: None)
    repeats: dict[str, int] = {}
    reprompts = 0
    # Not a `with` block: a tool that timed out must not hold the loop's return hostage.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="tool")
    try:
        while True:
            if rules.before_call is not None:
                rules.before_call(result)
            exhausted = result.iterations >= max_iterations
            if exhausted:
                result.messages.append(Message(role="user", content=EXHAUSTED_NOTE))
            specs = None if exhausted or not len(tools) else tools.specs()
            try:
                completion = _call(provider, result.messages, specs, max_tokens, temperature,
                                   notify if stream else None)
            except ProviderError:
                if not exhausted or rules.exhausted_fallback is None:
                    raise
                return _fallback(result, rules.exhausted_fallback, notify, stream)
            result.llm_calls += 1
            result.usage.add(completion.usage)
            result.messages.append(Message(role="assistant", content=completion.text,
                                           tool_calls=completion.tool_calls))
            if completion.text:
                notify("message", {"content": completion.text})
            if exhausted or not completion.tool_calls:
                note = rules.follow_up(result) if rules.follow_up is not None and not exhausted else None
                if note:
                    result.iterations += 1
                    result.messages.append(Message(role="user", content=note))
                    continue
                note = None if exhausted or rules.reprompt is None else rules.reprompt(completion.text, reprompts)
                if note is None:
                    result.text = completion.text
                    return result
                reprompts += 1
                result.iterations += 1
                notify("reprompt", {"content": note})
                result.messages.append(Message(role="user", content=note))
                continue
            result.iterations += 1
            calls = completion.tool_calls
            for call in calls:
                notify("tool_call", {"id": call.id, "name": call.name, "args": call.arguments})
            warning = None
            if rules.repetition_warning:
                for call in calls:
                    key = repetition_key(call)
                    repeats[key] = repeats.get(key, 0) + 1
                    if repeats[key] >= 3:
                        warning = repetition_note(call.name, repeats[key])
                        result.iterations += 5
            outputs = _run_tools(tools, calls, pool, tool_timeout, result, notify)
            if warning:
                result.messages.append(Message(role="user", content=warning))
            elif rules.repoll is not None:
                # Auto-poll: replace the turn's results by fresh ones until something changes.
                while rules.repoll(calls, outputs) and result.iterations < max_iterations:
                    result.iterations += 1
                    notify("auto_poll", {"calls": [c.name for c in calls]})
                    del result.messages[-len(calls):]
                    outputs = _run_tools(tools, calls, pool, tool_timeout, result, notify)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
