"""The compat tool loop end to end: the platform's tools run server-side inside the request
(orka-behaviour §2 "The compat tool loop"), driven by the real SDKs over HTTP."""

from __future__ import annotations

import json
import re

from shared.auth.principal import Principal
from tests.conftest import AUTH

SENTINEL = "<ORKA_GOAL_STATE_REACHED>"
DEV = Principal(kind="dev", subject="dev", username="dev")


def tool_results(request: dict) -> list[str]:
    """The tool results an upstream request carries (OpenAI or Anthropic wire format)."""
    out = []
    for m in request["json"]["messages"]:
        if m.get("role") == "tool":
            out.append(m["content"])
        elif isinstance(m.get("content"), list):
            out += [b["content"] for b in m["content"] if b.get("type") == "tool_result"]
    return out


def test_a_task_created_by_the_model_lands_in_the_callers_namespace(openai_client, openai_upstream, event_sink):
    openai_upstream.script = [
        {"tool_calls": [{"name": "create_ai_task", "arguments": {"prompt": "count to three"}}]},
        {"text": f"{SENTINEL}\nI started the task."}]
    completion = openai_client.chat.completions.create(model="m", messages=[{"role": "user", "content": "count"}],
                                                       extra_query={"namespace": "team-a"})
    assert completion.choices[0].message.content == "I started the task."
    [result] = tool_results(openai_upstream.requests[1])
    data = json.loads(result)["data"]
    assert data["namespace"] == "team-a" and re.fullmatch(r"proxy-[0-9a-f]{8}", data["taskName"])

    from shared.tasks.repository import tasks

    record = tasks.get("team-a", data["taskName"])
    assert record.doc["spec"]["prompt"] == "count to three"
    assert record.doc["metadata"]["labels"]["orka.ai/created-by"] == "compat-proxy"
    assert [e.data["name"] for e in event_sink.of_type("dev.shoal.task.created")] == [data["taskName"]]


def test_tool_failures_reach_the_model_as_results(openai_client, openai_upstream):
    openai_upstream.script = [
        {"tool_calls": [{"name": "check_task_progress", "arguments": {"name": "ghost"}},
                        {"name": "not_a_tool", "arguments": {}}]},
        {"text": f"{SENTINEL} none"}]
    openai_client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    missing, unknown = (json.loads(r) for r in tool_results(openai_upstream.requests[1]))
    assert missing == {"success": False, "error": "task not found", "errorType": "not_found", "suggestion": ""}
    assert unknown["errorType"] == "unknown_tool"


def test_waiting_on_a_running_task_is_auto_polled_and_progress_streams(anthropic_client, anthropic_upstream):
    from shared.tasks.lifecycle import transition
    from shared.tasks.service import create_task

    create_task({"name": "build-1", "type": "ai", "prompt": "build"}, DEV, namespace_hint="default")

    anthropic_upstream.script = [
        {"tool_calls": [{"name": "wait_for_task", "arguments": {"name": "build-1", "timeout": 1}}]},
        {"text": f"{SENTINEL}\nbuild-1 succeeded."}]
    pieces: list[str] = []
    with anthropic_client.messages.stream(model="claude", max_tokens=512,
                                          messages=[{"role": "user", "content": "wait for build-1"}]) as stream:
        for piece in stream.text_stream:
            pieces.append(piece)
            if "[Auto-polling tasks...]" in piece:
                # Finished only once the first wait came back "still Pending" and polling began, however
                # slow the machine: the poll, not the model, must see the task end.
                transition("default", "build-1", "Running")
                transition("default", "build-1", "Succeeded", message="built")
        text = "".join(pieces)
        final = stream.get_final_message()
    # Two model calls only: the still-running result was polled again without asking the model.
    assert len(anthropic_upstream.requests) == 2
    [result] = tool_results(anthropic_upstream.requests[1])
    assert json.loads(result)["data"] == {"name": "build-1", "phase": "Succeeded", "message": "built"}
    assert "[Auto-polling tasks...]" in text and "[Tool wait_for_task phase=Succeeded]" in text
    assert text.endswith("build-1 succeeded.") and SENTINEL not in text
    assert final.stop_reason == "end_turn" and all(b.type == "text" for b in final.content)
    assert len(final.content) >= 3  # the model's text and each tool progress are separate text blocks


def test_an_answer_without_the_sentinel_is_sent_back_up_to_three_times(compat, openai_upstream):
    openai_upstream.script = [{"text": f"summary {i}"} for i in range(5)]
    response = compat.post("/openai/v1/chat/completions", headers=AUTH,
                           json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert response.get_json()["choices"][0]["message"]["content"] == "summary 3"
    assert len(openai_upstream.requests) == 4
    last = openai_upstream.requests[-1]["json"]["messages"][-1]
    assert last["role"] == "user" and SENTINEL in last["content"] and last["content"].startswith("[System:")


def test_web_fetch_runs_server_side_through_the_outbound_guard(openai_client, openai_upstream, httpserver,
                                                               monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "localhost")  # the test page's host only; 169.254/16 stays refused
    reset_settings()
    httpserver.expect_request("/page").respond_with_data("<html><body><p>Shoal docs</p></body></html>",
                                                         content_type="text/html")
    page = f"http://localhost:{httpserver.port}/page"
    openai_upstream.script = [
        {"tool_calls": [{"name": "web_fetch", "arguments": {"url": page}},
                        {"name": "web_fetch", "arguments": {"url": "http://169.254.169.254/latest/meta-data"}}]},
        {"text": f"{SENTINEL}\nThe page says: Shoal docs"}]
    completion = openai_client.chat.completions.create(model="m", messages=[{"role": "user", "content": "read"}])
    assert completion.choices[0].message.content == "The page says: Shoal docs"
    offered = {t["function"]["name"] for t in openai_upstream.requests[0]["json"]["tools"]}
    assert {"web_search", "web_fetch", "create_ai_task"} <= offered
    assert not offered & {"code_exec", "file_read", "file_write"}  # no sandbox inside the API function
    fetched, refused = (json.loads(r) for r in tool_results(openai_upstream.requests[1]))
    assert fetched["success"] is True and fetched["data"]["content"] == "Shoal docs"
    assert fetched["data"]["status"] == 200 and fetched["data"]["url"] == page
    assert refused["success"] is False and refused["errorType"] == "permission_denied"
    assert refused["error"].startswith("refused: ")
    assert [entry[0].path for entry in httpserver.log] == ["/page"]
