"""The agent loop: tools in parallel with timeouts, iteration limit, streaming deltas."""

from __future__ import annotations

import threading

import pytest

from shared.agent.loop import EXHAUSTED_NOTE, LoopRules, run_agent
from shared.agent.tools import Tool, ToolRegistry
from shared.llm.base import Message, ToolSpec
from shared.llm.mock import MockProvider

SPEC = {"type": "object", "properties": {}}


def registry(**fns):
    return ToolRegistry([Tool(ToolSpec(name, name, SPEC), fn) for name, fn in fns.items()])


def test_tools_run_and_their_results_reach_the_model():
    script = [{"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]}, {"text": "five"}]
    seen = []
    result = run_agent(MockProvider(script=script), [Message(role="user", content="2+3")],
                       tools=registry(add=lambda args: args["a"] + args["b"]),
                       observe=lambda kind, data: seen.append((kind, data)))
    assert result.text == "five" and result.llm_calls == 2 and result.iterations == 1
    assert result.tool_calls == [{"name": "add", "args": {"a": 2, "b": 3}, "result": "5"}]
    assert [k for k, _ in seen] == ["tool_call", "tool_result", "message"]
    assert seen[0][1]["id"] == seen[1][1]["id"]


def test_parallel_calls_share_one_timeout_and_slow_tools_become_errors():
    script = [{"tool_calls": [{"name": "slow"}, {"name": "slow"}, {"name": "fast"}]}, {"text": "done"}]
    held, finished = threading.Event(), []  # the slow tools return only when the test lets them (or after 60 s)

    def slow(args):
        held.wait(60)
        finished.append(args)
        return "late"

    try:
        result = run_agent(MockProvider(script=script), [Message(role="user", content="go")],
                           tools=registry(slow=slow, fast=lambda a: "ok"), tool_timeout=0.5)
        assert finished == []  # it answered while the slow tools were still held: it did not wait for them
    finally:
        held.set()
    outputs = [c["result"] for c in result.tool_calls]
    assert '"errorType": "internal_error"' in outputs[0] and "timed out" in outputs[0]
    assert outputs[2] == "ok"


def test_unknown_tools_and_failing_tools_are_reported_to_the_model():
    script = [{"tool_calls": [{"name": "nope"}, {"name": "boom"}]}, {"text": "sorry"}]
    result = run_agent(MockProvider(script=script), [Message(role="user", content="go")],
                       tools=registry(boom=lambda a: 1 / 0))
    assert '"errorType": "unknown_tool"' in result.tool_calls[0]["result"]
    assert "ZeroDivisionError" in result.tool_calls[1]["result"]


def test_iteration_limit_ends_with_one_tool_less_summary_call():
    script = [{"tool_calls": [{"name": "t"}]}] * 3 + [{"text": "summary"}]
    result = run_agent(MockProvider(script=script), [Message(role="user", content="loop")],
                       tools=registry(t=lambda a: "again"), max_iterations=3)
    assert result.text == "summary" and result.iterations == 3 and result.llm_calls == 4
    assert result.messages[-2].content == EXHAUSTED_NOTE


def test_streaming_reports_deltas():
    deltas = []
    result = run_agent(MockProvider(), [Message(role="user", content="stream please")], stream=True,
                       observe=lambda kind, data: kind == "delta" and deltas.append(data["content"]))
    assert "".join(deltas) == result.text and len(deltas) > 2


def test_before_call_and_follow_up_hooks_steer_the_loop():
    script = [{"tool_calls": [{"name": "t"}]}, {"text": "stopping"}, {"text": "really done"}]
    seen, notes = [], iter(["keep going", None])
    result = run_agent(MockProvider(script=script), [Message(role="user", content="go")],
                       tools=registry(t=lambda a: "ok"),
                       rules=LoopRules(before_call=lambda r: seen.append(r.iterations),
                                       follow_up=lambda r: next(notes)))
    assert result.text == "really done" and result.llm_calls == 3
    assert seen == [0, 1, 2]  # before every model call; a follow-up counts as an iteration
    assert result.messages[-2].content == "keep going"


class _FailsAfter:
    """A provider that plays `script` and then fails every call."""

    def __init__(self, script):
        from shared.llm.mock import MockProvider

        self._inner, self._left = MockProvider(script=script), len(script)
        self.name, self.kind, self.model = "f", "mock", "m"
        self.calls: list = []

    def complete(self, messages, **kwargs):
        from shared.llm.base import ProviderError

        self.calls.append(kwargs.get("tools"))
        if self._left == 0:
            raise ProviderError("down", status=503)
        self._left -= 1
        return self._inner.complete(messages, **kwargs)


def test_a_failing_summary_call_at_the_limit_answers_with_the_fallback():
    provider = _FailsAfter([{"tool_calls": [{"name": "t"}]}] * 2)
    result = run_agent(provider, [Message(role="user", content="loop")], tools=registry(t=lambda a: "again"),
                       max_iterations=2, rules=LoopRules(exhausted_fallback="Reached iteration limit."))
    assert result.text == "Reached iteration limit." and provider.calls[-1] is None
    assert result.messages[-2].content == EXHAUSTED_NOTE
    assert result.messages[-1].role == "assistant" and result.messages[-1].content == "Reached iteration limit."


def test_without_a_fallback_the_failing_summary_call_raises():
    from shared.llm.base import ProviderError

    provider = _FailsAfter([{"tool_calls": [{"name": "t"}]}])
    with pytest.raises(ProviderError):
        run_agent(provider, [Message(role="user", content="loop")], tools=registry(t=lambda a: "again"),
                  max_iterations=1)
