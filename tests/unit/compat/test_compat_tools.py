"""The compat tool set against the real store (moto): Orka's result shapes, limits, namespaces."""

from __future__ import annotations

import json

import pytest

from shared.auth.principal import Principal
from shared.compat.tools import compat_tools

DEV = Principal(kind="dev", subject="dev", username="dev")


@pytest.fixture
def tools(aws, event_sink):
    return compat_tools(DEV, "team-a")


def run(tools, tool, **args):
    return tools.get(tool).run(args)


def test_create_check_and_cancel_a_task(tools):
    created = run(tools, "create_ai_task", prompt="summarise the logs")
    assert created["success"] and created["data"]["namespace"] == "team-a"
    name = created["data"]["taskName"]
    assert run(tools, "check_task_progress", name=name) == {
        "success": True, "data": {"name": name, "phase": "Pending", "message": ""}}
    cancelled = run(tools, "cancel_task", name=name)
    assert cancelled["data"]["phase"] == "Cancelled"
    assert run(tools, "cancel_task", name=name)["errorType"] == "invalid_arguments"
    assert run(tools, "wait_for_task", name=name, timeout=0)["data"]["phase"] == "Cancelled"


def test_bad_arguments_and_missing_tasks_are_tool_errors(tools):
    assert run(tools, "create_ai_task", prompt=" ") == {
        "success": False, "error": "prompt is required", "errorType": "invalid_arguments",
        "suggestion": "Describe the work in prompt"}
    assert run(tools, "wait_for_task")["error"] == "name is required"
    assert run(tools, "wait_for_task", name="ghost")["errorType"] == "not_found"
    assert run(tools, "wait_for_task", name="ghost", timeout="soon")["errorType"] == "invalid_arguments"


def test_wait_reports_a_running_task_as_still_running(tools):
    name = run(tools, "create_ai_task", prompt="p")["data"]["taskName"]
    waited = run(tools, "wait_for_task", name=name, timeout=0.2)
    assert waited["data"]["phase"] == "Pending" and "still running" in waited["data"]["message"]


def test_at_most_five_tasks_per_request(tools):
    for _ in range(5):
        assert run(tools, "create_ai_task", prompt="p")["success"]
    assert run(tools, "create_ai_task", prompt="p") == {
        "success": False, "error": "task creation limit reached (max 5 per turn)", "errorType": "limit_reached",
        "suggestion": "Wait for the tasks you created and use their results"}
    assert run(compat_tools(DEV, "team-a"), "create_ai_task", prompt="p")["success"]  # a new request


def test_fetch_task_output_truncates_at_2048_characters(tools):
    from shared.store.blobs import put_blob
    from shared.tasks.repository import result_key, tasks

    name = run(tools, "create_ai_task", prompt="p")["data"]["taskName"]
    assert run(tools, "fetch_task_output", name=name)["error"] == "task has no result yet"
    put_blob(result_key("team-a", name), ("x" * 3000).encode())
    tasks.update("team-a", name, lambda doc: doc.setdefault("status", {}).update(resultRef={"available": True}))
    data = run(tools, "fetch_task_output", name=name)["data"]
    assert len(data["output"]) == 2048 and data["truncated"] is True
    json.dumps(data)  # results must be JSON-serialisable for the model
