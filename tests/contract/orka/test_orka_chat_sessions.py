"""Contract: chat conversations are sessions (issue 19). A chat turn is read back through the Sessions
API (`/api/v1/sessions`), the worker transcript route and transcript search; chat resume reads the
same transcript; deletes through either API remove the one record."""

from __future__ import annotations

import json
import re
import threading
import time

import httpx
import pytest

from tests.conftest import AUTH
from tests.support.chat import post_json, stream

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def memory(function_client):
    return function_client("memory")


@pytest.fixture
def internal(function_client):
    return function_client("internal")


def lines(transcript: str) -> list[dict]:
    return [json.loads(line) for line in transcript.splitlines()]


def test_a_chat_turn_is_a_session_with_counts_usage_timestamps_and_a_transcript(llm, chat, memory):
    llm.script = [{"tool_calls": [{"name": "list_agents", "arguments": {}}]},
                  {"text": "There are no agents in default."}]
    body = post_json(chat.url, {"message": "which agents exist?", "sessionId": "orka-s1"}).json()
    assert body["message"] == "There are no agents in default."
    usage = body["usage"]

    response = memory.get("/api/v1/sessions/orka-s1", headers=AUTH)
    assert response.status_code == 200
    session = response.get_json()
    assert {k: session[k] for k in ("id", "name", "namespace", "sessionType", "messageCount", "inputTokens",
                                    "outputTokens", "activeTask")} == {
        "id": "orka-s1", "name": "orka-s1", "namespace": "default", "sessionType": "chat", "messageCount": 4,
        "inputTokens": usage["inputTokens"], "outputTokens": usage["outputTokens"], "activeTask": ""}
    assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0
    assert RFC3339.match(session["createdAt"]) and RFC3339.match(session["updatedAt"])
    transcript = lines(session["transcript"])
    assert [(m["order"], m["role"]) for m in transcript] == [(1, "user"), (2, "assistant"), (3, "tool"),
                                                            (4, "assistant")]
    assert transcript[0]["content"] == "which agents exist?"
    assert transcript[1]["toolCalls"][0]["name"] == "list_agents"
    assert transcript[2]["toolCallID"] == transcript[1]["toolCalls"][0]["id"] and transcript[2]["name"] == "list_agents"
    assert transcript[-1]["role"] == "assistant" and transcript[-1]["content"] == "There are no agents in default."
    assert all(RFC3339.match(m["ts"]) for m in transcript)

    listed = memory.get("/api/v1/sessions", headers=AUTH).get_json()["items"]
    assert [(s["id"], s["sessionType"], s["messageCount"]) for s in listed] == [("orka-s1", "chat", 4)]


def test_the_worker_transcript_route_and_transcript_search_see_chat_turns(llm, chat, internal):
    from shared.memory.worker_tools import memory_tools

    llm.script = [{"text": "The rollout of payments-api finished at 10:42."}]
    post_json(chat.url, {"message": "when did the payments rollout finish?", "sessionId": "ops-chat"})
    response = internal.get("/internal/v1/sessions/default/ops-chat/transcript", headers=AUTH)
    assert response.status_code == 200 and response.content_type == "application/x-ndjson"
    got = lines(response.get_data(as_text=True))
    assert [(m["role"], m["content"]) for m in got] == [
        ("user", "when did the payments rollout finish?"),
        ("assistant", "The rollout of payments-api finished at 10:42.")]

    search = next(t for t in memory_tools("default", task_name="t") if t.spec.name == "search_transcript")
    found = search.run({"query": "ROLLOUT of payments", "roles": ["assistant"]})
    assert found["count"] == 1
    assert found["matches"][0]["session"] == "ops-chat" and found["matches"][0]["role"] == "assistant"
    assert "10:42" in found["matches"][0]["snippet"]


def test_resume_reads_the_transcript_and_appends_to_it(llm, chat, memory):
    llm.script = [{"text": "first answer"}, {"text": "second answer"}]
    first = post_json(chat.url, {"message": "one", "sessionId": "resume-me"}).json()
    created = memory.get("/api/v1/sessions/resume-me", headers=AUTH).get_json()
    second = post_json(chat.url, {"message": "two", "sessionId": "resume-me"}).json()
    sent = [(m["role"], m["content"]) for m in llm.requests[1]["json"]["messages"][1:]]
    assert sent == [("user", "one"), ("assistant", "first answer"), ("user", "two")]
    session = memory.get("/api/v1/sessions/resume-me", headers=AUTH).get_json()
    assert session["messageCount"] == 4
    assert session["inputTokens"] == first["usage"]["inputTokens"] + second["usage"]["inputTokens"]
    assert session["outputTokens"] == first["usage"]["outputTokens"] + second["usage"]["outputTokens"]
    assert session["createdAt"] == created["createdAt"] and session["updatedAt"] >= created["updatedAt"]
    assert [(m["order"], m["content"]) for m in lines(session["transcript"])] == [
        (1, "one"), (2, "first answer"), (3, "two"), (4, "second answer")]


def test_a_task_run_on_a_chat_session_is_part_of_its_history(llm, chat, internal):
    llm.script = [{"text": "noted"}, {"text": "the worker said hello"}]
    post_json(chat.url, {"message": "start", "sessionId": "shared-s"})
    posted = internal.post("/internal/v1/sessions/default/shared-s/transcript", headers=AUTH, json={
        "messages": [{"role": "user", "content": "task prompt"}, {"role": "assistant", "content": "hello from a task"}],
        "taskName": ""})
    assert posted.status_code == 204
    post_json(chat.url, {"message": "what did the task say?", "sessionId": "shared-s"})
    sent = [(m["role"], m["content"]) for m in llm.requests[1]["json"]["messages"][1:]]
    assert sent == [("user", "start"), ("assistant", "noted"), ("user", "task prompt"),
                    ("assistant", "hello from a task"), ("user", "what did the task say?")]


def test_sessions_api_delete_of_a_running_chat_is_409_and_of_an_idle_one_drops_it(mock_script, model_gate, chat,
                                                                                   memory):
    from shared.memory.sessions import transcript_stream
    from shared.store import streams

    mock_script([{"text": "idle now"}, {"delay": 60, "text": "slow"}])  # until the gate opens
    post_json(chat.url, {"message": "hi", "sessionId": "busy-s"})
    out: dict = {}
    thread = threading.Thread(target=lambda: out.update(r=stream(chat.url, {"message": "again", "sessionId": "busy-s"})))
    thread.start()
    from shared.chat.leases import active_lock

    deadline = time.monotonic() + 30
    while active_lock("default", "busy-s") is None:
        assert time.monotonic() < deadline, "the second turn never took the session's lock"
        time.sleep(0.05)
    response = memory.delete("/api/v1/sessions/busy-s", headers=AUTH)
    assert response.status_code == 409 and response.get_json() == err(409, "session has active work")
    model_gate.set()
    thread.join(30)
    assert out["r"][1][-1].event == "done"
    assert memory.delete("/api/v1/sessions/busy-s", headers=AUTH).status_code == 204
    assert memory.get("/api/v1/sessions/busy-s", headers=AUTH).get_json() == err(404, "session not found")
    assert streams.read(transcript_stream("default", "busy-s")) == []


def test_chat_delete_removes_the_session_and_its_transcript(llm, chat, memory):
    from shared.memory.sessions import transcript_stream
    from shared.store import streams

    llm.script = [{"text": "bye"}]
    post_json(chat.url, {"message": "hello", "sessionId": "gone-s"})
    assert memory.get("/api/v1/sessions/gone-s", headers=AUTH).status_code == 200
    assert httpx.delete(chat.url + "/api/v1/chat/gone-s", headers=AUTH).status_code == 204
    assert memory.get("/api/v1/sessions/gone-s", headers=AUTH).get_json() == err(404, "session not found")
    assert streams.read(transcript_stream("default", "gone-s")) == []
    # a new conversation under the same id starts empty
    llm.script = [{"text": "fresh"}]
    post_json(chat.url, {"message": "again", "sessionId": "gone-s"})
    assert [m["content"] for m in llm.requests[-1]["json"]["messages"][1:]] == ["again"]
