"""Contract: /api/v1/tasks (orka-api.txt, orka-behaviour.md §2), exact codes and bodies."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH


@pytest.fixture
def tasks(function_client):
    return function_client("tasks")


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def create(client, body, headers=AUTH):
    return client.post("/api/v1/tasks", data=json.dumps(body) if not isinstance(body, str) else body,
                       headers={**headers, "Content-Type": "application/json"})


# -- authentication ------------------------------------------------------------------------------
@pytest.mark.parametrize("method,path", [
    ("POST", "/api/v1/tasks"), ("GET", "/api/v1/tasks"), ("GET", "/api/v1/tasks/x"),
    ("DELETE", "/api/v1/tasks/x"), ("GET", "/api/v1/tasks/x/result"), ("GET", "/api/v1/tasks/x/plan")])
def test_every_task_route_without_credentials_is_401_missing_header(tasks, method, path):
    response = tasks.open(path, method=method)
    assert response.status_code == 401
    assert response.get_json() == err(401, "missing authorization header")


def test_non_bearer_authorization_is_401_invalid_format(tasks):
    response = tasks.get("/api/v1/tasks", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert response.get_json() == err(401, "invalid authorization header format")


def test_unknown_bearer_token_is_401_invalid_token(tasks):
    response = tasks.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.get_json() == err(401, "invalid token")


def test_dev_token_is_refused_outside_the_local_platform(tasks, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_PLATFORM", "cluster")
    reset_settings()
    response = tasks.get("/api/v1/tasks", headers=AUTH)
    assert response.status_code == 401
    assert response.get_json() == err(401, "invalid token")


# -- create: validation order and messages ---------------------------------------------------------
@pytest.mark.parametrize("body,message", [
    ({"name": "t", "type": "ai", "prompt": "p", "requestedBy": {"subject": "x"}}, "requestedBy cannot be set by clients"),
    ({"name": "t", "type": "ai", "prompt": "p", "RequestedBY": {}}, "requestedBy cannot be set by clients"),
    ({"name": "t", "transaction": {}}, "transaction cannot be set by clients"),
    ({"name": "t", "spec": {"type": "ai", "requestedBy": {}}}, "spec.requestedBy cannot be set by clients"),
    ({"name": "t", "spec": {"type": "ai", "Transaction": {}}}, "spec.transaction cannot be set by clients"),
    # step 1 wins over every later check, even over a missing name
    ({"requestedBy": {}}, "requestedBy cannot be set by clients"),
    ("{not json", "invalid request body"),
    ("[1,2]", "invalid request body"),
    ({"name": 5, "type": "ai"}, "name: Input should be a valid string"),
    ({"name": "t", "type": "ai", "prompt": "p", "promtp": "q"}, "promtp: unknown field"),
    ({"name": "t", "spec": {"type": "ai", "prompt": "p", "retries": 3}}, "spec.retries: unknown field"),
    ({"name": "t", "spec": {"type": "ai", "prompt": "p", "timeout": 30}}, 'spec.timeout: expected a duration like "30m"'),
    ({"type": "ai", "prompt": "p"}, "name is required"),
    ({"name": "t", "type": "ai", "prompt": "p", "labels": {"orka.ai/parent-task": "x"}}, 'label "orka.ai/parent-task" is reserved'),
    ({"metadata": {"name": "t", "annotations": {"orka.ai/depth": "1"}}, "spec": {"type": "ai"}}, 'annotation "orka.ai/depth" is reserved'),
    ({"name": "t", "prompt": "p"}, "type is required"),
    ({"name": "t", "type": "shell"}, 'invalid type "shell": must be one of container, ai, agent'),
    ({"name": "t", "type": "ai", "prompt": "p", "timeout": "ten minutes"}, 'invalid timeout: time: invalid duration "ten minutes"'),
    ({"name": "t", "type": "ai", "prompt": "p", "timeout": "10"}, 'invalid timeout: time: missing unit in duration "10"'),
    ({"name": "t", "type": "ai", "prompt": "p", "priority": 1001}, "priority must be between 0 and 1000"),
    ({"name": "Bad_Name", "type": "ai", "prompt": "p"}, 'invalid name "Bad_Name": must be a lowercase RFC 1123 subdomain'),
    ({"name": "t", "type": "ai"}, "prompt is required for ai tasks"),
    ({"name": "t", "type": "container"}, "image is required for container tasks"),
])
def test_create_rejects_bad_input_with_orka_message_and_stores_nothing(tasks, event_sink, body, message):
    response = create(tasks, body)
    assert response.status_code == 400
    assert response.get_json() == err(400, message)
    assert tasks.get("/api/v1/tasks", headers=AUTH).get_json() == {"items": [], "metadata": {}}
    assert event_sink.events == []


def test_empty_body_is_invalid_request_body(tasks):
    response = tasks.post("/api/v1/tasks", headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == err(400, "invalid request body")


def test_create_flat_form_returns_201_with_defaults_and_emits_created(tasks, event_sink):
    response = create(tasks, {"name": "hello", "type": "ai", "prompt": "say hi", "timeout": "1h30m"})
    assert response.status_code == 201
    task = response.get_json()
    assert task["apiVersion"] == "core.orka.ai/v1alpha1" and task["kind"] == "Task"
    assert task["metadata"]["name"] == "hello" and task["metadata"]["namespace"] == "default"
    assert task["spec"] == {"type": "ai", "prompt": "say hi", "timeout": "1h30m", "priority": 500}
    assert task["status"]["phase"] == "Pending"
    assert task["status"]["resultRef"] == {"available": False}
    [event] = event_sink.events
    assert event.type == "dev.shoal.task.created"
    assert event.subject == "default/hello"
    assert event.data == {"namespace": "default", "name": "hello", "type": "ai", "phase": "Pending"}


def test_create_spec_form_with_metadata_and_session_defaults(tasks):
    body = {"metadata": {"name": "spec-form", "namespace": "team-a", "labels": {"app": "x"}},
            "spec": {"type": "agent", "prompt": "do it", "agentRef": {"name": "assistant"},
                     "sessionRef": {"name": "s1"}, "priority": 0}}
    response = create(tasks, body)
    assert response.status_code == 201
    task = response.get_json()
    assert task["metadata"]["namespace"] == "team-a"
    assert task["metadata"]["labels"] == {"app": "x"}
    assert task["spec"]["sessionRef"] == {"name": "s1", "append": True, "maxMessages": 50}
    assert task["spec"]["priority"] == 0
    assert tasks.get("/api/v1/tasks/spec-form?namespace=team-a", headers=AUTH).status_code == 200
    assert tasks.get("/api/v1/tasks/spec-form", headers=AUTH).get_json() == err(404, "task not found")


def test_duplicate_create_is_409_task_already_exists(tasks, event_sink):
    assert create(tasks, {"name": "dup", "type": "ai", "prompt": "p"}).status_code == 201
    response = create(tasks, {"name": "dup", "type": "ai", "prompt": "other"})
    assert response.status_code == 409
    assert response.get_json() == err(409, "task already exists")
    assert tasks.get("/api/v1/tasks/dup", headers=AUTH).get_json()["spec"]["prompt"] == "p"
    assert len(event_sink.of_type("dev.shoal.task.created")) == 1


# -- get, list, delete, result ------------------------------------------------------------------------
def test_get_unknown_task_is_404(tasks):
    response = tasks.get("/api/v1/tasks/missing", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == err(404, "task not found")


def test_list_pages_with_opaque_continue_until_exhausted(tasks):
    for i in range(5):
        assert create(tasks, {"name": f"t{i}", "type": "ai", "prompt": "p"}).status_code == 201
    first = tasks.get("/api/v1/tasks?limit=2", headers=AUTH).get_json()
    assert [t["metadata"]["name"] for t in first["items"]] == ["t0", "t1"]
    token = first["metadata"]["continue"]
    second = tasks.get(f"/api/v1/tasks?limit=2&continue={token}", headers=AUTH).get_json()
    assert [t["metadata"]["name"] for t in second["items"]] == ["t2", "t3"]
    third = tasks.get(f"/api/v1/tasks?limit=2&continue={second['metadata']['continue']}", headers=AUTH).get_json()
    assert [t["metadata"]["name"] for t in third["items"]] == ["t4"]
    assert third["metadata"] == {}
    everything = tasks.get("/api/v1/tasks?limit=0", headers=AUTH).get_json()
    assert len(everything["items"]) == 5 and everything["metadata"] == {}


@pytest.mark.parametrize("query,message", [
    ("limit=abc", "invalid limit parameter: abc"),
    ("limit=-1", "limit must be at least 1"),
    ("limit=0&continue=abc", "continue is not allowed with limit=0"),
    ("continue=not-a-cursor", "invalid continue token"),
])
def test_list_rejects_bad_paging_parameters(tasks, query, message):
    response = tasks.get(f"/api/v1/tasks?{query}", headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == err(400, message)


def test_list_clamps_limit_to_500(tasks):
    assert create(tasks, {"name": "only", "type": "ai", "prompt": "p"}).status_code == 201
    response = tasks.get("/api/v1/tasks?limit=100000", headers=AUTH)
    assert response.status_code == 200
    assert len(response.get_json()["items"]) == 1


def test_delete_is_204_then_404_and_emits_deleted(tasks, event_sink):
    assert create(tasks, {"name": "gone", "type": "ai", "prompt": "p"}).status_code == 201
    response = tasks.delete("/api/v1/tasks/gone", headers=AUTH)
    assert response.status_code == 204 and response.data == b""
    assert tasks.get("/api/v1/tasks/gone", headers=AUTH).status_code == 404
    assert tasks.delete("/api/v1/tasks/gone", headers=AUTH).get_json() == err(404, "task not found")
    assert [e.type for e in event_sink.events] == ["dev.shoal.task.created", "dev.shoal.task.deleted"]


def test_result_is_404_until_a_worker_posts_one(tasks):
    assert create(tasks, {"name": "r", "type": "ai", "prompt": "p"}).status_code == 201
    response = tasks.get("/api/v1/tasks/r/result", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == err(404, "task has no result")


def test_plan_is_404_until_saved(tasks):
    assert create(tasks, {"name": "p", "type": "ai", "prompt": "p"}).status_code == 201
    response = tasks.get("/api/v1/tasks/p/plan", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == err(404, "no plan found for this task")


def test_unknown_path_and_method_answer_in_orka_dialect(tasks):
    assert tasks.get("/api/v1/tasks/a/b/c", headers=AUTH).get_json() == err(404, "not found")
    response = tasks.put("/api/v1/tasks", headers=AUTH)
    assert response.status_code == 405
    assert response.get_json() == err(405, "method not allowed")


def test_health_endpoints_need_no_credentials(tasks):
    assert tasks.get("/healthz").get_json() == {"status": "ok"}
    ready = tasks.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ok", "checks": {"store": "ok"}}


@pytest.mark.parametrize(("workspace", "message"), [
    ({"pushBranch": "-oops"}, "invalid spec.workspace.pushBranch: must be a branch name"),
    ({"pushBranch": "a..b"}, "invalid spec.workspace.pushBranch: must be a branch name"),
    ({"pushBranch": 7}, "invalid spec.workspace.pushBranch: must be a branch name"),
    ({"push": "no"}, "invalid spec.workspace.push: must be a boolean"),
    ({"pullRequest": "yes"}, "invalid spec.workspace.pullRequest: must be an object"),
    ({"pullRequest": {"base": "main", "draft": True}}, "unknown field spec.workspace.pullRequest.draft"),
    ({"pullRequest": {"title": ""}}, "invalid spec.workspace.pullRequest.title: must be a non-empty string"),
    ({"pullRequest": True, "push": False}, "invalid spec.workspace.pullRequest: needs the work to be pushed (push is false)"),
])
def test_how_a_coding_agent_publishes_is_checked_at_create(tasks, workspace, message):
    body = {"name": "pub", "type": "agent", "prompt": "p",
            "workspace": {"gitRepo": "https://github.com/o/r", **workspace}}
    response = tasks.post("/api/v1/tasks", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == err(400, message)
    assert tasks.get("/api/v1/tasks/pub", headers=AUTH).status_code == 404
    good = {**body, "workspace": {"gitRepo": "https://github.com/o/r", "pushBranch": "feature/x",
                                  "pullRequest": {"base": "main", "title": "Fix"}}}
    assert tasks.post("/api/v1/tasks", json=good, headers=AUTH).status_code == 201


@pytest.mark.parametrize("path", ["/api/v1/tasks//x/stream", "/api/v1/tasks//<session_id>stream",
                                  "/api/v1/tasks//logs"])
def test_an_empty_path_segment_is_404_not_a_redirect_or_500(tasks, path):
    response = tasks.get(path, headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == err(404, "not found")
