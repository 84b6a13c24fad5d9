"""The compat engine's server-side stream: keep-alives while quiet, and a closed stream stops the loop."""

from __future__ import annotations

import threading
import time

from shared.agent.tools import Tool, ToolRegistry
from shared.compat import engine
from shared.compat.common import CompatRequest, primed
from shared.llm.base import Message, ToolSpec
from shared.llm.mock import MockProvider


class CountingMock(MockProvider):
    def __init__(self, script):
        super().__init__(script=script)
        self.calls = 0

    def stream(self, *args, **kwargs):
        self.calls += 1
        yield from super().stream(*args, **kwargs)


def slow_tools(seconds: float) -> ToolRegistry:
    return ToolRegistry([Tool(ToolSpec("slow", "", {"type": "object"}), lambda a: time.sleep(seconds) or "ok")])


REQUEST = CompatRequest(model=None, messages=[Message(role="user", content="go")], stream=True)


def test_closing_the_stream_stops_the_loop_at_its_next_step():
    provider = CountingMock([{"tool_calls": [{"name": "slow"}]}] * 5 + [{"text": "<ORKA_GOAL_STATE_REACHED> done"}])
    events = primed(engine.stream(REQUEST, provider, slow_tools(0.2), "default"))
    assert next(events).kind == "progress"  # the first tool's result
    events.close()  # what the server does when the client disconnects
    time.sleep(0.8)  # long enough for the rest of the loop, had it continued
    assert provider.calls <= 2


def test_a_quiet_loop_yields_keepalives(monkeypatch):
    monkeypatch.setattr(engine, "KEEPALIVE_SECONDS", 0.05)
    kept_alive = threading.Event()  # the tool runs until the stream has sent a keep-alive (or 10 s pass)
    tools = ToolRegistry([Tool(ToolSpec("slow", "", {"type": "object"}), lambda a: kept_alive.wait(10) and "ok")])
    provider = CountingMock([{"tool_calls": [{"name": "slow"}]}, {"text": "<ORKA_GOAL_STATE_REACHED> done"}])
    kinds = []
    for event in engine.stream(REQUEST, provider, tools, "default"):
        kinds.append(event.kind)
        if event.kind == "keepalive":
            kept_alive.set()
    assert "keepalive" in kinds and kinds[-1] == "done" and kept_alive.is_set()
