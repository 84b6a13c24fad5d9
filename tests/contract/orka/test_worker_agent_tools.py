"""Contract: the worker coordination tools create_agent and delete_agent (orka-api.txt, coordination
tools table), as a coordinating worker gets them (`shared.worker.run.build_tools`), over the real
worker API: they run server-side through `/internal/v1/worker-tools/<ns>/<tool>/call`."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import AUTH, DEV_TOKEN


@pytest.fixture
def apps(function_client, tmp_path):
    from shared.worker.run import build_tools
    from shared.workerapi.client import InternalClient

    tasks, catalog = function_client("tasks"), function_client("catalog")
    server = make_server("127.0.0.1", 0, function_client("internal").application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name in ("boss", "other"):
        assert tasks.post("/api/v1/tasks", json={"name": name, "type": "ai", "prompt": "p"},
                          headers=AUTH).status_code == 201
    client = InternalClient(f"http://127.0.0.1:{server.server_port}", DEV_TOKEN)

    def worker_tools(task: str) -> dict:
        registry = build_tools({"type": "ai"}, client, "default", task, tmp_path,
                               agent={"coordination": {"enabled": True}})
        return {spec.name: registry.get(spec.name).run for spec in registry.specs()}

    yield catalog, worker_tools, function_client("internal")
    server.shutdown()


def test_a_coordinating_worker_has_both_tools(apps):
    _, worker_tools, _ = apps
    tools = worker_tools("boss")
    assert {"create_agent", "delete_agent", "delegate_task", "update_plan"} <= set(tools)


def test_create_agent_stores_an_agent_labelled_with_its_task(apps):
    catalog, worker_tools, _ = apps
    made = worker_tools("boss")["create_agent"]({
        "name": "reviewer", "provider": "openai", "model": "gpt-4o", "systemPrompt": "Review the diff.",
        "tools": ["web_fetch"], "coordination": {"enabled": True}})
    assert made == {"success": True, "data": {"agentName": "reviewer", "namespace": "default", "status": "created"}}
    agent = catalog.get("/api/v1/agents/reviewer", headers=AUTH).get_json()
    # stored flat, answered in Orka's Agent shape (docs/catalog.md)
    assert agent["spec"] == {"model": {"provider": "openai", "name": "gpt-4o"},
                             "systemPrompt": {"inline": "Review the diff."},
                             "tools": [{"name": "web_fetch"}], "coordination": {"enabled": True}}
    assert agent["metadata"]["labels"] == {"orka.ai/created-by": "create_agent", "orka.ai/parent-task": "boss"}
    assert agent["metadata"]["annotations"] == {"orka.ai/parent-task-name": "boss"}
    again = worker_tools("boss")["create_agent"]({"name": "reviewer", "provider": "openai", "model": "gpt-4o"})
    assert again["success"] is False and again["errorType"] == "already_exists"
    assert again["error"] == 'agent "reviewer" already exists in namespace "default"'


@pytest.mark.parametrize("args,error,kind", [
    ({"provider": "openai", "model": "m"}, "name is required", "invalid_arguments"),
    ({"name": "a", "model": "m"}, "provider is required", "invalid_arguments"),
    ({"name": "a", "provider": "openai", "model": " "}, "model is required", "invalid_arguments"),
    ({"name": "Bad_Name", "provider": "openai", "model": "m"},
     'invalid name "Bad_Name": must be a lowercase RFC 1123 subdomain', "invalid_arguments"),
    ({"name": "a", "provider": "openai", "model": "m", "namespace": "kube-system"},
     'namespace "kube-system" not allowed, restricted to "default"', "permission_denied"),
])
def test_create_agent_refusals_store_nothing(apps, args, error, kind):
    catalog, worker_tools, _ = apps
    result = worker_tools("boss")["create_agent"](args)
    assert result["success"] is False and (result["error"], result["errorType"]) == (error, kind)
    assert catalog.get("/api/v1/agents", headers=AUTH).get_json()["items"] == []


def test_delete_agent_only_deletes_the_tasks_own_agents(apps):
    catalog, worker_tools, _ = apps
    assert catalog.post("/api/v1/agents", json={"name": "platform", "spec": {"model": "m"}},
                        headers=AUTH).status_code == 201
    boss, other = worker_tools("boss"), worker_tools("other")
    assert boss["create_agent"]({"name": "helper", "provider": "openai", "model": "m"})["success"] is True

    # An agent that only claims the task as its parent (labels set through the API) is not the task's own.
    claimed = {"name": "claimed", "labels": {"orka.ai/parent-task": "boss"}, "spec": {"model": "m"}}
    assert catalog.post("/api/v1/agents", json=claimed, headers=AUTH).status_code == 201
    for tools, name, owner, current in ((boss, "platform", "", "boss"), (other, "helper", "boss", "other"),
                                        (boss, "claimed", "boss", "boss")):
        refused = tools["delete_agent"]({"name": name})
        assert refused["success"] is False and refused["errorType"] == "permission_denied"
        assert refused["error"] == (f'cannot delete agent default/{name}: not owned by current task '
                                    f'(owner: "{owner}", current: "{current}")')
    assert boss["delete_agent"]({"name": "helper", "namespace": "team-b"})["errorType"] == "permission_denied"
    assert boss["delete_agent"]({})["error"] == "name is required"

    assert boss["delete_agent"]({"name": "helper"}) == {"success": True, "data": {"name": "helper", "status": "deleted"}}
    assert catalog.get("/api/v1/agents/helper", headers=AUTH).status_code == 404
    assert catalog.get("/api/v1/agents/platform", headers=AUTH).status_code == 200
    gone = boss["delete_agent"]({"name": "helper"})
    assert (gone["success"], gone["errorType"], gone["error"]) == (
        False, "not_found", 'agent "helper" not found in namespace "default"')


def test_the_route_needs_credentials_and_a_task(apps):
    _, _, internal = apps
    path = "/internal/v1/worker-tools/default/create_agent/call"
    response = internal.post(path, json={"arguments": {"name": "x"}, "taskName": "boss"})
    assert (response.status_code, response.get_json()) == (401, {"error": {"code": 401,
                                                                          "message": "missing authorization header"}})
    response = internal.post(path, json={"arguments": {"name": "x"}}, headers=AUTH)
    assert (response.status_code, response.get_json()) == (400, {"error": {"code": 400, "message": "taskName is required"}})
    response = internal.post(path, json={"arguments": {}, "taskName": "ghost"}, headers=AUTH)
    assert (response.status_code, response.get_json()) == (404, {"error": {"code": 404, "message": "task not found"}})
