"""The dispatcher as the broker reaches it: binary and structured events, dedupe, the executor."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from werkzeug.serving import make_server

from shared.events.envelope import build, to_http
from tests.conftest import AUTH, ROOT


def created_event(name: str):
    return build("dev.shoal.task.created", {"namespace": "default", "name": name, "type": "ai", "phase": "Pending"},
                 subject=f"default/{name}", source="/shoal/tasks")


def post_event(client, event, *, structured=False):
    headers, body = to_http(event, structured=structured)
    return client.post("/", data=body, headers=headers)


def wait_for_phase(tasks, name, phases, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = tasks.get(f"/api/v1/tasks/{name}", headers=AUTH).get_json()["status"]
        if status["phase"] in phases:
            return status
        time.sleep(0.1)
    raise AssertionError(f"task {name} stayed {status['phase']}")


@pytest.fixture
def internal_server(function_client, monkeypatch):
    """The internal function served over real HTTP in this process (moto lives here)."""
    from shared.config import reset_settings

    app = function_client("internal").application
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SHOAL_INTERNAL_URL", f"http://127.0.0.1:{server.server_port}")
    reset_settings()
    yield
    server.shutdown()


def test_not_an_event_is_400_and_health_answers(function_client):
    dispatcher = function_client("dispatcher")
    response = dispatcher.post("/", json={"hello": "world"})
    assert response.status_code == 400
    assert dispatcher.get("/healthz").status_code == 200


def test_an_unreachable_kubernetes_api_fails_the_task_with_a_clear_message(function_client, event_sink,
                                                                          monkeypatch):
    from shared.config import reset_settings
    from shared.kube import reset_client

    monkeypatch.setenv("SHOAL_EXECUTOR", "kubernetes")
    monkeypatch.setenv("SHOAL_KUBE_API_URL", "http://127.0.0.1:9")  # nothing listens there
    reset_settings()
    reset_client()
    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    assert tasks.post("/api/v1/tasks", json={"name": "k", "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    response = post_event(dispatcher, created_event("k"))
    reset_client()
    assert response.status_code == 200 and response.data == b""
    status = tasks.get("/api/v1/tasks/k", headers=AUTH).get_json()["status"]
    assert status["phase"] == "Failed"
    assert status["message"].startswith("could not create Job k-1: ")
    assert [e.data["phase"] for e in event_sink.events][1:] == ["Running", "Failed"]


def test_local_executor_runs_the_worker_to_success(function_client, internal_server, event_sink, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    monkeypatch.setenv("PATH", f"{ROOT / '.venv' / 'bin'}:{sys.exec_prefix}/bin:/usr/bin:/bin")
    reset_settings()
    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    assert tasks.post("/api/v1/tasks", json={"name": "hi", "type": "ai", "prompt": "say hi"},
                      headers=AUTH).status_code == 201
    event = created_event("hi")
    assert post_event(dispatcher, event, structured=True).status_code == 200
    # The same delivery again (at-least-once): acknowledged, not started twice.
    assert post_event(dispatcher, event).status_code == 200
    status = wait_for_phase(tasks, "hi", {"Succeeded", "Failed"})
    assert status["phase"] == "Succeeded", status
    assert status["attempts"] == 1 and status["jobName"] == "hi-1"
    assert tasks.get("/api/v1/tasks/hi/result", headers=AUTH).get_json() == {
        "result": "Hello from shoal-mock. You said: say hi"}
    assert len(event_sink.of_type("dev.shoal.task.started")) == 1


def test_a_worker_that_cannot_report_fails_its_task(function_client, event_sink, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    monkeypatch.setenv("SHOAL_INTERNAL_URL", "http://127.0.0.1:9")  # nothing listens there
    reset_settings()
    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    assert tasks.post("/api/v1/tasks", json={"name": "lost", "type": "ai", "prompt": "p"},
                      headers=AUTH).status_code == 201
    assert post_event(dispatcher, created_event("lost")).status_code == 200
    status = wait_for_phase(tasks, "lost", {"Failed", "Succeeded"}, timeout=60)
    assert status["phase"] == "Failed"
    assert status["message"].startswith("worker exited with code 1 without reporting")
    # The worker never reported: a lost worker, and its dying output names no server path.
    assert any(c["type"] == "WorkerLost" and c["reason"] == "WorkerLost" for c in status["conditions"])
    assert str(ROOT) not in status["message"] and sys.prefix not in status["message"]


def test_container_tasks_fail_clearly_on_the_local_executor(function_client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    monkeypatch.setenv("PATH", "/nonexistent")
    reset_settings()
    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    assert tasks.post("/api/v1/tasks", json={"name": "c", "type": "container", "image": "busybox"},
                      headers=AUTH).status_code == 201
    event = build("dev.shoal.task.created", {"namespace": "default", "name": "c", "type": "container"},
                  source="/shoal/tasks")
    assert post_event(dispatcher, event).status_code == 200
    status = tasks.get("/api/v1/tasks/c", headers=AUTH).get_json()["status"]
    assert status["phase"] == "Failed"
    assert status["message"] == ("container tasks need the Kubernetes executor (SHOAL_EXECUTOR=kubernetes); "
                                 "no docker or podman found for local runs")


def test_cancelling_a_running_task_stops_its_worker(function_client, internal_server, event_sink, monkeypatch,
                                                    tmp_path):
    from shared.config import reset_settings
    from shared.executor.local import LocalExecutor
    from shared.tasks.service import cancel_task

    script = tmp_path / "slow.json"
    script.write_text('[{"delay": 60, "text": "too late"}]')  # a model that takes a minute
    monkeypatch.setenv("SHOAL_MOCK_SCRIPT", str(script))
    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    reset_settings()
    watched, watch = threading.Event(), LocalExecutor._watch

    def watched_exit(self, *args, **kwargs):  # the watcher thread handled the worker's exit
        try:
            watch(self, *args, **kwargs)
        finally:
            watched.set()

    monkeypatch.setattr(LocalExecutor, "_watch", watched_exit)
    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    assert tasks.post("/api/v1/tasks", json={"name": "long", "type": "ai", "prompt": "p"},
                      headers=AUTH).status_code == 201
    assert post_event(dispatcher, created_event("long")).status_code == 200
    proc = LocalExecutor.instance()._procs[("default", "long")]
    assert proc.poll() is None
    assert cancel_task("default", "long", "user asked") is not None
    assert cancel_task("default", "long") is None  # already terminal
    [finished] = event_sink.of_type("dev.shoal.task.finished")
    assert finished.data["phase"] == "Cancelled"
    assert post_event(dispatcher, finished).status_code == 200
    assert proc.wait(timeout=30) != 0
    assert watched.wait(30)  # the watcher has handled the exit (a sleep only hoped so); the phase must stay Cancelled
    status = tasks.get("/api/v1/tasks/long", headers=AUTH).get_json()["status"]
    assert status["phase"] == "Cancelled" and status["message"] == "user asked"


def test_the_local_worker_runs_with_the_agent_the_dispatcher_resolved(function_client, internal_server, event_sink,
                                                                      monkeypatch):
    """agentRef is resolved by the dispatcher (which has the store) and reaches the worker subprocess
    as SHOAL_TASK_AGENT: the worker answers with the agent's model; a missing agent fails the task."""
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    monkeypatch.setenv("PATH", f"{ROOT / '.venv' / 'bin'}:{sys.exec_prefix}/bin:/usr/bin:/bin")
    reset_settings()
    tasks, dispatcher, catalog = function_client("tasks"), function_client("dispatcher"), function_client("catalog")
    assert catalog.post("/api/v1/agents", json={"name": "writer", "spec": {
        "provider": "mock", "model": "writer-model", "systemPrompt": "You write."}}, headers=AUTH).status_code == 201
    for name, agent in (("by-agent", "writer"), ("no-agent", "ghost")):
        assert tasks.post("/api/v1/tasks", json={"name": name, "type": "ai", "prompt": "hi", "agentRef": agent},
                          headers=AUTH).status_code == 201
        assert post_event(dispatcher, created_event(name)).status_code == 200
    missing = tasks.get("/api/v1/tasks/no-agent", headers=AUTH).get_json()["status"]
    assert missing["phase"] == "Failed" and missing["message"] == 'agent "ghost" not found'
    status = wait_for_phase(tasks, "by-agent", {"Succeeded", "Failed"})
    assert status["phase"] == "Succeeded", status
    assert status["message"] == "completed in 1 LLM call(s) with mock/writer-model"


def test_a_200_kib_prompt_runs_to_success_on_the_local_executor(function_client, internal_server, event_sink,
                                                                monkeypatch):
    """A spec over the 128 KiB a single environment variable can hold: the worker reads it through the worker
    API, so any spec the API accepts runs (it used to fail with `Argument list too long` and a server path)."""
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    reset_settings()
    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    prompt = "".join(f"line {i:06d} of a long brief\n" for i in range(200 * 1024 // 25))
    assert len(prompt.encode()) >= 200 * 1024
    assert tasks.post("/api/v1/tasks", json={"name": "big", "type": "ai", "prompt": prompt},
                      headers=AUTH).status_code == 201
    assert post_event(dispatcher, created_event("big")).status_code == 200
    status = wait_for_phase(tasks, "big", {"Succeeded", "Failed"}, timeout=60)
    assert status["phase"] == "Succeeded", status["message"][:300]
    result = tasks.get("/api/v1/tasks/big/result", headers=AUTH).get_json()["result"]
    assert result == f"Hello from shoal-mock. You said: {prompt.strip()}"


def test_an_executor_error_names_no_server_path(function_client, event_sink, monkeypatch):
    """The start error is the task's message, which any client reads: no interpreter or checkout path."""
    from shared.config import reset_settings
    from shared.executor.local import LocalExecutor

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    monkeypatch.setattr(sys, "executable", str(ROOT / "no-such-dir" / "python"))
    monkeypatch.setattr(LocalExecutor, "_instance", None)  # one whose workers' fork server is still to start
    reset_settings()
    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    assert tasks.post("/api/v1/tasks", json={"name": "nopath", "type": "ai", "prompt": "p"},
                      headers=AUTH).status_code == 201
    assert post_event(dispatcher, created_event("nopath")).status_code == 200
    status = tasks.get("/api/v1/tasks/nopath", headers=AUTH).get_json()["status"]
    assert status["phase"] == "Failed" and status["message"] == "could not start worker: No such file or directory"
