"""Text deltas become `message` events one coalescing window at a time (counted, not timed: the turn's
clock is a fake one)."""

from __future__ import annotations

import pytest

from shared.auth.principal import Principal
from shared.chat import turn as turn_module
from shared.chat.limits import chat_limits
from shared.llm.mock import MockProvider


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def emit(self, event: str, data: dict) -> int:
        self.events.append((event, data))
        return len(self.events)


@pytest.fixture
def turn(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(turn_module.time, "monotonic", lambda: clock[0])
    request = turn_module.TurnRequest(principal=Principal("dev", "dev", "dev"), namespace="default",
                                      session_id="s1", message="hi", provider=MockProvider(), limits=chat_limits())
    recorder = Recorder()
    made = turn_module.Turn(request, recorder, [])  # type: ignore[arg-type]  (only `emit` is used)
    return made, recorder, clock


def test_a_reply_within_one_window_is_one_message_event(turn):
    made, recorder, clock = turn
    for word in ("Hello ", "there, ", "friend."):
        made._observe("delta", {"content": word})
        clock[0] += 0.01
    made._flush_text()  # the loop's end
    assert recorder.events == [("message", {"content": "Hello there, friend."})]


def test_a_slow_stream_is_one_event_per_window_counted_from_its_first_unsent_delta(turn):
    made, recorder, clock = turn
    clock[0] += 5  # long after the turn started: the first delta still waits for its window
    made._observe("delta", {"content": "a"})
    clock[0] += turn_module.DELTA_WINDOW / 2
    made._observe("delta", {"content": "b"})
    assert recorder.events == []
    clock[0] += turn_module.DELTA_WINDOW / 2
    made._observe("delta", {"content": "c"})  # the window since "a" is over: a, b and c go out
    clock[0] += 0.001
    made._observe("delta", {"content": "d"})  # opens the next window
    made._observe("tool_call", {"id": "1", "name": "list_agents", "args": {}})  # anything else flushes first
    assert recorder.events == [("message", {"content": "abc"}), ("message", {"content": "d"}),
                               ("tool_call", {"toolCall": {"id": "1", "name": "list_agents", "args": {}}})]


def test_a_long_burst_goes_out_when_it_reaches_the_size_limit(turn):
    made, recorder, _ = turn
    made._observe("delta", {"content": "x" * (turn_module.DELTA_CHARS - 1)})
    assert recorder.events == []
    made._observe("delta", {"content": "yz"})
    assert recorder.events == [("message", {"content": "x" * (turn_module.DELTA_CHARS - 1) + "yz"})]
