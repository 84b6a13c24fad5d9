"""Contract: the rest of /api/v1/tasks: labelSelector, logs, artifacts, children, stream, cancel, TaskSpec checks."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from werkzeug.serving import make_server

from tests.conftest import AUTH
from tests.support.chat import dispatched


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def apps(function_client):
    return function_client("tasks"), function_client("internal")


def create(client, body):
    return client.post("/api/v1/tasks", json=body, headers=AUTH)


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/v1/tasks/x/logs"), ("GET", "/api/v1/tasks/x/artifacts"), ("GET", "/api/v1/tasks/x/artifacts/a.txt"),
    ("GET", "/api/v1/tasks/x/children"), ("GET", "/api/v1/tasks/x/stream"), ("POST", "/api/v1/tasks/x/cancel")])
def test_new_task_routes_need_credentials(apps, method, path):
    tasks, _ = apps
    response = tasks.open(path, method=method)
    assert response.status_code == 401
    assert response.get_json() == err(401, "missing authorization header")


@pytest.mark.parametrize("path", ["/logs", "/artifacts", "/artifacts/a.txt", "/stream"])
def test_new_task_routes_of_unknown_task_are_404(apps, path):
    tasks, _ = apps
    response = tasks.get(f"/api/v1/tasks/nope{path}", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == err(404, "task not found")


# -- labelSelector ------------------------------------------------------------------------------------
def test_list_filters_by_label_selector_and_pages_through_matches(apps):
    tasks, _ = apps
    for i in range(7):
        body = {"metadata": {"name": f"t{i}", "labels": {"team": "a" if i % 2 else "b", **({"x": "1"} if i < 3 else {})}},
                "spec": {"type": "ai", "prompt": "p"}}
        assert create(tasks, body).status_code == 201
    names = lambda r: [t["metadata"]["name"] for t in r.get_json()["items"]]  # noqa: E731
    assert names(tasks.get("/api/v1/tasks?labelSelector=team=a", headers=AUTH)) == ["t1", "t3", "t5"]
    assert names(tasks.get("/api/v1/tasks?labelSelector=team%3Da,x%3D1", headers=AUTH)) == ["t1"]
    assert names(tasks.get("/api/v1/tasks?labelSelector=team!=a", headers=AUTH)) == ["t0", "t2", "t4", "t6"]
    assert names(tasks.get("/api/v1/tasks?labelSelector=x", headers=AUTH)) == ["t0", "t1", "t2"]
    assert names(tasks.get("/api/v1/tasks?labelSelector=!x,team==b", headers=AUTH)) == ["t4", "t6"]
    assert names(tasks.get("/api/v1/tasks?labelSelector=team=a&limit=0", headers=AUTH)) == ["t1", "t3", "t5"]
    seen, token = [], None
    while True:
        query = "labelSelector=team=b&limit=3" + (f"&continue={token}" if token else "")
        page = tasks.get(f"/api/v1/tasks?{query}", headers=AUTH).get_json()
        seen += [t["metadata"]["name"] for t in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert seen == ["t0", "t2", "t4", "t6"]


@pytest.mark.parametrize("selector", ["team in (a,b)", "=a", "a=b=c", "bad key=x"])
def test_bad_label_selector_is_400(apps, selector):
    tasks, _ = apps
    response = tasks.get("/api/v1/tasks", query_string={"labelSelector": selector}, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].startswith("invalid labelSelector: ")


# -- TaskSpec field checks ---------------------------------------------------------------------------------
AGENT = {"name": "w", "type": "agent", "prompt": "p"}


@pytest.mark.parametrize("body,message", [
    ({**AGENT, "timeout": "-5s"}, "invalid timeout: must not be negative"),
    ({**AGENT, "retryPolicy": {"maxRetries": 11}}, "invalid spec.retryPolicy.maxRetries: must be an integer between 0 and 10"),
    ({**AGENT, "retryPolicy": {"maxRetries": 2, "backoff": "soon"}},
     'invalid spec.retryPolicy.backoff: time: invalid duration "soon"'),
    ({**AGENT, "retryPolicy": {"retries": 2}}, "unknown field spec.retryPolicy.retries"),
    ({**AGENT, "webhookURL": "ftp://example.com/x"}, "invalid spec.webhookURL: must be an absolute http or https URL"),
    ({**AGENT, "webhookURL": "https://u:p@example.com/"}, "invalid spec.webhookURL: must not contain credentials"),
    ({**AGENT, "sessionRef": {"name": ""}}, "invalid spec.sessionRef.name: must not be empty"),
    ({**AGENT, "schedule": "every day"}, "invalid spec.schedule: 'every day' is not a valid cron expression"),
    ({**AGENT, "execution": {"workspace": {"provider": "docker"}}},
     'invalid spec.execution.workspace.provider: "docker" must be one of agent-sandbox, substrate'),
    ({**AGENT, "type": "ai", "execution": {"workspace": {"enabled": False}}},
     "invalid spec.execution.workspace: workspace requests are only valid on agent tasks"),
    ({**AGENT, "execution": {"workspace": {"enabled": "yes"}}}, "invalid spec.execution.workspace.enabled: must be a boolean"),
    ({**AGENT, "execution": {"workspace": {"reusePolicy": "forever"}}},
     'invalid spec.execution.workspace.reusePolicy: "forever" must be one of none, session'),
    ({**AGENT, "execution": {"workspace": {"reusePolicy": "session"}}},
     "invalid spec.execution.workspace.reusePolicy: session requires spec.sessionRef.name"),
    ({**AGENT, "execution": {"workspace": {"cleanupPolicy": "keep"}}},
     'invalid spec.execution.workspace.cleanupPolicy: "keep" must be one of delete, retain'),
    ({**AGENT, "execution": {"workspace": {"boot": True}}},
     "invalid spec.execution.workspace.boot: is only supported by the substrate provider"),
    ({**AGENT, "execution": {"workspace": {"provider": "substrate", "poolRef": {"name": "p"}, "cleanupPolicy": "retain"}}},
     "invalid spec.execution.workspace.cleanupPolicy: pooled workspaces require delete"),
    ({**AGENT, "execution": {"workspace": {"provider": "substrate", "snapshot": {"restore": "x"}}}},
     "invalid spec.execution.workspace.snapshot: restore and checkpoint settings are not supported yet"),
    ({**AGENT, "execution": {"workspace": {"provider": "substrate", "hibernation": {"processMode": "resident"}}}},
     "invalid spec.execution.workspace.hibernation.processMode: resident is not supported yet"),
    ({**AGENT, "execution": {"workspace": {"templateRef": {"name": ""}}}},
     "invalid spec.execution.workspace.templateRef.name: must be a non-empty string"),
    ({**AGENT, "execution": {"workspace": {"tmpl": {}}}}, "unknown field spec.execution.workspace.tmpl"),
    ({**AGENT, "execution": {"workspace": {"enabled": True}}},
     'invalid spec.execution.workspace.provider: "agent-sandbox" is not enabled on this platform'),
    ({"name": "w", "spec": {"type": "container", "image": "busybox", "resources": {"limits": {"cpu": "two"}}}},
     "invalid spec.resources.limits.cpu: must be a quantity such as 500m or 1Gi"),
    ({"name": "w", "spec": {"type": "container", "image": "busybox",
                            "resources": {"requests": {"cpu": "3"}, "limits": {"cpu": "2"}}}},
     "invalid spec.resources.requests.cpu: must be less than or equal to limits.cpu"),
    ({"name": "w", "spec": {"type": "container", "image": "busybox", "resources": "big"}},
     "invalid spec.resources: must be an object"),
])
def test_spec_fields_are_checked_and_the_field_named(apps, event_sink, body, message):
    tasks, _ = apps
    response = create(tasks, body)
    assert response.status_code == 400
    assert response.get_json() == err(400, message)
    assert tasks.get("/api/v1/tasks", headers=AUTH).get_json()["items"] == []
    assert event_sink.events == []


def test_enabled_workspace_needs_a_template_unless_a_default_is_configured(apps, monkeypatch):
    from shared.config import reset_settings

    tasks, _ = apps
    monkeypatch.setenv("SHOAL_WORKSPACE_PROVIDERS", "agent-sandbox,substrate")
    reset_settings()
    body = {**AGENT, "execution": {"workspace": {"enabled": True}}}
    assert create(tasks, body).get_json() == err(
        400, "invalid spec.execution.workspace.templateRef.name: is required when enabled and no default template "
             "is configured")
    body["execution"]["workspace"]["templateRef"] = {"name": "sandbox"}
    response = create(tasks, body)
    assert response.status_code == 201
    assert response.get_json()["spec"]["execution"] == {"workspace": {"enabled": True, "templateRef": {"name": "sandbox"}}}


def test_every_spec_field_round_trips(apps):
    tasks, _ = apps
    body = {"metadata": {"name": "full"}, "spec": {
        "type": "agent", "prompt": "p", "priority": 900, "timeout": "30m",
        "retryPolicy": {"maxRetries": 3, "backoff": "5s", "backoffMultiplier": 3, "maxBackoff": "1m"},
        "webhookURL": "https://hooks.example.com/done", "sessionRef": {"name": "s", "append": False},
        "schedule": "*/5 * * * *", "suspend": True,
        "execution": {"workspace": {"provider": "substrate", "boot": True, "poolRef": {"name": "pool"},
                                    "reusePolicy": "session", "cleanupPolicy": "delete"}}}}
    response = create(tasks, body)
    assert response.status_code == 201, response.get_json()
    spec = response.get_json()["spec"]
    assert spec["sessionRef"] == {"name": "s", "append": False, "maxMessages": 50}
    assert {k: spec[k] for k in body["spec"] if k != "sessionRef"} == {
        k: v for k, v in body["spec"].items() if k != "sessionRef"}


# -- cancel ----------------------------------------------------------------------------------------------
def test_cancel_keeps_the_record_and_refuses_a_finished_task(apps, event_sink):
    tasks, _ = apps
    assert create(tasks, {"name": "c", "type": "ai", "prompt": "p"}).status_code == 201
    assert tasks.post("/api/v1/tasks/c/cancel", data="[1]", headers={**AUTH, "Content-Type": "application/json"}
                      ).get_json() == err(400, "invalid request body")
    assert tasks.post("/api/v1/tasks/c/cancel", json={"reason": 5}, headers=AUTH).get_json() == err(
        400, "reason must be a string")
    assert tasks.get("/api/v1/tasks/c", headers=AUTH).get_json()["status"]["phase"] == "Pending"
    response = tasks.post("/api/v1/tasks/c/cancel", json={"reason": "not needed"}, headers=AUTH)
    assert response.status_code == 200
    assert response.get_json()["status"]["phase"] == "Cancelled"
    assert response.get_json()["status"]["message"] == "not needed"
    version = response.get_json()["metadata"]["resourceVersion"]
    # a repeat is refused like any finished task's cancel (docs/tasks.md), and changes nothing
    assert tasks.post("/api/v1/tasks/c/cancel", json={"reason": "again"}, headers=AUTH).get_json() == err(
        409, "task is already Cancelled")
    again = tasks.get("/api/v1/tasks/c", headers=AUTH).get_json()
    assert again["metadata"]["resourceVersion"] == version and again["status"]["message"] == "not needed"
    [finished] = event_sink.of_type("dev.shoal.task.finished")
    assert finished.data["phase"] == "Cancelled"
    assert tasks.post("/api/v1/tasks/nope/cancel", headers=AUTH).get_json() == err(404, "task not found")


def test_cancel_of_a_succeeded_task_is_409(apps):
    tasks, internal = apps
    assert create(tasks, {"name": "done", "type": "ai", "prompt": "p"}).status_code == 201
    for phase in ("Running", "Succeeded"):
        assert internal.post("/internal/v1/status/default/done", json={"phase": phase}, headers=AUTH).status_code == 204
    assert tasks.post("/api/v1/tasks/done/cancel", headers=AUTH).get_json() == err(409, "task is already Succeeded")


# -- logs ------------------------------------------------------------------------------------------------
def test_logs_404_while_pending_then_job_output_then_the_result(apps, tmp_path, monkeypatch):
    from shared.config import reset_settings
    from shared.executor.local_files import log_path
    from shared.tasks.repository import tasks as store

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    reset_settings()
    tasks, internal = apps
    assert create(tasks, {"name": "lg", "type": "ai", "prompt": "p"}).status_code == 201
    assert tasks.get("/api/v1/tasks/lg/logs", headers=AUTH).get_json() == err(
        404, "task is pending, no logs available yet")
    store.update("default", "lg", lambda doc: doc["status"].update(jobName="lg-1", phase="Running"))
    log_file = log_path("default", "lg", "lg-1")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text("".join(f"line {i}\n" for i in range(150)))
    try:
        logs = tasks.get("/api/v1/tasks/lg/logs", headers=AUTH).get_json()["logs"]
        assert logs.splitlines() == [f"line {i}" for i in range(50, 150)]  # the last 100 lines
        assert internal.post("/internal/v1/results/default/lg", data=b"final answer", headers=AUTH).status_code == 204
        assert tasks.get("/api/v1/tasks/lg/logs", headers=AUTH).get_json() == {"logs": "final answer"}
    finally:
        log_file.unlink()


def running_locally(tasks, monkeypatch, name: str):
    """A Running ai task on the local executor (fast polls) and its job's log file."""
    from shared.config import reset_settings
    from shared.executor.local_files import log_path
    from shared.tasks.lifecycle import transition
    from shared.tasks.repository import tasks as store

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    monkeypatch.setenv("SHOAL_STREAM_POLL_SECONDS", "0.05")
    reset_settings()
    assert create(tasks, {"name": name, "type": "ai", "prompt": "p"}).status_code == 201
    transition("default", name, "Running")
    store.update("default", name, lambda doc: doc["status"].update(jobName=f"{name}-1"))
    log_file = log_path("default", name, f"{name}-1")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    return log_file


def follow_while(tasks, name, log_file, worker) -> str:
    """The body of `logs?follow=true` while `worker` runs in a thread (joined before the store goes)."""
    writer = threading.Thread(target=worker)
    writer.start()
    try:
        response = tasks.get(f"/api/v1/tasks/{name}/logs?follow=true", headers=AUTH)
        assert response.status_code == 200 and response.content_type == "text/event-stream"
        return response.get_data(as_text=True)
    finally:
        writer.join(timeout=10)  # its last writes belong to this test's store, not the next one's
        log_file.unlink()


def test_logs_follow_streams_lines_until_the_task_finishes(apps, monkeypatch):
    from shared.tasks.lifecycle import transition

    log_file = running_locally(apps[0], monkeypatch, "fl")
    log_file.write_text("first\n")

    def later():
        time.sleep(0.3)
        log_file.write_text("first\nsecond\n")
        time.sleep(0.3)
        transition("default", "fl", "Succeeded")

    assert follow_while(apps[0], "fl", log_file, later) == "data: first\n\ndata: second\n\n"


def test_logs_follow_drains_the_lines_written_after_the_result_before_ending(apps, monkeypatch):
    """A worker posts its result, writes its last lines, then reports its phase: following ends with
    the task, after one more read of the job's output (it used to end at the saved result)."""
    from shared.tasks.lifecycle import transition

    log_file = running_locally(apps[0], monkeypatch, "fd")
    log_file.write_text("working\n")

    def worker():
        time.sleep(0.3)
        assert apps[1].post("/internal/v1/results/default/fd", data=b"answer", headers=AUTH).status_code == 204
        time.sleep(0.3)  # several polls see the saved result while the job still runs
        log_file.write_text("working\nresult posted\nbye\n")
        transition("default", "fd", "Succeeded")

    assert follow_while(apps[0], "fd", log_file, worker) == "data: working\n\ndata: result posted\n\ndata: bye\n\n"


def test_logs_follow_reads_on_after_the_final_phase_for_the_workers_last_lines(apps, monkeypatch):
    """The worker reports its final phase, then logs its "task done" record (shared/worker/run.py):
    following ends a grace period after the task finished, not at the first read that saw it finished."""
    from shared.tasks.lifecycle import transition

    log_file = running_locally(apps[0], monkeypatch, "fz")
    log_file.write_text("working\n")

    def worker():
        time.sleep(0.3)
        transition("default", "fz", "Succeeded")
        time.sleep(0.5)  # the follower's polls (0.05 s apart) see the task finished before this line
        log_file.write_text("working\ntask done\n")

    assert follow_while(apps[0], "fz", log_file, worker) == "data: working\n\ndata: task done\n\n"


# -- artifacts -------------------------------------------------------------------------------------------
def test_artifacts_listed_and_downloaded_as_attachments(apps):
    tasks, internal = apps
    assert create(tasks, {"name": "art", "type": "ai", "prompt": "p"}).status_code == 201
    assert tasks.get("/api/v1/tasks/art/artifacts", headers=AUTH).get_json() == {"artifacts": []}
    response = internal.post("/internal/v1/artifacts/default/art/out.json", data=b'{"ok":true}', headers=AUTH)
    assert response.status_code == 201
    created = response.get_json()
    assert created["filename"] == "out.json" and created["contentType"] == "application/json" and created["size"] == 11
    assert internal.post("/internal/v1/artifacts/default/art/r%C3%A9sum%C3%A9.txt", data=b"x",
                         headers={**AUTH, "Content-Type": "text/plain"}).status_code == 201
    listed = tasks.get("/api/v1/tasks/art/artifacts", headers=AUTH).get_json()["artifacts"]
    assert [a["filename"] for a in listed] == ["out.json", "résumé.txt"]
    assert set(listed[0]) == {"filename", "contentType", "size", "createdAt"}
    download = tasks.get("/api/v1/tasks/art/artifacts/out.json", headers=AUTH)
    assert download.status_code == 200 and download.data == b'{"ok":true}'
    assert download.headers["Content-Type"] == "application/json"
    assert download.headers["Content-Disposition"] == "attachment; filename=\"out.json\"; filename*=UTF-8''out.json"
    accented = tasks.get("/api/v1/tasks/art/artifacts/r%C3%A9sum%C3%A9.txt", headers=AUTH)
    assert accented.headers["Content-Disposition"].endswith("filename*=UTF-8''r%C3%A9sum%C3%A9.txt")
    assert tasks.get("/api/v1/tasks/art/artifacts/missing.txt", headers=AUTH).get_json() == err(
        404, "artifact not found")
    # a re-upload replaces; deleting the task removes its artifacts
    assert internal.post("/internal/v1/artifacts/default/art/out.json", data=b"v2", headers=AUTH).status_code == 201
    assert tasks.get("/api/v1/tasks/art/artifacts/out.json", headers=AUTH).data == b"v2"
    assert tasks.delete("/api/v1/tasks/art", headers=AUTH).status_code == 204
    assert create(tasks, {"name": "art", "type": "ai", "prompt": "p"}).status_code == 201
    assert tasks.get("/api/v1/tasks/art/artifacts", headers=AUTH).get_json() == {"artifacts": []}


# -- children --------------------------------------------------------------------------------------------
def test_children_are_the_tasks_labelled_with_the_parent_without_a_scan(apps):
    from shared.auth.principal import Principal
    from shared.tasks.service import create_task

    tasks, _ = apps
    dev = Principal(kind="dev", subject="dev", username="dev")
    assert create(tasks, {"name": "parent", "type": "ai", "prompt": "p"}).status_code == 201
    for name in ("kid-b", "kid-a"):
        create_task({"name": name, "type": "ai", "prompt": "p"}, dev, server_labels={"orka.ai/parent-task": "parent"})
    create_task({"name": "other", "type": "ai", "prompt": "p"}, dev, server_labels={"orka.ai/parent-task": "else"})
    page = tasks.get("/api/v1/tasks/parent/children?limit=1", headers=AUTH).get_json()
    assert [t["metadata"]["name"] for t in page["items"]] == ["kid-a"]
    rest = tasks.get(f"/api/v1/tasks/parent/children?limit=1&continue={page['metadata']['continue']}",
                     headers=AUTH).get_json()
    assert [t["metadata"]["name"] for t in rest["items"]] == ["kid-b"] and rest["metadata"] == {}
    assert tasks.delete("/api/v1/tasks/kid-a", headers=AUTH).status_code == 204
    names = [t["metadata"]["name"] for t in tasks.get("/api/v1/tasks/parent/children", headers=AUTH).get_json()["items"]]
    assert names == ["kid-b"]
    assert tasks.get("/api/v1/tasks/nobody/children", headers=AUTH).get_json() == {"items": [], "metadata": {}}


def test_children_are_read_by_query_never_scan(apps, monkeypatch):
    from shared.store import clients

    tasks, _ = apps
    assert create(tasks, {"name": "p", "type": "ai", "prompt": "p"}).status_code == 201
    real = clients.client("dynamodb")
    calls = []

    class Spy:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(real, name)

    monkeypatch.setitem(clients._clients, "dynamodb", Spy())
    for path in ("/children", "/artifacts", "", "/logs"):
        tasks.get(f"/api/v1/tasks/p{path}", headers=AUTH)
    tasks.get("/api/v1/tasks?labelSelector=a=b", headers=AUTH)
    assert "scan" not in calls and "query" in calls


# -- stream ----------------------------------------------------------------------------------------------
@pytest.fixture
def tasks_server(apps, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_STREAM_POLL_SECONDS", "0.05")
    monkeypatch.setenv("SHOAL_SSE_HEARTBEAT_SECONDS", "0.2")
    reset_settings()
    server = make_server("127.0.0.1", 0, apps[0].application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_stream_replays_follows_with_ids_heartbeats_and_resumes(apps, tasks_server):
    from httpx_sse import connect_sse

    from shared.tasks.lifecycle import transition

    tasks, internal = apps
    assert create(tasks, {"name": "s", "type": "ai", "prompt": "p"}).status_code == 201
    transition("default", "s", "Running")

    heard = threading.Event()

    def later():
        # The task goes on once the follower heard a heartbeat (a 0.5 s sleep was meant to outlast the
        # 0.2 s interval, but a follower connecting late found the task finished and never heard one).
        heard.wait(30)
        internal.post("/internal/v1/events/default/s", json={"event": "tool_call", "data": {"name": "web_fetch"}},
                      headers=AUTH)
        internal.post("/internal/v1/results/default/s", data=b"r", headers=AUTH)
        transition("default", "s", "Succeeded", message="ok")

    writer = threading.Thread(target=later)
    writer.start()
    with httpx.Client(timeout=10) as client:
        with client.stream("GET", f"{tasks_server}/api/v1/tasks/s/stream", headers=AUTH) as raw:
            text = ""
            for piece in raw.iter_text():
                text += piece
                if ": heartbeat\n\n" in text:
                    heard.set()
        heard.set()  # (without a heartbeat the writer went on after 30 s and the assertion below fails)
        writer.join(timeout=30)  # its last writes belong to this test's store
        assert ": heartbeat\n\n" in text
        with connect_sse(client, "GET", f"{tasks_server}/api/v1/tasks/s/stream", headers=AUTH) as source:
            events = [(e.id, e.event, json.loads(e.data)) for e in dispatched(source)]
    assert [(i, e) for i, e, _ in events] == [("1", "task.created"), ("2", "task.started"), ("3", "tool_call"),
                                             ("4", "task.result.saved"), ("5", "task.finished")]
    assert events[4][2]["phase"] == "Succeeded" and events[2][2] == {"name": "web_fetch"}
    with httpx.Client(timeout=10) as client, connect_sse(
            client, "GET", f"{tasks_server}/api/v1/tasks/s/stream", headers={**AUTH, "Last-Event-ID": "3"}) as source:
        assert [e.id for e in dispatched(source)] == ["4", "5"]
    bad = tasks.get("/api/v1/tasks/s/stream", headers={**AUTH, "Last-Event-ID": "x"})
    assert bad.get_json() == err(400, "invalid Last-Event-ID: x")
