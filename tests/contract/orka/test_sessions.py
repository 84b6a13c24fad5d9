"""Contract: /api/v1/sessions (orka-behaviour.md §2 Sessions): list, transcript, delete with active work → 409."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH
from tests.support.leak_scan import leak_scan  # noqa: F401  (fixture)


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def api(function_client, leak_scan):  # noqa: F811
    return leak_scan.watch(function_client("memory"))


def seed(name, namespace="default", **fields):
    """A session as the chat orchestrator writes it."""
    from shared.store import ObjectStore

    doc = {"name": name, "namespace": namespace, "sessionType": "chat", "messageCount": 2, "inputTokens": 120,
           "outputTokens": 30, "activeTask": "", "createdAt": "2026-11-26T10:00:00Z",
           "updatedAt": "2026-11-26T10:05:00Z", **fields}
    ObjectStore("session").create(namespace, name, doc)


def test_every_session_route_without_credentials_is_401(api):
    for method, path in [("GET", "/api/v1/sessions"), ("GET", "/api/v1/sessions/s"), ("DELETE", "/api/v1/sessions/s")]:
        response = api.open(path, method=method)
        assert response.status_code == 401 and response.get_json() == err(401, "missing authorization header")


def test_list_has_the_reference_fields_and_hides_gateway_sessions(api):
    seed("chat-1a2b3c4d")
    seed("gw-1", sessionType="gateway")
    seed("task-s", sessionType="task", activeTask="t1", messageCount=7)
    body = api.get("/api/v1/sessions", headers=AUTH).get_json()
    assert body == {"items": [
        {"id": "chat-1a2b3c4d", "name": "chat-1a2b3c4d", "namespace": "default", "sessionType": "chat",
         "messageCount": 2, "inputTokens": 120, "outputTokens": 30, "activeTask": "",
         "createdAt": "2026-11-26T10:00:00Z", "updatedAt": "2026-11-26T10:05:00Z"},
        {"id": "task-s", "name": "task-s", "namespace": "default", "sessionType": "task", "messageCount": 7,
         "inputTokens": 120, "outputTokens": 30, "activeTask": "t1", "createdAt": "2026-11-26T10:00:00Z",
         "updatedAt": "2026-11-26T10:05:00Z"}], "metadata": {}}
    assert api.get("/api/v1/sessions?limit=0", headers=AUTH).get_json() == err(400, "limit must be at least 1")


def test_get_returns_the_transcript_as_jsonl(api):
    from shared.memory.sessions import append_message

    seed("chat-1")
    append_message("default", "chat-1", {"role": "user", "content": "hi", "ts": "2026-11-26T10:00:00Z"})
    append_message("default", "chat-1", {"id": "m2", "role": "assistant", "content": "", "ts": "2026-11-26T10:00:01Z",
                                         "toolCalls": [{"id": "c1", "name": "list_tasks", "args": {}}]})
    body = api.get("/api/v1/sessions/chat-1", headers=AUTH).get_json()
    assert body["name"] == "chat-1" and body["messageCount"] == 2 and body["namespace"] == "default"
    lines = [json.loads(line) for line in body["transcript"].splitlines()]
    assert lines == [
        {"id": "chat-1-1", "order": 1, "role": "user", "content": "hi", "ts": "2026-11-26T10:00:00Z"},
        {"id": "m2", "order": 2, "role": "assistant", "content": "", "ts": "2026-11-26T10:00:01Z",
         "toolCalls": [{"id": "c1", "name": "list_tasks", "args": {}}]}]
    assert body["transcript"].endswith("\n")


def test_missing_and_gateway_sessions_are_404(api):
    seed("gw-1", sessionType="gateway")
    for path in ("/api/v1/sessions/nope", "/api/v1/sessions/gw-1"):
        assert api.get(path, headers=AUTH).get_json() == err(404, "session not found")
        assert api.delete(path, headers=AUTH).get_json() == err(404, "session not found")


def test_delete_is_204_and_drops_the_transcript(api):
    from shared.memory.sessions import append_message, transcript_stream
    from shared.store import streams

    seed("chat-1")
    append_message("default", "chat-1", {"role": "user", "content": "hi"})
    response = api.delete("/api/v1/sessions/chat-1", headers=AUTH)
    assert response.status_code == 204 and response.data == b""
    assert api.get("/api/v1/sessions/chat-1", headers=AUTH).status_code == 404
    assert streams.read(transcript_stream("default", "chat-1")) == []


def test_delete_with_active_work_is_409_and_keeps_the_session(api):
    from shared.store import ObjectStore

    seed("busy", activeTask="worker-1")
    ObjectStore("task").create("default", "worker-1", {"spec": {"type": "ai"}, "status": {"phase": "Running"}})
    response = api.delete("/api/v1/sessions/busy", headers=AUTH)
    assert response.status_code == 409 and response.get_json() == err(409, "session has active work")
    seed("chatting", activeUntil="2999-01-01T00:00:00Z")
    assert api.delete("/api/v1/sessions/chatting", headers=AUTH).status_code == 409
    assert api.get("/api/v1/sessions/busy", headers=AUTH).status_code == 200
    # once the task is terminal (or the lease lapsed) the session can go
    ObjectStore("task").update("default", "worker-1", lambda d: d["status"].update(phase="Succeeded"))
    seed("idle", activeUntil="2001-01-01T00:00:00Z")
    assert api.delete("/api/v1/sessions/busy", headers=AUTH).status_code == 204
    assert api.delete("/api/v1/sessions/idle", headers=AUTH).status_code == 204
