"""Orka fidelity of the compat endpoints (issue 19): the tool-loop streams show a server-side tool's
name and status only (`[Tool <name> completed|failed|phase=X]`), never its result; `error.param`
where Orka sets it; an empty answer is a 502; usage streams only when asked; a 405 is the client's
error. Driven by the real SDKs over HTTP against the scripted upstream, plus raw wire checks."""

from __future__ import annotations

import json

import openai
import pytest

from shared.auth.principal import Principal
from tests.conftest import AUTH

SENTINEL = "<ORKA_GOAL_STATE_REACHED>"
DEV = Principal(kind="dev", subject="dev", username="dev")
SECRET = "s3cr3t-task-message-9f2c"  # what a tool result carries; it must never reach the client
USER = [{"role": "user", "content": "check"}]


@pytest.fixture
def finished_task():
    """A task whose status message (part of every status tool result) is the secret."""
    from shared.tasks.lifecycle import transition
    from shared.tasks.service import create_task

    create_task({"name": "build-7", "type": "ai", "prompt": "build"}, DEV, namespace_hint="default")
    transition("default", "build-7", "Running")
    transition("default", "build-7", "Succeeded", message=SECRET)
    return "build-7"


SCRIPT = [
    {"tool_calls": [{"name": "check_task_progress", "arguments": {"name": "build-7"}},
                    {"name": "check_task_progress", "arguments": {"name": "ghost"}},
                    {"name": "create_ai_task", "arguments": {"prompt": "more"}}]},
    {"text": f"{SENTINEL}\nAll done."}]
PROGRESS = ["[Tool check_task_progress phase=Succeeded]", "[Tool check_task_progress failed]",
            "[Tool create_ai_task phase=Pending]"]


def test_openai_tool_loop_stream_shows_tool_status_never_results(openai_client, openai_upstream, finished_task):
    openai_upstream.script = list(SCRIPT)
    stream = openai_client.chat.completions.create(model="m", messages=USER, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "".join(f"\n{line}\n" for line in PROGRESS) + "All done."
    # the model did get the results: only the client's view is reduced
    upstream_results = [m["content"] for m in openai_upstream.requests[1]["json"]["messages"] if m["role"] == "tool"]
    assert SECRET in upstream_results[0]
    assert SECRET not in text and "success" not in text and "task not found" not in text


def test_anthropic_tool_loop_stream_shows_tool_status_never_results(anthropic_client, anthropic_upstream,
                                                                    finished_task):
    anthropic_upstream.script = list(SCRIPT)
    with anthropic_client.messages.stream(model="claude", max_tokens=512, messages=USER) as stream:
        final = stream.get_final_message()
    blocks = [b.text for b in final.content]
    assert blocks == [f"\n{line}\n" for line in PROGRESS] + ["All done."]
    assert not any(SECRET in b or "success" in b for b in blocks)
    assert final.stop_reason == "end_turn"


def _raw_stream(compat, body: dict) -> list[str]:
    response = compat.post("/openai/v1/chat/completions", headers=AUTH, json={**body, "stream": True})
    assert response.status_code == 200
    return [line[len("data: "):] for line in response.get_data(as_text=True).split("\n\n")
            if line.startswith("data: ")]


def test_usage_chunk_streams_only_when_the_client_asks(compat, openai_upstream):
    openai_upstream.script = [{"text": f"{SENTINEL}\nhello"}, {"text": f"{SENTINEL}\nhello"}]
    plain = _raw_stream(compat, {"model": "m", "messages": USER})
    assert plain[-1] == "[DONE]"
    assert not any("usage" in json.loads(d) for d in plain[:-1])
    asked = _raw_stream(compat, {"model": "m", "messages": USER, "stream_options": {"include_usage": True}})
    usage_chunk = json.loads(asked[-2])
    assert usage_chunk["choices"] == [] and set(usage_chunk["usage"]) == {"prompt_tokens", "completion_tokens",
                                                                          "total_tokens"}
    assert [d for d in asked[:-2] if "usage" in json.loads(d)] == []


def test_an_empty_end_turn_answer_is_502_server_error(compat, openai_upstream):
    openai_upstream.script = [{"text": SENTINEL}]  # the whole answer is the sentinel: nothing left once stripped
    response = compat.post("/openai/v1/chat/completions", headers=AUTH, json={"model": "m", "messages": USER})
    assert response.status_code == 502
    assert response.get_json() == {"error": {"message": 'provider returned non-success outcome "end_turn"',
                                             "type": "server_error", "param": None, "code": None}}


def test_an_empty_end_turn_in_a_stream_is_an_error_frame_without_done(compat, openai_upstream):
    openai_upstream.script = [{"text": SENTINEL}]
    frames = _raw_stream(compat, {"model": "m", "messages": USER})
    assert json.loads(frames[-1]) == {"error": {
        "message": 'provider stream ended with non-success outcome "end_turn"', "type": "server_error",
        "param": None, "code": None}}
    assert "[DONE]" not in frames


def test_the_sdk_sees_the_empty_answer_as_a_server_error(openai_client, openai_upstream):
    openai_upstream.script = [{"text": SENTINEL}]
    with pytest.raises(openai.InternalServerError) as exc:
        openai_client.chat.completions.create(model="m", messages=USER)
    assert exc.value.status_code == 502 and exc.value.type == "server_error"


def test_an_empty_answer_is_still_a_message_on_the_anthropic_route(anthropic_client, anthropic_upstream):
    # Orka's Anthropic mapping accepts an empty end_turn (only its OpenAI route calls it no answer)
    anthropic_upstream.script = [{"text": SENTINEL}]
    message = anthropic_client.messages.create(model="claude", max_tokens=64, messages=USER)
    assert message.stop_reason == "end_turn" and [b.text for b in message.content] == [""]


@pytest.mark.parametrize("body,param", [({"n": 3}, "n"), ({"max_tokens": 9}, "max_tokens"),
                                        ({"max_completion_tokens": 1}, "max_tokens")])
def test_error_param_names_the_field_through_the_sdk(openai_client, openai_upstream, body, param):
    with pytest.raises(openai.BadRequestError) as exc:
        openai_client.chat.completions.create(model="m", messages=USER, extra_body=body)
    assert exc.value.param == param and exc.value.type == "invalid_request_error"
    assert openai_upstream.requests == []


def test_a_wrong_method_on_an_openai_route_is_invalid_request_error(compat):
    response = compat.get("/openai/v1/chat/completions", headers=AUTH)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.get_json() == {"error": {"message": "method not allowed", "type": "invalid_request_error",
                                             "param": None, "code": None}}

