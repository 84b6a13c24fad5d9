"""The ACP client against a scripted ACP agent process: updates, permissions, fs, cancel, timeout, crash."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from shared.runtimes.acp_driver import RuntimeFailed, drive
from tests.support.acp_agent import install
from tests.support.llm_wire import ScriptedLLM


@pytest.fixture()
def agent_command(tmp_path):
    return [str(install(tmp_path / "bin", "scripted-acp"))]


def _run(command, workspace, prompt, env=None, **kwargs):
    events: list[tuple[str, dict]] = []
    outcome = asyncio.run(drive(command, env={"PATH": "/usr/bin:/bin", **(env or {})}, workspace=workspace,
                                prompt=prompt, observe=lambda kind, data: events.append((kind, data)), **kwargs))
    return outcome, events


def test_a_turn_writes_inside_the_workspace_and_reports_every_update(tmp_path, agent_command):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    with ScriptedLLM([{"text": "hi from the model"}]) as llm:
        outcome, events = _run(agent_command, workspace, "WRITE notes/hello.txt please",
                               env={"ANTHROPIC_BASE_URL": llm.url, "ANTHROPIC_API_KEY": "task-token"})
        [request] = llm.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["X-Api-Key"] == "task-token"
    assert (workspace / "notes" / "hello.txt").read_text() == "hi from the model\n"
    assert outcome.stop_reason == "end_turn"
    assert outcome.text == "Wrote hello.txt"
    assert not outcome.cancelled and not outcome.timed_out and outcome.denied == []
    kinds = [kind for kind, _ in events]
    assert kinds.count("plan") == 3
    assert ("permission", {"tool": "Write " + str(workspace / "notes/hello.txt"), "allowed": True,
                           "reason": "inside the workspace"}) in events
    tool_call = next(data for kind, data in events if kind == "tool_call")
    assert tool_call["status"] == "pending" and tool_call["kind"] == "edit"
    assert tool_call["paths"] == [str(workspace / "notes/hello.txt")]
    result = [data for kind, data in events if kind == "tool_result"][-1]
    assert result["status"] == "completed" and result["diffs"] == [str(workspace / "notes/hello.txt")]
    assert "".join(data["content"] for kind, data in events if kind == "delta") == "Wrote hello.txt"
    final_plan = [data for kind, data in events if kind == "plan"][-1]
    assert [e["status"] for e in final_plan["entries"]] == ["completed", "completed"]


def test_writes_outside_the_workspace_are_denied_and_said(tmp_path, agent_command):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    outcome, events = _run(agent_command, workspace, "NOMODEL OUTSIDE")
    assert (workspace / "hello.txt").read_text() == "fixed content\n"
    assert not Path("/etc/shoal-test").exists()
    assert outcome.denied == ["Write /etc/shoal-test: /etc/shoal-test is outside the workspace and no approval "
                              "mechanism is configured"]
    denied = [data for kind, data in events if kind == "permission" and not data["allowed"]]
    assert [d["tool"] for d in denied] == ["Write /etc/shoal-test"]


def test_cancel_sends_session_cancel_and_the_turn_ends_cancelled(tmp_path, agent_command):
    workspace = tmp_path / "ws"
    workspace.mkdir()

    async def scenario():
        cancel = asyncio.Event()
        events = []
        running = asyncio.create_task(drive(agent_command, env={"PATH": "/usr/bin:/bin"}, workspace=workspace,
                                            prompt="HANG", observe=lambda k, d: events.append((k, d)), cancel=cancel))
        deadline = asyncio.get_running_loop().time() + 30
        while not any(kind == "delta" for kind, _ in events):
            assert asyncio.get_running_loop().time() < deadline and not running.done(), events
            await asyncio.sleep(0.05)
        cancel.set()
        return await asyncio.wait_for(running, 20), events

    outcome, events = asyncio.run(scenario())
    assert outcome.cancelled and outcome.stop_reason == "cancelled"
    assert ("status", {"message": "cancelling"}) in events


def test_timeout_cancels_the_turn(tmp_path, agent_command):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    outcome, _ = _run(agent_command, workspace, "HANG", timeout=1.0)
    assert outcome.timed_out and not outcome.cancelled and outcome.stop_reason == "cancelled"


def test_a_runtime_that_dies_mid_turn_fails_clearly(tmp_path, agent_command):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    with pytest.raises(RuntimeFailed, match=r"^scripted-acp exited with code 3 during the turn$"):
        _run(agent_command, workspace, "CRASH")


def test_a_missing_program_fails_clearly(tmp_path):
    with pytest.raises(RuntimeFailed, match=r"^could not start nothing-here: No such file or directory$"):
        _run([str(tmp_path / "nothing-here")], tmp_path, "hi")


def test_a_program_that_is_not_an_acp_agent_fails_clearly(tmp_path):
    with pytest.raises(RuntimeFailed, match=r"^python[0-9.]* exited with code 0$"):
        _run([sys.executable, "-c", "print('{}')"], tmp_path, "hi")
