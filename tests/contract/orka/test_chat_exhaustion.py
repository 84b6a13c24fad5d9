"""Contract: the chat iteration limit (orka-behaviour.md §3, "Exhaustion"), in SSE and JSON modes.

At the limit the loop appends the exact user note, makes ONE model call without tools, and answers
with its text; when that call fails the answer is "Reached iteration limit.".
"""

from __future__ import annotations

import pytest

from tests.support.chat import post_json, serve, stream, text_of

NOTE = ("[System: You have reached the maximum number of iterations. "
        "Please provide a final summary of what you accomplished.]")
FAILURE = {"error": {"status": 400, "type": "invalid_request_error", "message": "upstream refused"}}


@pytest.fixture
def llm(scripted_llm, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    monkeypatch.setenv("SHOAL_LLM_BASE_URL", scripted_llm.url + "/v1")
    monkeypatch.setenv("SHOAL_CHAT_MAX_ITERATIONS", "2")
    reset_settings()
    return scripted_llm


@pytest.fixture
def chat(function_client):
    with serve(function_client) as server:
        yield server


def _two_tool_turns() -> list[dict]:
    # Different arguments each time: the repetition penalty must not be what reaches the limit.
    return [{"tool_calls": [{"name": "list_tasks", "arguments": {"limit": i + 1}}]} for i in range(2)]


def _assert_final_call_was_the_tool_less_summary(llm) -> None:
    assert len(llm.requests) == 3
    assert all("tools" in r["json"] for r in llm.requests[:2])
    final = llm.requests[2]["json"]
    assert "tools" not in final and "tool_choice" not in final
    assert final["messages"][-1] == {"role": "user", "content": NOTE}


def test_sse_at_the_limit_one_tool_less_call_answers_and_is_saved(llm, chat):
    from shared.chat.sessions import sessions

    llm.script = [*_two_tool_turns(), {"text": "Listed tasks twice; nothing else to do."}]
    status, events = stream(chat.url, {"message": "loop", "sessionId": "exhaust-sse"})
    assert status == 200
    _assert_final_call_was_the_tool_less_summary(llm)
    assert [e.event for e in events if e.event in ("error", "done")] == ["done"]
    assert events[-1].event == "done" and events[-1].data["usage"]["llmCalls"] == 3
    assert text_of(events) == "Listed tasks twice; nothing else to do."
    from shared.memory.sessions import transcript_entries

    stored = [{"role": m["role"], "content": m["content"]}
              for m in transcript_entries(sessions.get("default", "exhaust-sse"))]
    assert stored[-2] == {"role": "user", "content": NOTE}
    assert stored[-1]["role"] == "assistant" and stored[-1]["content"] == "Listed tasks twice; nothing else to do."


def test_json_at_the_limit_returns_the_summary(llm, chat):
    llm.script = [*_two_tool_turns(), {"text": "Summary of work."}]
    response = post_json(chat.url, {"message": "loop"})
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Summary of work."
    assert [c["name"] for c in body["toolCalls"]] == ["list_tasks", "list_tasks"]
    assert body["usage"]["llmCalls"] == 3
    _assert_final_call_was_the_tool_less_summary(llm)


def test_sse_a_failing_summary_call_answers_reached_iteration_limit(llm, chat):
    llm.script = [*_two_tool_turns(), FAILURE]
    status, events = stream(chat.url, {"message": "loop"})
    assert status == 200
    _assert_final_call_was_the_tool_less_summary(llm)
    assert text_of(events) == "Reached iteration limit."
    assert [e.event for e in events if e.event in ("error", "done")] == ["done"]


def test_json_a_failing_summary_call_answers_reached_iteration_limit(llm, chat):
    llm.script = [*_two_tool_turns(), FAILURE]
    response = post_json(chat.url, {"message": "loop"})
    assert response.status_code == 200
    assert response.json()["message"] == "Reached iteration limit."
    _assert_final_call_was_the_tool_less_summary(llm)


def test_a_failure_before_the_limit_is_still_an_error(llm, chat):
    llm.script = [{"tool_calls": [{"name": "list_tasks", "arguments": {}}]}, FAILURE]
    response = post_json(chat.url, {"message": "loop"})
    assert response.status_code == 500
