"""Contract: worker API artifacts, messages (per-recipient read state), transcripts, coordination routes."""

from __future__ import annotations

import pytest

from tests.conftest import AUTH


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def apps(function_client):
    tasks = function_client("tasks")
    internal = function_client("internal")
    # its own coordination (Shoal's opt-in for a task without an Agent), bound as an Agent's would be
    coordination = {"enabled": True, "allowedAgents": ["helper"]}
    assert tasks.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "p", "coordination": coordination},
                      headers=AUTH).status_code == 201
    return tasks, internal


@pytest.mark.parametrize("method,path", [
    ("POST", "/internal/v1/artifacts/default/job/a.txt"), ("POST", "/internal/v1/messages/default"),
    ("GET", "/internal/v1/messages/default/job?parentTask=p"), ("GET", "/internal/v1/sessions/default/s/transcript"),
    ("POST", "/internal/v1/sessions/default/s/transcript"), ("POST", "/internal/v1/events/default/job"),
    ("POST", "/internal/v1/tasks/default"), ("GET", "/internal/v1/tasks/default/job"),
    ("POST", "/internal/v1/tasks/default/job/cancel")])
def test_new_internal_routes_need_credentials(apps, method, path):
    _, internal = apps
    response = internal.open(path, method=method, data=b"x")
    assert response.status_code == 401
    assert response.get_json() == err(401, "missing authorization header")


def test_new_internal_routes_refuse_another_namespace(apps, monkeypatch):
    from shared.auth import resolver
    from shared.auth.principal import Principal

    def team_b(token, headers):
        if token == "team-b-sa":
            return Principal(kind="serviceaccount", subject="system:serviceaccount:team-b:w", username="w",
                             namespace="team-b")
        return None

    monkeypatch.setattr(resolver, "AUTHENTICATORS", [team_b, *resolver.AUTHENTICATORS])
    _, internal = apps
    other = {"Authorization": "Bearer team-b-sa"}
    for method, path in [("POST", "/internal/v1/artifacts/default/job/a.txt"), ("POST", "/internal/v1/messages/default"),
                         ("GET", "/internal/v1/messages/default/job?parentTask=p"),
                         ("POST", "/internal/v1/tasks/default"), ("GET", "/internal/v1/tasks/default/job")]:
        response = internal.open(path, method=method, data=b"x", headers=other)
        assert response.get_json() == err(403, "cross-namespace access denied"), path


# -- artifacts --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("filename,data,code,message", [
    ("a" * 256, b"x", 400, "invalid artifact filename"),
    ("..", b"x", 400, "invalid artifact filename"),
    ("bad%01name", b"x", 400, "path parameter filename contains a control character"),
    ("back%5Cslash", b"x", 400, "invalid artifact filename"),
    ("ok.txt", b"", 400, "empty request body"),
    ("ok.txt", b"x" * (10 * 1024 * 1024 + 1), 413, "artifact exceeds 10MB limit"),
])
def test_bad_artifacts_are_refused_and_store_nothing(apps, filename, data, code, message):
    tasks, internal = apps
    response = internal.post(f"/internal/v1/artifacts/default/job/{filename}", data=data, headers=AUTH)
    assert response.status_code == code
    assert response.get_json() == err(code, message)
    assert tasks.get("/api/v1/tasks/job/artifacts", headers=AUTH).get_json() == {"artifacts": []}


def test_artifact_of_255_characters_is_accepted_and_unknown_task_is_404(apps):
    _, internal = apps
    assert internal.post(f"/internal/v1/artifacts/default/job/{'a' * 255}", data=b"x", headers=AUTH).status_code == 201
    assert internal.post("/internal/v1/artifacts/default/nope/a.txt", data=b"x", headers=AUTH).get_json() == err(
        404, "task not found")


# -- messages ---------------------------------------------------------------------------------------------
def send(internal, frm, to, content, parent="coord"):
    return internal.post("/internal/v1/messages/default", headers=AUTH,
                         json={"fromTask": frm, "toTask": to, "parentTask": parent, "content": content})


def inbox(internal, task, parent="coord", mark=None):
    query = f"parentTask={parent}" + (f"&markRead={mark}" if mark is not None else "")
    response = internal.get(f"/internal/v1/messages/default/{task}?{query}", headers=AUTH)
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize("body,message", [
    ({"toTask": "b", "parentTask": "p", "content": "c"}, "fromTask is required"),
    ({"fromTask": "a", "parentTask": "p", "content": "c"}, "toTask is required"),
    ({"fromTask": "a", "toTask": "b", "content": "c"}, "parentTask is required"),
    ({"fromTask": "a", "toTask": "b", "parentTask": "p", "content": ""}, "content is required"),
    ({"fromTask": "a", "toTask": 3, "parentTask": "p", "content": "c"}, "toTask: Input should be a valid string"),
])
def test_message_fields_are_all_required(apps, body, message):
    _, internal = apps
    response = internal.post("/internal/v1/messages/default", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == err(400, message)
    assert inbox(internal, "b", parent="p") == []


def test_get_messages_requires_parent_task(apps):
    _, internal = apps
    assert internal.get("/internal/v1/messages/default/a", headers=AUTH).get_json() == err(
        400, "parentTask query parameter is required")


def test_messages_direct_broadcast_and_mark_read_semantics(apps):
    _, internal = apps
    assert send(internal, "a", "b", "to b").status_code == 204
    assert send(internal, "a", "*", "hello all").status_code == 204
    assert send(internal, "c", "a", "to a").status_code == 204
    assert send(internal, "a", "b", "other parent", parent="elsewhere").status_code == 204
    # markRead=false (any value but "true") leaves them unread
    first = inbox(internal, "b", mark="no")
    assert [(m["id"], m["fromTask"], m["toTask"], m["content"]) for m in first] == [
        (1, "a", "b", "to b"), (2, "a", "*", "hello all")]
    assert set(first[0]) == {"id", "namespace", "fromTask", "toTask", "parentTask", "content", "read", "createdAt"}
    assert first[0]["parentTask"] == "coord" and first[0]["read"] is False and first[0]["namespace"] == "default"
    assert inbox(internal, "b", mark="false") == first
    assert inbox(internal, "b") == first  # markRead absent = true
    assert inbox(internal, "b") == []
    # The broadcast is still unread for c (Orka's shared flag would have hidden it); the sender never sees it.
    assert [m["content"] for m in inbox(internal, "c", mark="true")] == ["hello all"]
    assert [m["content"] for m in inbox(internal, "a")] == ["to a"]
    assert inbox(internal, "a") == [] and inbox(internal, "c") == []
    assert send(internal, "c", "*", "second round").status_code == 204
    assert [m["id"] for m in inbox(internal, "b")] == [4]  # ids count per parent coordinator


def test_read_state_never_skips_a_message_whose_append_is_in_flight(aws):
    """A reserved but not yet written sequence must stay readable after a later one was marked read."""
    from shared.store import streams
    from shared.tasks import messages

    stream = "msg#default/coord"
    streams._reserve(stream)  # sequence 1 reserved by a slow writer
    messages.send("default", "a", "b", "coord", "second")  # sequence 2
    assert [m["id"] for m in messages.unread("default", "b", "coord", mark_read=True)] == [2]
    import json

    from shared.store.clients import client
    from shared.store.tables import table_name

    client("dynamodb").put_item(TableName=table_name("streams"), Item={
        "pk": {"S": stream}, "sk": {"N": "1"},
        "data": {"S": json.dumps({"fromTask": "a", "toTask": "b", "content": "first", "createdAt": "x"})}})
    assert [m["content"] for m in messages.unread("default", "b", "coord", mark_read=True)] == ["first"]
    assert messages.unread("default", "b", "coord", mark_read=True) == []
    state = messages.read_state.get("default/coord", "b").doc
    assert state == {"through": 2, "read": []}


# -- transcripts ------------------------------------------------------------------------------------------
def test_transcript_round_trip_as_ndjson_and_task_scoping(apps):
    import json

    tasks, internal = apps
    assert internal.get("/internal/v1/sessions/default/s1/transcript", headers=AUTH).get_json() == err(
        404, "session not found")
    assert internal.post("/internal/v1/sessions/default/s1/transcript", json={"messages": [{"content": "x"}]},
                         headers=AUTH).get_json() == err(400, "messages must be a list of objects with a role")
    body = {"messages": [{"role": "user", "content": "hi"},
                         {"role": "assistant", "content": "", "toolCalls": [{"name": "web_fetch"}]}]}
    assert internal.post("/internal/v1/sessions/default/s1/transcript", json=body, headers=AUTH).status_code == 204
    response = internal.get("/internal/v1/sessions/default/s1/transcript", headers=AUTH)
    assert response.status_code == 200 and response.content_type == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [(x["order"], x["role"], x["content"]) for x in lines] == [(1, "user", "hi"), (2, "assistant", "")]
    assert lines[1]["toolCalls"] == [{"name": "web_fetch"}] and lines[0]["id"] and lines[0]["ts"]
    assert internal.get("/internal/v1/sessions/default/s1/transcript?taskName=job", headers=AUTH).get_json() == err(
        403, "task does not reference this session")
    assert tasks.post("/api/v1/tasks", json={"name": "st", "type": "ai", "prompt": "p", "sessionRef": {"name": "s1"}},
                      headers=AUTH).status_code == 201
    assert internal.get("/internal/v1/sessions/default/s1/transcript?taskName=st", headers=AUTH).status_code == 200


# -- coordination -----------------------------------------------------------------------------------------
def test_child_tasks_are_created_labelled_read_and_cancelled(apps, event_sink):
    tasks, internal = apps
    assert internal.post("/internal/v1/tasks/default", json={"name": "k", "type": "ai", "prompt": "p"},
                         headers=AUTH).get_json() == err(400, "parentTask is required")
    assert internal.post("/internal/v1/tasks/default", json={"parentTask": "ghost", "name": "k", "type": "ai",
                                                              "prompt": "p"}, headers=AUTH).get_json() == err(
        404, "task not found")
    assert internal.post("/internal/v1/tasks/default", headers=AUTH, json={
        "parentTask": "job", "name": "k", "type": "ai", "prompt": "p", "labels": {"orka.ai/x": "1"}}).get_json() == err(
        400, 'label "orka.ai/x" is reserved')
    response = internal.post("/internal/v1/tasks/default", headers=AUTH, json={
        "parentTask": "job", "name": "k", "type": "ai", "prompt": "p", "agentRef": "helper"})
    assert response.status_code == 201
    child = response.get_json()
    assert child["metadata"]["labels"] == {"orka.ai/parent-task": "job", "orka.ai/coordinator": "true",
                                           "orka.ai/delegated-agent": "helper"}  # Orka's labels and values
    assert child["metadata"]["annotations"] == {"orka.ai/coordination-depth": "1"}
    kids = tasks.get("/api/v1/tasks/job/children", headers=AUTH).get_json()["items"]
    assert [t["metadata"]["name"] for t in kids] == ["k"]
    state = internal.get("/internal/v1/tasks/default/k", headers=AUTH).get_json()
    assert state == {"name": "k", "namespace": "default", "phase": "Pending", "message": None,
                     "labels": child["metadata"]["labels"]}
    internal.post("/internal/v1/results/default/k", data=b"child says hi", headers=AUTH)
    assert internal.get("/internal/v1/tasks/default/k", headers=AUTH).get_json()["result"] == "child says hi"
    assert internal.post("/internal/v1/tasks/default/k/cancel", json={"reason": "enough"}, headers=AUTH).get_json() == {
        "name": "k", "cancelled": True, "phase": "Cancelled"}
    assert internal.post("/internal/v1/tasks/default/k/cancel", headers=AUTH).get_json()["cancelled"] is False


def test_delegation_depth_is_capped_at_three(apps):
    _, internal = apps
    parent = "job"
    for depth in (1, 2, 3):
        name = f"d{depth}"
        assert internal.post("/internal/v1/tasks/default", headers=AUTH, json={
            "parentTask": parent, "name": name, "type": "ai", "prompt": "p",
            "coordination": {"enabled": True}}).status_code == 201  # each link coordinates in turn
        parent = name
    assert internal.post("/internal/v1/tasks/default", headers=AUTH, json={
        "parentTask": "d3", "name": "d4", "type": "ai", "prompt": "p"}).get_json() == err(
        400, "coordination depth exceeded: current depth 3, max depth 3")
    assert internal.get("/internal/v1/tasks/default/d4", headers=AUTH).status_code == 404  # nothing created


def test_a_parent_that_does_not_coordinate_cannot_delegate(apps):
    """Orka's controller fails such a child ("parent agent does not have coordination enabled"); Shoal
    refuses to create it. A child of a coordinator does not coordinate unless its own Agent or spec says so."""
    tasks, internal = apps
    assert tasks.post("/api/v1/tasks", json={"name": "plain", "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    for parent in ("plain", "kid"):
        if parent == "kid":
            assert internal.post("/internal/v1/tasks/default", headers=AUTH, json={
                "parentTask": "job", "name": "kid", "type": "ai", "prompt": "p"}).status_code == 201
        refused = internal.post("/internal/v1/tasks/default", headers=AUTH, json={
            "parentTask": parent, "name": f"{parent}-child", "type": "ai", "prompt": "p"})
        assert (refused.status_code, refused.get_json()) == (
            400, err(400, "parent agent does not have coordination enabled"))
        assert internal.get(f"/internal/v1/tasks/default/{parent}-child", headers=AUTH).status_code == 404
    _running_with_agent("plain", {"enabled": True})  # its Agent coordinates: now it may
    assert internal.post("/internal/v1/tasks/default", headers=AUTH, json={
        "parentTask": "plain", "name": "plain-child", "type": "ai", "prompt": "p"}).status_code == 201


def _running_with_agent(name: str, coordination: dict) -> None:
    """`name` runs an attempt whose resolved Agent has these coordination settings (what the dispatcher
    stores when it starts the attempt)."""
    from shared.tasks.lifecycle import transition
    from shared.tasks.repository import resolved_agents

    moved = transition("default", name, "Running", only_from=frozenset({"Pending"}))
    attempt = int(moved.doc["status"]["attempts"])
    resolved_agents.create("default", name, {"attempt": attempt, "agent": {"coordination": coordination}})


def test_the_parent_agents_allowed_agents_and_max_depth_bound_its_children(apps):
    _, internal = apps
    _running_with_agent("job", {"enabled": True, "allowedAgents": ["coder", "reviewer"], "maxDepth": 1})
    refused = internal.post("/internal/v1/tasks/default", headers=AUTH, json={
        "parentTask": "job", "name": "k1", "type": "ai", "prompt": "p", "agentRef": {"name": "intruder"}})
    assert (refused.status_code, refused.get_json()) == (
        400, err(400, 'agent "default/intruder" is not in the allowed agents list'))
    assert internal.get("/internal/v1/tasks/default/k1", headers=AUTH).status_code == 404
    made = internal.post("/internal/v1/tasks/default", headers=AUTH, json={
        "parentTask": "job", "name": "k2", "type": "ai", "prompt": "p", "agentRef": {"name": "coder"}})
    assert made.status_code == 201
    _running_with_agent("k2", {"enabled": True, "maxDepth": 1})
    deeper = internal.post("/internal/v1/tasks/default", headers=AUTH, json={
        "parentTask": "k2", "name": "k3", "type": "ai", "prompt": "p"})
    assert deeper.get_json() == err(400, "coordination depth exceeded: current depth 1, max depth 1")


def test_an_empty_allowed_agents_list_allows_only_agents_the_parent_created(apps):
    """Orka's controller (validateCoordinationConstraints) fails a child whose agentRef is not in the
    parent Agent's allowedAgents, an empty or missing list included, unless the parent task created that
    agent with create_agent; Shoal refuses it at creation, with Orka's delegate_task message."""
    tasks, internal = apps
    assert tasks.post("/api/v1/tasks", json={"name": "job2", "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    _running_with_agent("job", {"enabled": True})
    _running_with_agent("job2", {"enabled": True, "allowedAgents": []})
    for parent in ("job", "job2"):
        refused = internal.post("/internal/v1/tasks/default", headers=AUTH, json={
            "parentTask": parent, "name": f"{parent}-k", "type": "ai", "prompt": "p", "agentRef": "helper"})
        assert (refused.status_code, refused.get_json()) == (
            400, err(400, 'agent "default/helper" is not in the allowed agents list'))
        assert internal.get(f"/internal/v1/tasks/default/{parent}-k", headers=AUTH).status_code == 404
    # without an agentRef there is nothing to check
    assert internal.post("/internal/v1/tasks/default", headers=AUTH, json={
        "parentTask": "job", "name": "plain-k", "type": "ai", "prompt": "p"}).status_code == 201

    def create_agent(task: str, name: str) -> None:
        made = internal.post("/internal/v1/worker-tools/default/create_agent/call", headers=AUTH, json={
            "taskName": task, "arguments": {"name": name, "provider": "openai", "model": "gpt-4o"}})
        assert made.status_code == 200 and made.get_json()["result"]["success"] is True

    create_agent("job", "helper")  # job's own agent: job may delegate to it, job2 still may not
    assert internal.post("/internal/v1/tasks/default", headers=AUTH, json={
        "parentTask": "job", "name": "job-k", "type": "ai", "prompt": "p", "agentRef": "helper"}).status_code == 201
    refused = internal.post("/internal/v1/tasks/default", headers=AUTH, json={
        "parentTask": "job2", "name": "job2-k", "type": "ai", "prompt": "p", "agentRef": {"name": "helper"}})
    assert refused.get_json() == err(400, 'agent "default/helper" is not in the allowed agents list')


def test_an_agent_may_allow_deeper_delegation_than_the_default(apps):
    tasks, internal = apps
    parent = "job"
    for depth in (1, 2, 3, 4):
        _running_with_agent(parent, {"enabled": True, "maxDepth": 5})
        name = f"deep{depth}"
        assert internal.post("/internal/v1/tasks/default", headers=AUTH, json={
            "parentTask": parent, "name": name, "type": "ai", "prompt": "p",
            "coordination": {"enabled": True}}).status_code == 201  # each link coordinates in turn
        parent = name
    deepest = tasks.get("/api/v1/tasks/deep4", headers=AUTH).get_json()
    assert deepest["metadata"]["annotations"] == {"orka.ai/coordination-depth": "4"}


def test_worker_events_are_checked(apps):
    _, internal = apps
    assert internal.post("/internal/v1/events/default/job", json={"event": "nope"}, headers=AUTH).get_json() == err(
        400, "event must be one of message, tool_call, tool_result, delta, log with object data")
    assert internal.post("/internal/v1/events/default/ghost", json={"event": "log", "data": {}},
                         headers=AUTH).get_json() == err(404, "task not found")
