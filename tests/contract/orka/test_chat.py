"""Contract: /api/v1/chat (orka-chat.txt; orka-behaviour.md §3), over real HTTP with a real SSE client."""

from __future__ import annotations

import re

import pytest

from tests.conftest import AUTH
from tests.support.chat import TaskFinisher, post_json, stream, text_of

# It said only "invalid sessionId": `shoal chat --session "my session"` gave no hint of the rule.
INVALID_SESSION_ID = ("invalid sessionId: at most 63 letters, digits, '.', '_' or '-', beginning and ending "
                      "with a letter or digit")


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def test_sse_stream_has_ids_event_types_text_deltas_and_done_with_usage(llm, chat):
    llm.script = [{"text": "Hello there, I can help with Kubernetes tasks."}]
    status, events = stream(chat.url, {"message": "hi"})
    assert status == 200
    assert [e.event for e in events][0] == "status" and events[-1].event == "done"
    assert [int(e.id) for e in events] == list(range(1, len(events) + 1))
    session = events[0].data["sessionId"]
    assert re.fullmatch(r"chat-session-[0-9a-f]{8}", session)
    assert events[0].data == {"sessionId": session, "provider": "openai", "model": "gpt-4o-mini"}
    deltas = [e for e in events if e.event == "message"]
    assert len(deltas) == 1  # streamed within one coalescing window: one stored event (tests/unit/chat)
    assert text_of(events) == "Hello there, I can help with Kubernetes tasks."
    assert all(e.data["sessionId"] == session for e in events)
    assert events[-1].data == {"sessionId": session, "usage": {"inputTokens": 11, "outputTokens": 11, "llmCalls": 1}}


def _chat_tasks():
    from shared.tasks.repository import tasks

    return tasks.list_page("default", limit=None)[0]


def _tools_offered(request: dict) -> list[str]:
    return [t["function"]["name"] for t in request["json"].get("tools", [])]


# -- authentication and bad input -------------------------------------------------------------------
@pytest.mark.parametrize("method,path", [("POST", "/api/v1/chat"), ("GET", "/api/v1/chat/config"),
                                         ("DELETE", "/api/v1/chat/s1"), ("GET", "/api/v1/chat/s1/stream")])
def test_every_chat_route_without_credentials_is_401(function_client, method, path):
    response = function_client("chat").open(path, method=method)
    assert response.status_code == 401
    assert response.get_json() == err(401, "missing authorization header")


BAD_REQUESTS = [
    ("{nope", 400, "invalid request body"),
    ("[1]", 400, "invalid request body"),
    ({}, 400, "message is required"),
    ({"message": ""}, 400, "message is required"),
    ({"message": "   "}, 400, "message is required"),
    # A wrong type or an unknown field: the body's model names the field (issue 21).
    ({"message": 5}, 400, "message: expected a string"),
    ({"message": "hi", "maxTokens": "many"}, 400, "maxTokens: expected an integer"),
    ({"message": "hi", "temperature": True}, 400, "temperature: expected a number"),
    ({"message": "hi", "promtp": "typo"}, 400, "promtp: unknown field"),
    ({"message": "hi", "sessionId": "bad id!"}, 400, INVALID_SESSION_ID),
    ({"message": "hi", "sessionId": "s" * 64}, 400, INVALID_SESSION_ID),
    ({"message": "hi", "namespace": "kube-system"}, 403, 'namespace "kube-system" is not allowed for chat'),
    ({"message": "hi", "namespace": "kube-public"}, 403, 'namespace "kube-public" is not allowed for chat'),
    ({"message": "hi", "provider": "nope"}, 400, 'failed to resolve provider: unknown provider "nope"'),
    ({"message": "hi", "agentRef": "ghost"}, 400,
     'failed to resolve provider: agent "ghost" not found in namespace "default"'),
]


def test_bad_requests_get_exact_errors_and_change_nothing(llm, chat):
    from shared.chat.leases import SLOT_NAMESPACE, slots
    from shared.chat.sessions import sessions

    for body, status, message in BAD_REQUESTS:  # one moto for all cases: each setup costs a second
        response = post_json(chat.url, body)
        assert (response.status_code, response.json()) == (status, err(status, message)), body
    assert sessions.list_page("default", limit=None)[0] == []
    assert slots.list_page(SLOT_NAMESPACE, limit=None)[0] == []  # every semaphore slot went back
    assert llm.requests == []


def test_provider_without_its_key_is_a_provider_resolution_error(chat, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "anthropic")
    reset_settings()
    response = post_json(chat.url, {"message": "hi"})
    assert response.status_code == 400
    assert response.json() == err(400, "failed to resolve provider: provider anthropic is configured but "
                                       "ANTHROPIC_API_KEY is not set")


def test_chat_disabled_is_404(chat, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_CHAT_ENABLED", "false")
    reset_settings()
    assert post_json(chat.url, {"message": "hi"}).json() == err(404, "chat is disabled")


# -- config -------------------------------------------------------------------------------------------
def test_config_reports_the_spec_defaults_and_every_tool(function_client):
    response = function_client("chat").get("/api/v1/chat/config", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json() == {
        "enabled": True, "provider": "mock", "model": "shoal-mock", "maxIterations": 50, "maxDuration": "30m0s",
        "maxTasksPerTurn": 5, "maxConcurrent": 10,
        "availableTools": ["create_ai_task", "create_container_task", "create_agent_task", "check_task_progress",
                           "fetch_task_output", "wait_for_task", "cancel_task", "list_agents", "list_tools",
                           "list_tasks", "create_agent", "update_agent", "delete_agent", "create_tool",
                           "delete_tool", "delete_session", "create_pr_monitor"]}


# -- JSON mode and tools --------------------------------------------------------------------------------
def test_json_mode_body_is_exact_and_tasks_carry_the_orchestrator_labels(llm, chat, event_sink):
    llm.script = [
        {"tool_calls": [{"name": "create_ai_task", "arguments": {"name": "summary", "prompt": "Summarize k8s"}}]},
        {"tool_calls": [{"name": "wait_for_task", "arguments": {"name": "summary", "timeout": 5}}]},
        {"tool_calls": [{"name": "fetch_task_output", "arguments": {"name": "summary"}}]},
        {"text": "I created an AI task; it says: task output"},
    ]
    with TaskFinisher():
        response = post_json(chat.url, {"message": "Create an AI task that summarizes Kubernetes best practices"})
    assert response.status_code == 200, response.text
    body = response.json()
    session = body["sessionId"]
    [task] = _chat_tasks()
    assert re.fullmatch(rf"chat-{session}-[0-9a-f]{{8}}-1", task.name)
    labels = task.doc["metadata"]["labels"]
    assert labels == {"orka.ai/created-by": "orchestrator", "orka.ai/chat-session": session}
    assert task.doc["spec"]["prompt"] == "Summarize k8s"
    waited = body["toolCalls"][1]["result"]["data"]
    assert waited["done"] is True and waited["phase"] == "Succeeded"
    assert body == {
        "sessionId": session,
        "message": "I created an AI task; it says: task output",
        "toolCalls": [
            {"name": "create_ai_task", "args": {"name": "summary", "prompt": "Summarize k8s"},
             "result": {"success": True, "data": {"name": task.name, "namespace": "default", "type": "ai",
                                                  "phase": "Pending"}}},
            {"name": "wait_for_task", "args": {"name": "summary", "timeout": 5},
             "result": {"success": True, "data": waited}},
            {"name": "fetch_task_output", "args": {"name": "summary"},
             "result": {"success": True, "data": {"name": task.name, "phase": "Succeeded",
                                                  "output": "task output", "truncated": False}}},
        ],
        "usage": {"inputTokens": 44, "outputTokens": 13, "llmCalls": 4},
    }
    [event] = event_sink.of_type("dev.shoal.chat.turn.completed")
    assert event.data["name"] == session and event.data["status"] == "completed"
    assert event.data["tasksCreated"] == [task.name]


def test_sse_tool_call_and_tool_result_share_an_id(llm, chat):
    llm.script = [{"tool_calls": [{"name": "list_tasks", "arguments": {}}]}, {"text": "No tasks yet."}]
    status, events = stream(chat.url, {"message": "what is running?"}, headers={"Accept": "text/event-stream"})
    kinds = [e.event for e in events]
    assert kinds[:3] == ["status", "tool_call", "tool_result"] and kinds[-1] == "done"
    call, result = events[1].data["toolCall"], events[2].data["toolCall"]
    assert call == {"id": call["id"], "name": "list_tasks", "args": {}}
    assert result == {"id": call["id"], "name": "list_tasks",
                      "result": {"success": True, "data": {"namespace": "default", "tasks": [], "count": 0}}}
    assert text_of(events) == "No tasks yet."


def test_sixth_task_of_a_turn_is_refused_with_limit_reached(llm, chat):
    calls = [{"name": "create_container_task", "arguments": {"name": f"t{i}", "image": "busybox"}} for i in range(6)]
    llm.script = [{"tool_calls": calls}, {"text": "made five"}]
    with TaskFinisher():
        body = post_json(chat.url, {"message": "run six containers"}).json()
    results = [c["result"] for c in body["toolCalls"]]
    assert [r["success"] for r in results] == [True] * 5 + [False]
    assert results[5]["error"] == "task creation limit reached (max 5 per turn)"
    assert results[5]["errorType"] == "limit_reached" and results[5]["suggestion"]
    assert len(_chat_tasks()) == 5


def test_fetch_task_output_truncates_at_2048_characters(llm, chat):
    llm.script = [{"tool_calls": [{"name": "create_ai_task", "arguments": {"name": "big", "prompt": "p"}}]},
                  {"tool_calls": [{"name": "wait_for_task", "arguments": {"name": "big", "timeout": 5}}]},
                  {"tool_calls": [{"name": "fetch_task_output", "arguments": {"name": "big"}}]}, {"text": "ok"}]
    with TaskFinisher(output="x" * 5000):
        body = post_json(chat.url, {"message": "go"}).json()
    data = body["toolCalls"][2]["result"]["data"]
    assert len(data["output"]) == 2048 and data["truncated"] is True and data["totalLength"] == 5000


def test_tool_errors_are_structured(llm, chat):
    llm.script = [{"tool_calls": [{"name": "check_task_progress", "arguments": {"name": "ghost"}},
                                  {"name": "create_ai_task", "arguments": {"name": "x"}},
                                  {"name": "list_tasks", "arguments": {"namespace": "kube-system"}},
                                  {"name": "create_agent", "arguments": {"name": "a"}}]},
                  {"text": "sorry"}]
    body = post_json(chat.url, {"message": "check ghost"}).json()
    results = [c["result"] for c in body["toolCalls"]]
    assert results[0] == {"success": False, "error": "Task 'ghost' not found in namespace 'default'",
                          "errorType": "not_found", "suggestion": "Use list_tasks to see available tasks"}
    assert results[1]["errorType"] == "invalid_arguments" and results[1]["error"] == "prompt is required"
    assert results[2]["errorType"] == "permission_denied"
    assert results[3]["errorType"] == "unknown_tool"  # management tools were not loaded for this message
    assert _chat_tasks() == []


def test_management_tools_load_only_when_the_message_asks_for_them(llm, chat):
    llm.script = [{"text": "a"}, {"text": "b"}]
    post_json(chat.url, {"message": "list my tasks"})
    post_json(chat.url, {"message": "Please CREATE AN AGENT for reviews"})
    core = ["create_ai_task", "create_container_task", "create_agent_task", "check_task_progress",
            "fetch_task_output", "wait_for_task", "cancel_task", "list_tasks", "list_agents", "list_tools"]
    assert _tools_offered(llm.requests[0]) == core
    assert _tools_offered(llm.requests[1]) == core + ["create_agent", "update_agent", "delete_agent",
                                                      "create_tool", "delete_tool", "delete_session",
                                                      "create_pr_monitor"]


def test_management_tools_write_labelled_agents_and_tools(llm, chat):
    from shared.chat.catalog_tools import agents, tools

    llm.script = [{"tool_calls": [
        {"name": "create_agent", "arguments": {"name": "reviewer", "description": "Reviews code",
                                               "provider": "openai", "model": "gpt-4o"}},
        {"name": "create_tool", "arguments": {"name": "hook", "description": "A hook",
                                              "url": "https://93.184.216.34/hook"}},
        {"name": "create_tool", "arguments": {"name": "local", "description": "x", "url": "http://127.0.0.1/"}}]},
        {"tool_calls": [{"name": "update_agent", "arguments": {"name": "reviewer", "systemPrompt": "Be strict"}},
                        {"name": "list_agents", "arguments": {}}, {"name": "list_tools", "arguments": {}}]},
        {"text": "done"}]
    body = post_json(chat.url, {"message": "create an agent and create tool"}).json()
    session = body["sessionId"]
    results = [c["result"] for c in body["toolCalls"]]
    assert [r["success"] for r in results] == [True, True, False, True, True, True]
    assert results[2]["errorType"] == "permission_denied"
    agent = agents.get("default", "reviewer").doc
    assert agent["metadata"]["labels"] == {"orka.ai/created-by": "orchestrator", "orka.ai/chat-session": session}
    assert agent["spec"] == {"description": "Reviews code", "provider": "openai", "model": "gpt-4o",
                             "systemPrompt": "Be strict"}
    assert tools.get("default", "hook").doc["spec"]["http"] == {"url": "https://93.184.216.34/hook", "method": "POST"}
    assert results[4]["data"]["agents"] == [{"name": "reviewer", "description": "Reviews code", "model": "gpt-4o"}]
    assert results[5]["data"]["tools"] == [{"name": "hook", "description": "A hook"}]


def test_system_prompt_has_xml_sections_with_agents_and_the_appended_prompt(llm, chat):
    from shared.chat.catalog_tools import agents

    agents.create("default", "writer", {"metadata": {"name": "writer"}, "spec": {"description": "Writes docs"}})
    llm.script = [{"text": "ok"}]
    post_json(chat.url, {"message": "hi", "systemPrompt": "Focus on security topics"})
    system = llm.requests[0]["json"]["messages"][0]
    assert system["role"] == "system"
    positions = [system["content"].index(f"<{tag}>") for tag in (
        "identity", "capabilities", "task_types", "available_agents", "available_tools", "rules", "examples")]
    assert positions == sorted(positions)
    assert "- writer: Writes docs" in system["content"]
    assert system["content"].rstrip().endswith("Focus on security topics\n</user_instructions>")


# -- stuck-state detection, limits ---------------------------------------------------------------------
def test_third_identical_call_warns_and_costs_five_iterations(llm, chat, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_CHAT_MAX_ITERATIONS", "8")
    reset_settings()
    same = {"tool_calls": [{"name": "list_tasks", "arguments": {"status": "Running"}}]}
    llm.script = [same, same, same, {"text": "summary"}]
    body = post_json(chat.url, {"message": "loop"}).json()
    assert body["message"] == "summary"
    fourth = llm.requests[3]["json"]
    warnings = [m["content"] for m in fourth["messages"] if m["role"] == "user" and "Warning" in m["content"]]
    assert warnings == ["[System: Warning — you have called list_tasks with the same arguments 3 times. "
                        "Try a different approach.]"]
    # 3 iterations + 5 penalty = 8 = the limit: the 4th call is the tool-less final summary.
    assert "tools" not in fourth
    assert fourth["messages"][-1]["content"].startswith("[System: You have reached the maximum number of iterations")


def test_progress_check_every_five_iterations(llm, chat):
    llm.script = [{"tool_calls": [{"name": "list_tasks", "arguments": {"limit": i + 1}}]} for i in range(5)] + \
                 [{"text": "done"}]
    post_json(chat.url, {"message": "go"})
    sixth = llm.requests[5]["json"]["messages"]
    assert sixth[-1] == {"role": "user",
                         "content": "[System: Progress check — summarize what you've done so far and what remains.]"}
    assert not any("Progress check" in (m.get("content") or "") for m in llm.requests[4]["json"]["messages"])


def test_a_model_that_stops_while_its_tasks_run_is_told_to_keep_waiting(llm, chat, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_CHAT_MAX_ITERATIONS", "4")
    reset_settings()
    llm.script = [{"tool_calls": [{"name": "create_ai_task", "arguments": {"name": "slow", "prompt": "p"}}]},
                  {"text": "started"}, {"text": "really done"}]
    body = post_json(chat.url, {"message": "go"}).json()  # no finisher: the task stays Pending
    assert llm.requests[2]["json"]["messages"][-1]["content"].startswith("[System: You have tasks still running.")
    assert body["usage"]["llmCalls"] >= 3


def test_session_over_the_size_limit_is_truncated_keeping_the_first_user_message(llm, chat, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_CHAT_MAX_SESSION_SIZE", "1500")
    reset_settings()
    llm.script = [{"tool_calls": [{"name": "list_tools", "arguments": {"namespace": "default"}}]}
                  for _ in range(4)] + [{"text": "end"}]
    post_json(chat.url, {"message": "FIRST MESSAGE"})
    last = llm.requests[-1]["json"]["messages"]
    assert last[1] == {"role": "user", "content": "FIRST MESSAGE"}
    note = last[2]
    assert note["role"] == "system" and note["content"].startswith("[Earlier conversation truncated (")
    assert "Tools used: list_tools" in note["content"] and "Use list_tasks to check completed work.]" in note["content"]
    assert sum(len(m.get("content") or "") for m in last[1:]) < 1500 + 500


# -- sessions ------------------------------------------------------------------------------------------
def test_sessions_persist_and_a_second_turn_sees_the_history(llm, chat):
    from shared.chat.sessions import sessions

    llm.script = [{"text": "first answer"}, {"text": "second answer"}]
    first = post_json(chat.url, {"message": "one", "sessionId": "my-session"}).json()
    assert first["sessionId"] == "my-session"
    post_json(chat.url, {"message": "two", "sessionId": "my-session"})
    sent = [(m["role"], m["content"]) for m in llm.requests[1]["json"]["messages"][1:]]
    assert sent == [("user", "one"), ("assistant", "first answer"), ("user", "two")]
    doc = sessions.get("default", "my-session").doc
    assert doc["sessionType"] == "chat" and doc["turns"] == 2 and doc["messageCount"] == 4
    assert doc["llmCalls"] == 2


def test_long_replies_fit_the_transcript_and_tool_outputs_are_stored_as_summaries(mock_script, chat):
    from shared.chat.sessions import SUMMARY_CHARS, sessions
    from shared.memory.sessions import MAX_LINE_CHARS, transcript_entries

    mock_script([{"tool_calls": [{"name": "create_ai_task", "arguments": {"name": "big", "prompt": "p"}}]},
                 {"tool_calls": [{"name": "wait_for_task", "arguments": {"name": "big", "timeout": 5}}]},
                 {"tool_calls": [{"name": "fetch_task_output", "arguments": {"name": "big"}}]},
                 {"text": "y" * 120_000}])
    with TaskFinisher(output="z" * 5000):
        body = post_json(chat.url, {"message": "go", "sessionId": "big-one"}).json()
    assert body["message"] == "y" * 120_000
    stored = transcript_entries(sessions.get("default", "big-one"))
    assert stored[-1]["role"] == "assistant" and stored[-1]["content"] == "y" * 120_000
    tool_outputs = [m["content"] for m in stored if m["role"] == "tool"]
    assert len(tool_outputs) == 3 and all(len(t) <= SUMMARY_CHARS + 60 for t in tool_outputs)
    assert MAX_LINE_CHARS > 120_000  # a reply this long is kept whole; longer ones are cut with a note


def test_provider_failure_is_an_error_event_then_done_and_500_in_json_mode(llm, chat):
    llm.script = [{"error": {"status": 400, "type": "invalid_request_error", "message": "bad things"}}] * 2
    status, events = stream(chat.url, {"message": "hi"})
    assert [e.event for e in events] == ["status", "error", "done"]
    assert events[1].data["error"]["code"] == "provider_error" and events[1].data["error"]["message"]
    response = post_json(chat.url, {"message": "hi"})
    assert response.status_code == 500
    assert response.json()["error"]["message"].startswith("chat failed: ")


def test_chat_streams_through_the_anthropic_protocol_too(scripted_llm, chat, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "anthropic")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "x")
    monkeypatch.setenv("SHOAL_LLM_MODEL", "scripted-model")
    monkeypatch.setenv("SHOAL_LLM_BASE_URL", scripted_llm.url)
    reset_settings()
    scripted_llm.script = [{"tool_calls": [{"name": "list_agents", "arguments": {}}]},
                           {"text": "There are no agents yet, shall I create one?"}]
    status, events = stream(chat.url, {"message": "which agents?"})
    assert [e.event for e in events][:3] == ["status", "tool_call", "tool_result"]
    assert events[0].data["provider"] == "anthropic"
    assert events[1].data["toolCall"]["id"] == events[2].data["toolCall"]["id"] == "toolu_0"
    assert text_of(events) == "There are no agents yet, shall I create one?"
    assert scripted_llm.requests[0]["json"]["system"].startswith("<identity>")


def test_wait_for_task_returns_the_phase_when_time_is_up_and_cancel_task_cancels(llm, chat):
    llm.script = [{"tool_calls": [{"name": "create_ai_task", "arguments": {"name": "w", "prompt": "p"}}]},
                  {"tool_calls": [{"name": "wait_for_task", "arguments": {"name": "w", "timeout": 1}}]},
                  {"tool_calls": [{"name": "cancel_task", "arguments": {"name": "w"}}]},
                  {"tool_calls": [{"name": "cancel_task", "arguments": {"name": "w"}}]},
                  {"text": "cancelled it"}]
    body = post_json(chat.url, {"message": "go"}).json()
    waited, cancelled, again = (c["result"]["data"] for c in body["toolCalls"][1:4])
    assert waited["phase"] == "Pending" and waited["done"] is False
    assert cancelled["cancelled"] is True and cancelled["phase"] == "Cancelled"
    assert again["cancelled"] is False and again["phase"] == "Cancelled"
    assert [t.doc["status"]["phase"] for t in _chat_tasks()] == ["Cancelled"]


def test_delete_of_an_idle_session_removes_it(llm, chat):
    import httpx

    llm.script = [{"text": "hi"}]
    post_json(chat.url, {"message": "hello", "sessionId": "idle"})
    assert httpx.delete(chat.url + "/api/v1/chat/idle", headers=AUTH).status_code == 204
    from shared.chat.sessions import sessions

    assert sessions.get("default", "idle") is None
    gone = httpx.delete(chat.url + "/api/v1/chat/idle", headers=AUTH)
    assert gone.status_code == 404 and gone.json() == err(404, "chat session not found")
    blocked = httpx.delete(chat.url + "/api/v1/chat/idle?namespace=kube-system", headers=AUTH)
    assert blocked.json() == err(403, 'namespace "kube-system" is not allowed for chat')


def test_context_too_long_retries_once_at_half_the_budget(llm, chat):
    overflow = {"error": {"status": 400, "type": "invalid_request_error", "code": "context_length_exceeded",
                          "message": "This model's maximum context length is 100 tokens."}}
    llm.script = [{"tool_calls": [{"name": "list_tools", "arguments": {}}]}, overflow, {"text": "fits now"}]
    body = post_json(chat.url, {"message": "go"}).json()
    assert body["message"] == "fits now" and body["usage"]["llmCalls"] == 2
    assert len(llm.requests) == 3
    llm.script = [overflow, overflow]
    response = post_json(chat.url, {"message": "again"})
    assert response.status_code == 500 and "maximum context length" in response.json()["error"]["message"]
