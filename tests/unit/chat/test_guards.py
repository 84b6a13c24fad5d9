"""The chat loop's guards: truncation keeps the first user message and tool exchanges whole."""

from __future__ import annotations

from shared.agent.loop import AgentResult
from shared.chat.guards import PROGRESS_NOTE, Guards, call_key
from shared.llm.base import Message, ToolCall


def exchange(i: int, size: int = 100) -> list[Message]:
    call = ToolCall(f"c{i}", "list_tasks", {"i": i})
    return [Message(role="assistant", content="", tool_calls=[call]),
            Message(role="tool", content="r" * size, tool_call_id=f"c{i}", name="list_tasks")]


def test_truncation_drops_oldest_whole_exchanges_and_keeps_the_first_and_current_user_messages():
    messages = [Message(role="system", content="prompt"), Message(role="user", content="FIRST")]
    for i in range(3):
        messages += exchange(i)
    current = Message(role="user", content="NOW")
    messages.append(current)
    for i in range(3, 6):
        messages += exchange(i)
    guards = Guards(max_session_size=700, protected_user=messages.index(current), checkpoint=lambda: None)
    guards.before_call(AgentResult(text="", messages=messages))
    assert messages[1].content == "FIRST" and current in messages
    note = messages[2]
    assert note.role == "system" and note.content.startswith("[Earlier conversation truncated (")
    assert "Tools used: list_tasks" in note.content
    kept_calls = {m.tool_call_id for m in messages if m.role == "tool"}
    kept_asks = {m.tool_calls[0].id for m in messages if m.tool_calls}
    assert kept_calls == kept_asks and "c0" not in kept_calls  # no orphan results, oldest gone first
    assert sum(len(m.content) for m in messages[1:]) <= 700 + len(note.content)
    assert f"({guards.dropped} tool-call exchanges dropped)" in note.content


def test_halving_truncates_again_at_half_the_budget():
    messages = [Message(role="system", content="p"), Message(role="user", content="FIRST")]
    for i in range(6):
        messages += exchange(i)
    guards = Guards(max_session_size=1000, protected_user=1, checkpoint=lambda: None)
    guards.before_call(AgentResult(text="", messages=messages))
    before = sum(1 for m in messages if m.role == "tool")
    guards.halve(messages)
    assert sum(1 for m in messages if m.role == "tool") < before
    assert [m.content for m in messages if m.role == "system"][1].startswith("[Earlier conversation truncated")
    assert sum(1 for m in messages if m.content.startswith("[Earlier")) == 1  # one note, updated in place


def test_repetition_and_progress_notes():
    result = AgentResult(text="", messages=[Message(role="system", content="p"), Message(role="user", content="u")])
    guards = Guards(max_session_size=10**6, protected_user=1, checkpoint=lambda: None)
    for _ in range(5):
        result.messages += exchange(99)  # the same call every time
        result.iterations += 1
        guards.before_call(result)
    notes = [m.content for m in result.messages if m.role == "user"][1:]
    assert notes[0].endswith("the same arguments 3 times. Try a different approach.]")
    assert result.iterations == 5 + 3 * 5  # calls 3, 4 and 5 each cost five iterations
    # 1, 2, 3+5=8, 9+5=14, 15+5=20: the count jumped past 5, 10 and 15, and landed on 20
    assert notes.count(PROGRESS_NOTE) == 1 and notes[-1] == PROGRESS_NOTE
    assert call_key("a", {"x": 1, "y": 2}) == call_key("a", {"y": 2, "x": 1})
