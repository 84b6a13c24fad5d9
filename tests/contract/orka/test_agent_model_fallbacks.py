"""An Agent's `spec.model.fallbacks` in use (issue 19): a chat turn and a task worker whose Agent's
model is down are answered by the next fallback, and the answer records which model answered. The
real openai and anthropic SDKs talk to scripted wire servers."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH
from tests.support.llm_wire import ScriptedLLM

FAST = {"retry-after-ms": "1"}  # the SDKs' own two retries, without their back-off
DOWN = [{"error": {"status": 503, "type": "server_error", "message": "overloaded", "headers": FAST}}] * 3
AGENT = {"name": "ops", "spec": {"model": {"provider": "openai", "name": "gpt-primary",
                                           "fallbacks": [{"providerRef": "backup", "model": "claude-backup"}]},
                                 "systemPrompt": {"inline": "You are ops."}}}


@pytest.fixture
def llms(monkeypatch):
    """The default provider (openai) on one scripted server, provider `backup` (anthropic) on another."""
    from shared.config import reset_settings

    with ScriptedLLM() as main, ScriptedLLM() as backup:
        monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-main")
        monkeypatch.setenv("SHOAL_LLM_BASE_URL", main.url + "/v1")
        monkeypatch.setenv("BACKUP_KEY", "sk-ant-backup")
        monkeypatch.setenv("SHOAL_LLM_PROVIDERS", json.dumps({"backup": {
            "type": "anthropic", "baseURL": backup.url, "apiKeyEnv": "BACKUP_KEY"}}))
        reset_settings()
        yield main, backup


def test_agent_fallbacks_are_validated_and_answered_in_orka_shape(function_client):
    catalog = function_client("catalog")
    created = catalog.post("/api/v1/agents", json=AGENT, headers=AUTH)
    assert created.status_code == 201 and created.get_json()["spec"]["model"] == AGENT["spec"]["model"]
    for fallbacks, message in [
        ([{"model": "m"}], "spec.model.fallbacks[0].providerRef is required"),
        ([{"providerRef": "b", "model": 3}], "spec.model.fallbacks[0].model must be a string"),
        ([{"providerRef": "b", "weight": 1}], "spec.model.fallbacks[0].weight is not supported"),
        (["backup"], "spec.model.fallbacks[0] must be an object {providerRef, model}"),
        ({"providerRef": "b"}, "spec.model.fallbacks must be a list of {providerRef, model}"),
    ]:
        response = catalog.post("/api/v1/agents", json={"name": "bad", "spec": {"model": {"fallbacks": fallbacks}}},
                                headers=AUTH)
        assert (response.status_code, response.get_json()) == (400, {"error": {"code": 400, "message": message}})
    assert catalog.get("/api/v1/agents/bad", headers=AUTH).status_code == 404


def test_a_chat_turn_is_answered_by_the_fallback_when_the_agents_model_is_down(function_client, llms):
    from shared.memory.sessions import sessions
    from tests.support.chat import post_json, serve

    main, backup = llms
    assert function_client("catalog").post("/api/v1/agents", json=AGENT, headers=AUTH).status_code == 201
    main.script, backup.script = list(DOWN), [{"text": "answered by the backup"}]
    with serve(function_client) as chat:
        response = post_json(chat.url, {"message": "status?", "agentRef": "ops", "sessionId": "chat-fb"},
                             headers={**AUTH, "Accept": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "answered by the backup"
    assert len(main.requests) == 3 and main.requests[0]["json"]["model"] == "gpt-primary"
    assert backup.requests[0]["json"]["model"] == "claude-backup"
    assert backup.requests[0]["headers"]["Authorization"] == "Bearer sk-ant-backup"  # the backup provider's own key
    session = sessions.get("default", "chat-fb").doc
    assert (session["provider"], session["model"]) == ("anthropic", "claude-backup")

    # a refused request (4xx) is the caller's answer: no fallback
    main.script = [{"error": {"status": 400, "type": "invalid_request_error", "message": "bad request"}}]
    backup.script = [{"text": "never"}]
    with serve(function_client) as chat:
        refused = post_json(chat.url, {"message": "again", "agentRef": "ops", "sessionId": "chat-fb2"},
                            headers={**AUTH, "Accept": "application/json"})
    assert refused.status_code == 500 and len(backup.requests) == 1


def test_a_task_worker_falls_back_and_its_status_says_which_model_answered(function_client, llms, monkeypatch,
                                                                            tmp_path):
    import threading

    from werkzeug.serving import make_server

    from shared.config import reset_settings
    from shared.tasks.agent_setup import resolve_for_dispatch
    from shared.tasks.lifecycle import transition
    from shared.tasks.repository import resolved_agents
    from shared.worker.run import main as worker_main
    from tests.conftest import DEV_TOKEN

    main, backup = llms
    tasks = function_client("tasks")
    assert function_client("catalog").post("/api/v1/agents", json=AGENT, headers=AUTH).status_code == 201
    server = make_server("127.0.0.1", 0, function_client("internal").application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for key, value in {"SHOAL_INTERNAL_URL": f"http://127.0.0.1:{server.server_port}",
                           "SHOAL_WORKER_TOKEN": DEV_TOKEN, "SHOAL_WORKSPACE": str(tmp_path),
                           "SHOAL_TASK_NAMESPACE": "default", "SHOAL_TASK_ATTEMPT": "1"}.items():
            monkeypatch.setenv(key, value)
        reset_settings()
        spec = {"type": "ai", "prompt": "check the cluster", "agentRef": {"name": "ops"}}

        def run(name: str) -> dict:
            assert tasks.post("/api/v1/tasks", json={"name": name, **spec}, headers=AUTH).status_code == 201
            resolved_agents.create("default", name, {"attempt": 1, "agent": resolve_for_dispatch("default", spec)})
            transition("default", name, "Running")
            monkeypatch.setenv("SHOAL_TASK_NAME", name)
            assert worker_main() == 0
            return tasks.get(f"/api/v1/tasks/{name}", headers=AUTH).get_json()["status"]

        main.script, backup.script = list(DOWN), [{"text": "cluster is fine"}]
        status = run("fb")
        assert status["phase"] == "Succeeded"
        assert status["message"] == "completed in 1 LLM call(s) with backup/claude-backup (model fallbacks used)"
        assert tasks.get("/api/v1/tasks/fb/result", headers=AUTH).get_json() == {"result": "cluster is fine"}
        # the model up again: it answers, and the message names it alone
        main.script = [{"text": "primary answers"}]
        assert run("up")["message"] == "completed in 1 LLM call(s) with openai/gpt-primary"
    finally:
        server.shutdown()
