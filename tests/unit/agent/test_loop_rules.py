"""The loop's optional rules (LoopRules): repetition warning, auto-poll, re-prompt."""

from __future__ import annotations

import json

from shared.agent.loop import LoopRules, repetition_note, run_agent
from shared.agent.tools import Tool, ToolRegistry
from shared.llm.base import Message, ToolSpec
from shared.llm.mock import MockProvider

SPEC = {"type": "object", "properties": {}}
USER = [Message(role="user", content="go")]


def registry(**fns):
    return ToolRegistry([Tool(ToolSpec(name, name, SPEC), fn) for name, fn in fns.items()])


def notes(result):
    return [m.content for m in result.messages if m.role == "user"][1:]


def test_without_rules_the_loop_is_unchanged():
    script = [{"tool_calls": [{"name": "t", "arguments": {"x": 1}}]}] * 3 + [{"text": "done"}]
    result = run_agent(MockProvider(script=script), USER, tools=registry(t=lambda a: "ok"))
    assert result.text == "done" and result.iterations == 3 and notes(result) == []


def test_the_third_identical_call_costs_five_iterations_and_warns():
    script = [{"tool_calls": [{"name": "t", "arguments": {"x": 1}}]}] * 4 + [{"text": "done"}]
    result = run_agent(MockProvider(script=script), USER, tools=registry(t=lambda a: "ok"),
                       rules=LoopRules(repetition_warning=True))
    assert notes(result) == [repetition_note("t", 3), repetition_note("t", 4)]
    assert notes(result)[0] == ("[System: Warning — you have called t with the same arguments 3 times. "
                                "Try a different approach.]")
    assert result.iterations == 4 + 5 + 5
    # The warning follows the turn's tool results, as the next user message.
    roles = [m.role for m in result.messages]
    assert roles[roles.index("tool", 6):][:2] == ["tool", "user"]


def test_different_arguments_are_not_repetitions():
    script = [{"tool_calls": [{"name": "t", "arguments": {"x": i}}]} for i in range(4)] + [{"text": "done"}]
    result = run_agent(MockProvider(script=script), USER, tools=registry(t=lambda a: "ok"),
                       rules=LoopRules(repetition_warning=True))
    assert notes(result) == [] and result.iterations == 4


def test_reprompt_sends_a_text_answer_back_until_the_rule_accepts_it():
    script = [{"text": "progress summary"}, {"text": "still summarising"}, {"text": "DONE: answer"}]
    seen = []
    rule = LoopRules(reprompt=lambda text, n: None if text.startswith("DONE") or n >= 3 else "keep going")
    result = run_agent(MockProvider(script=script), USER, rules=rule, observe=lambda k, d: seen.append(k))
    assert result.text == "DONE: answer" and result.llm_calls == 3
    assert notes(result) == ["keep going", "keep going"] and seen.count("reprompt") == 2


def test_reprompts_are_bounded_by_the_rule():
    script = [{"text": f"summary {i}"} for i in range(10)]
    rule = LoopRules(reprompt=lambda text, n: None if n >= 3 else "keep going")
    result = run_agent(MockProvider(script=script), USER, rules=rule)
    assert result.llm_calls == 4 and result.text == "summary 3"


def test_auto_poll_reruns_waiting_calls_without_a_model_round_trip():
    phases = iter(["Running", "Running", "Running", "Succeeded"])

    def wait(args):
        return json.dumps({"success": True, "data": {"name": args["name"], "phase": next(phases)}})

    def still_running(calls, outputs):
        return all(json.loads(o)["data"]["phase"] == "Running" for o in outputs)

    script = [{"tool_calls": [{"name": "wait", "arguments": {"name": "t1"}}]}, {"text": "finished"}]
    seen = []
    result = run_agent(MockProvider(script=script), USER, tools=registry(wait=wait),
                       rules=LoopRules(repoll=still_running), observe=lambda k, d: seen.append(k))
    assert result.text == "finished" and result.llm_calls == 2
    assert seen.count("auto_poll") == 3 and result.iterations == 1 + 3
    # The model sees one result for its one call: the fresh one.
    tool_messages = [m for m in result.messages if m.role == "tool"]
    assert len(tool_messages) == 1 and '"Succeeded"' in tool_messages[0].content


def test_auto_poll_stops_at_the_iteration_limit():
    def wait(args):
        return json.dumps({"success": True, "data": {"phase": "Running"}})

    script = [{"tool_calls": [{"name": "wait", "arguments": {}}]}, {"text": "summary"}]
    result = run_agent(MockProvider(script=script), USER, tools=registry(wait=wait), max_iterations=4,
                       rules=LoopRules(repoll=lambda calls, outputs: True))
    assert result.iterations == 4 and result.llm_calls == 2 and result.text == "summary"
