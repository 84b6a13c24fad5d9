"""Coordination tools drive the real worker API over HTTP, with the worker's credential."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import AUTH, DEV_TOKEN


@pytest.fixture
def tools(function_client):
    from shared.worker.coordination import WorkerContext, coordination_tools
    from shared.workerapi.client import InternalClient

    tasks = function_client("tasks")
    server = make_server("127.0.0.1", 0, function_client("internal").application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name in ("boss",):
        coordination = {"enabled": True, "allowedAgents": ["helper"]}  # an empty list allows no agent (Orka)
        assert tasks.post("/api/v1/tasks", json={"name": name, "type": "ai", "prompt": "p", "coordination": coordination},
                          headers=AUTH).status_code == 201
    client = InternalClient(f"http://127.0.0.1:{server.server_port}", DEV_TOKEN)

    def context(task, parent=None):
        ctx = WorkerContext(client, "default", task, parent, wait_cap_seconds=2.0, poll_seconds=0.1)
        return {t.spec.name: t.run for t in coordination_tools(ctx)}

    yield tasks, context
    server.shutdown()


def test_the_coordination_tool_set_matches_the_spec_names(tools):
    _, context = tools
    assert list(context("boss")) == ["delegate_task", "wait_for_tasks", "create_container_task", "cancel_task",
                                     "send_message", "check_messages", "update_plan"]


def test_delegate_wait_message_and_cancel(tools):
    from shared.tasks.lifecycle import transition

    tasks, context = tools
    boss = context("boss")
    assert boss["delegate_task"]({"agent": "helper"}) == {
        "success": False, "error": "agent and prompt are required", "errorType": "invalid_arguments"}
    made = boss["delegate_task"]({"agent": "helper", "prompt": "count", "name": "kid-a", "auto_retry": True})
    assert made == {"success": True, "data": {"taskName": "kid-a", "namespace": "default", "phase": "Pending"}}
    kid = tasks.get("/api/v1/tasks/kid-a", headers=AUTH).get_json()
    assert kid["metadata"]["labels"]["orka.ai/parent-task"] == "boss"
    assert kid["spec"]["retryPolicy"] == {"maxRetries": 2} and kid["spec"]["agentRef"] == {"name": "helper"}
    assert boss["delegate_task"]({"agent": "helper", "prompt": "again", "name": "kid-a"})["errorType"] == "already_exists"
    generated = boss["delegate_task"]({"agent": "helper", "prompt": "x"})["data"]["taskName"]
    assert generated.startswith("boss-") and len(generated) == len("boss-") + 8
    box = boss["create_container_task"]({"name": "kid-c", "image": "busybox", "command": ["true"]})
    assert box["success"] is True
    assert tasks.get("/api/v1/tasks/kid-c", headers=AUTH).get_json()["spec"]["command"] == ["true"]

    # siblings talk within the parent's scope; the parent reads what is sent to it
    kid_a, kid_b = context("kid-a", parent="boss"), context(generated, parent="boss")
    assert kid_a["send_message"]({"to_task": generated, "content": "hi b"})["success"] is True
    assert kid_a["send_message"]({"to_task": "boss", "content": "status: fine"})["success"] is True
    got = kid_b["check_messages"]({})["data"]["messages"]
    assert [(m["from"], m["content"]) for m in got] == [("kid-a", "hi b")]
    assert kid_b["check_messages"]({"wait_seconds": 0.3})["data"]["messages"] == []
    assert [m["content"] for m in boss["check_messages"]({"mark_read": False})["data"]["messages"]] == ["status: fine"]

    # waiting: capped, then complete with results
    waited = boss["wait_for_tasks"]({"tasks": ["kid-a"], "timeout": "1s"})["data"]
    assert waited["allDone"] is False and waited["tasks"][0]["phase"] == "Pending"
    transition("default", "kid-a", "Running")
    internal = context("kid-a", parent="boss")
    assert internal["update_plan"]({"summary": "half", "plan_document": "# p", "progress_pct": 50})["success"]
    from shared.store.blobs import put_blob
    from shared.tasks.repository import result_key
    from shared.tasks.repository import tasks as store

    put_blob(result_key("default", "kid-a"), b"42")
    store.update("default", "kid-a", lambda d: d["status"].update(resultRef={"available": True, "size": 2}))
    transition("default", "kid-a", "Succeeded")
    done = boss["wait_for_tasks"]({"tasks": ["kid-a", "ghost"]})["data"]
    assert done["tasks"][0] == {"name": "kid-a", "phase": "Succeeded", "message": None, "result": "42"}
    assert done["tasks"][1]["phase"] == "Unknown" and done["allDone"] is False
    assert tasks.get("/api/v1/tasks/kid-a/plan", headers=AUTH).get_json()["ProgressPct"] == 50

    assert boss["cancel_task"]({"task_name": generated, "reason": "enough"})["data"] == {
        "name": generated, "cancelled": True, "phase": "Cancelled"}
    assert boss["cancel_task"]({"task_name": "ghost"})["errorType"] == "not_found"
