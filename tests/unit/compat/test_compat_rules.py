"""The compat loop's rules and the streamed sentinel filter."""

from __future__ import annotations

import json

import pytest

from shared.agent.loop import run_agent
from shared.agent.tools import Tool, ToolRegistry
from shared.compat.engine import SentinelFilter
from shared.compat.rules import GOAL_SENTINEL, REPROMPT, all_waiting, compat_rules, strip_sentinel
from shared.llm.base import Message, ToolCall, ToolSpec
from shared.llm.mock import MockProvider

USER = [Message(role="user", content="go")]


def stream_through(pieces):
    f = SentinelFilter()
    return "".join(f.feed(p) for p in pieces) + f.flush()


@pytest.mark.parametrize("pieces,expected", [
    ([f"{GOAL_SENTINEL}\nThe answer."], "The answer."),
    (["<ORKA_GOAL", "_STATE_REA", "CHED>", "\n  The", " answer."], "The answer."),
    (["Result: <ORKA_", "GOAL_STATE_REACHED> yes"], "Result: yes"),
    (["a < b and <ORKA but not the tag"], "a < b and <ORKA but not the tag"),
    (["ends with <ORKA_GOAL"], "ends with <ORKA_GOAL"),
    (["no sentinel at all"], "no sentinel at all"),
])
def test_the_sentinel_is_removed_even_when_split_across_deltas(pieces, expected):
    assert stream_through(pieces) == expected


def test_strip_sentinel_on_a_whole_answer():
    assert strip_sentinel(f"{GOAL_SENTINEL}\n\nPR ready") == "PR ready"
    assert strip_sentinel("plain") == "plain"


def running(phase):
    return json.dumps({"success": True, "data": {"name": "t", "phase": phase}})


def test_auto_poll_only_when_every_call_waits_on_a_running_task():
    wait = ToolCall("1", "wait_for_task", {"name": "t"})
    check = ToolCall("2", "check_task_progress", {"name": "t"})
    assert all_waiting([wait], [running("Running")]) and all_waiting([wait, wait], [running("Pending")] * 2)
    assert not all_waiting([wait], [running("Succeeded")])
    assert not all_waiting([wait, check], [running("Running")] * 2)
    assert not all_waiting([wait], [json.dumps({"success": False, "error": "task not found"})])
    assert not all_waiting([], [])


def test_the_compat_rules_reprompt_up_to_three_times_then_accept():
    script = [{"text": f"summary {i}"} for i in range(6)]
    result = run_agent(MockProvider(script=script), USER, rules=compat_rules())
    assert result.llm_calls == 4 and result.text == "summary 3"
    assert [m.content for m in result.messages if m.role == "user"][1:] == [REPROMPT] * 3


def test_the_compat_rules_finish_on_the_sentinel():
    script = [{"text": "summary"}, {"text": f"{GOAL_SENTINEL}\ndone"}]
    result = run_agent(MockProvider(script=script), USER, rules=compat_rules())
    assert result.llm_calls == 2 and result.text.endswith("done")


def test_the_compat_rules_warn_on_repetition():
    tools = ToolRegistry([Tool(ToolSpec("check_task_progress", "", {"type": "object"}), lambda a: "{}")])
    script = [{"tool_calls": [{"name": "check_task_progress", "arguments": {"name": "t"}}]}] * 3 + [
        {"text": f"{GOAL_SENTINEL} ok"}]
    result = run_agent(MockProvider(script=script), USER, tools=tools, rules=compat_rules())
    assert any("called check_task_progress with the same arguments 3 times" in m.content
               for m in result.messages if m.role == "user")
