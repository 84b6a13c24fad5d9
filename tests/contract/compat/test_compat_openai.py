"""Contract: /openai/v1 (orka-behaviour §2 "OpenAI-compatible"; test-fixtures §5), driven by the real
`openai` SDK in strict mode over HTTP, plus exact status/body checks in process."""

from __future__ import annotations

import json
import re

import openai
import pytest

from tests.conftest import AUTH, DEV_TOKEN

SENTINEL = "<ORKA_GOAL_STATE_REACHED>"
PROXY = {"X-Orka-Tools": "disabled"}
USER = [{"role": "user", "content": "hi"}]
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                           "required": ["city"]}}}


def oai_error(message: str, kind: str, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def post(client, body, headers=AUTH):
    return client.post("/openai/v1/chat/completions", data=body if isinstance(body, str) else json.dumps(body),
                       headers={**headers, "Content-Type": "application/json"})


# -- authentication ------------------------------------------------------------------------------
@pytest.mark.parametrize("method,path", [("POST", "/openai/v1/chat/completions"), ("GET", "/openai/v1/models")])
def test_without_credentials_is_401_in_openai_shape(compat, method, path):
    response = compat.open(path, method=method)
    assert response.status_code == 401
    assert response.get_json() == oai_error("missing authorization header", "authentication_error")


def test_a_bad_key_raises_the_sdks_authentication_error(compat_server):
    client = openai.OpenAI(base_url=compat_server.url + "/openai/v1", api_key="wrong", max_retries=0,
                           _strict_response_validation=True)
    with pytest.raises(openai.AuthenticationError) as exc:
        client.models.list()
    assert exc.value.status_code == 401 and exc.value.body["message"] == "invalid token"
    assert exc.value.type == "authentication_error"


# -- validation: exact messages, in Orka's order, and nothing reaches the model ----------------------
BAD_REQUESTS = [
    ("{not json", "invalid request body"),
    ([USER], "invalid request body"),
    ({"model": "m"}, "messages is required and must be non-empty"),
    ({"model": "m", "messages": []}, "messages is required and must be non-empty"),
    ({"model": "m", "messages": "hi"}, "messages: expected an array of objects"),  # the model names the field
    ({"model": "m", "messages": [{"content": "no role"}]},
     "messages[0].role: expected one of system, developer, user, assistant, tool, function; got null"),
    ({"model": "m", "messages": USER + [{"role": "wizard", "content": "x"}]},
     'messages[1].role: expected one of system, developer, user, assistant, tool, function; got "wizard"'),
    ({"model": "m", "messages": USER, "n": 2}, "n > 1 is not supported: underlying providers do not support multiple choices"),
    ({"model": "m", "messages": [], "n": 2}, "messages is required and must be non-empty"),
    ({"model": "m", "messages": USER, "max_tokens": 8}, "max_tokens must be at least 16, got 8"),
    ({"model": "m", "messages": USER, "max_completion_tokens": 15, "max_tokens": 100}, "max_tokens must be at least 16, got 15"),
    ({"model": "nope/m", "messages": USER}, 'failed to resolve provider: unknown provider "nope"'),
    ({"model": "nope/m", "messages": USER, "max_tokens": 8}, 'failed to resolve provider: unknown provider "nope"'),
]


def test_bad_requests_are_400_invalid_request_error(compat, openai_upstream):
    # One app for all cases: building it (moto, event sink) costs more than the requests.
    for body, message in BAD_REQUESTS:
        response = post(compat, body)
        # Orka names the field at fault for these two (`param`); the body's model for a wrong type
        param = "n" if message.startswith("n > 1") else "max_tokens" if message.startswith("max_tokens") else \
            message.split(":")[0] if ": expected" in message else None  # messages[1].role: expected …
        expected = oai_error(message, "invalid_request_error", param)
        assert (response.status_code, response.get_json()) == (400, expected), body
    assert openai_upstream.requests == []


def test_bad_requests_raise_the_sdks_bad_request_error(openai_client, openai_upstream):
    with pytest.raises(openai.BadRequestError) as exc:
        openai_client.chat.completions.create(model="m", messages=USER, max_tokens=4)
    assert exc.value.body["message"] == "max_tokens must be at least 16, got 4"
    assert exc.value.type == "invalid_request_error" and exc.value.param == "max_tokens"
    assert openai_upstream.requests == []


# -- models ----------------------------------------------------------------------------------------
def test_models_lists_the_provider_model_qualified_and_bare(openai_client, openai_upstream):
    models = openai_client.models.list()
    assert [(m.id, m.object, m.owned_by) for m in models.data] == [
        ("default/gpt-upstream", "model", "openai"), ("gpt-upstream", "model", "openai")]


# -- server-side tools mode (the default): plain and streaming ------------------------------------------
def test_plain_completion_strips_the_goal_sentinel(openai_client, openai_upstream):
    openai_upstream.script = [{"text": f"{SENTINEL}\nHello, Ada."}]
    completion = openai_client.chat.completions.create(model="gpt-4o", messages=USER)
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{8}", completion.id)
    assert completion.object == "chat.completion" and completion.model == "gpt-4o"
    [choice] = completion.choices
    assert (choice.index, choice.message.role, choice.message.content, choice.finish_reason) == (
        0, "assistant", "Hello, Ada.", "stop")
    assert completion.usage.prompt_tokens == 11
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    [upstream] = openai_upstream.requests
    sent = upstream["json"]
    assert sent["model"] == "gpt-4o" and sent["messages"][0]["role"] == "system"  # the coordinator prompt
    assert sent["messages"][-1] == {"role": "user", "content": "hi"}
    assert {t["function"]["name"] for t in sent["tools"]} >= {"create_ai_task", "wait_for_task"}


def test_the_mock_model_of_make_run_marks_its_answer_finished(compat):
    """`make run` without keys: the mock follows the loop's instruction to mark a finished answer, so
    the client gets its answer at once, not the loop's re-prompt echoed back."""
    response = post(compat, {"model": "shoal-mock", "messages": USER})
    assert response.status_code == 200
    body = response.get_json()
    assert body["choices"][0]["message"]["content"] == "Hello from shoal-mock. You said: hi"
    assert body["choices"][0]["finish_reason"] == "stop"


def test_client_tools_and_tool_history_are_discarded_in_server_side_mode(openai_client, openai_upstream):
    openai_upstream.script = [{"text": f"{SENTINEL} done"}]
    openai_client.chat.completions.create(model="m", tools=[WEATHER], messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "user", "content": "thanks"}])
    sent = openai_upstream.requests[0]["json"]
    assert "get_weather" not in {t["function"]["name"] for t in sent["tools"]}
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "user"]


def test_streaming_with_the_sdk_stream_helper(openai_client, openai_upstream):
    openai_upstream.script = [{"text": f"{SENTINEL}\nstreamed answer, in pieces"}]
    with openai_client.chat.completions.stream(model="m", messages=USER) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert len(deltas) > 1 and "".join(deltas) == "streamed answer, in pieces"
    assert final.choices[0].message.content == "streamed answer, in pieces"
    assert final.choices[0].finish_reason == "stop"


def test_stream_chunks_role_first_then_finish_then_usage_only_when_asked(openai_client, openai_upstream):
    openai_upstream.script = [{"text": f"{SENTINEL} one"}, {"text": f"{SENTINEL} two"}]
    chunks = list(openai_client.chat.completions.create(model="m", messages=USER, stream=True,
                                                        stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 11
    assert len({c.id for c in chunks}) == 1 and re.fullmatch(r"chatcmpl-[0-9a-f]{8}", chunks[0].id)
    plain = list(openai_client.chat.completions.create(model="m", messages=USER, stream=True))
    assert all(c.usage is None for c in plain) and plain[-1].choices[0].finish_reason == "stop"


def test_raw_stream_ends_with_done(compat, openai_upstream):
    openai_upstream.script = [{"text": f"{SENTINEL} ok"}]
    response = post(compat, {"model": "m", "messages": USER, "stream": True})
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    frames = [f for f in response.get_data(as_text=True).split("\n\n") if f.strip()]
    assert all(f.startswith("data: ") for f in frames) and frames[-1] == "data: [DONE]"
    first = json.loads(frames[0][6:])
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}


# -- transparent proxy: the client's own tools pass through ---------------------------------------
def test_proxy_passes_client_tools_through_and_returns_tool_calls(openai_client, upstream):
    upstream.script = [{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}]
    completion = openai_client.chat.completions.create(model="m", messages=USER, tools=[WEATHER],
                                                       extra_headers=PROXY)
    [choice] = completion.choices
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert (call.type, call.function.name, json.loads(call.function.arguments)) == (
        "function", "get_weather", {"city": "Oslo"})
    [sent] = upstream.requests
    names = [t.get("name") or t["function"]["name"] for t in sent["json"]["tools"]]
    assert names == ["get_weather"]  # only the client's tools: nothing injected


def test_proxy_sends_tool_results_back_upstream(openai_client, upstream):
    upstream.script = [{"text": "It is sunny in Oslo."}]
    completion = openai_client.chat.completions.create(model="m", tools=[WEATHER], extra_headers=PROXY, messages=[
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": "sunny"}])
    assert completion.choices[0].message.content == "It is sunny in Oslo."  # no sentinel logic in proxy mode
    sent = json.dumps(upstream.requests[0]["json"]["messages"])
    assert "call_9" in sent and "sunny" in sent


def test_proxy_streams_tool_calls_for_the_stream_helper(openai_client, upstream):
    upstream.script = [{"text": "Let me check.", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}]
    with openai_client.chat.completions.stream(model="m", messages=USER, tools=[WEATHER],
                                               extra_headers=PROXY) as stream:
        final = stream.get_final_completion()
    [choice] = final.choices
    assert choice.finish_reason == "tool_calls" and choice.message.content == "Let me check."
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Oslo"}


# -- upstream failures ------------------------------------------------------------------------------
def test_an_upstream_failure_is_a_500_server_error(openai_client, openai_upstream):
    openai_upstream.script = [{"error": {"status": 400, "type": "invalid_request_error", "message": "model gone"}}]
    with pytest.raises(openai.InternalServerError) as exc:
        openai_client.chat.completions.create(model="m", messages=USER, extra_headers=PROXY)
    assert exc.value.status_code == 500 and exc.value.type == "server_error"
    assert exc.value.body["message"].startswith("completion failed: ") and "model gone" in exc.value.message


def test_an_upstream_failure_before_streaming_is_a_plain_http_error(openai_client, openai_upstream):
    openai_upstream.script = [{"error": {"status": 400, "type": "invalid_request_error", "message": "model gone"}}]
    with pytest.raises(openai.InternalServerError):
        openai_client.chat.completions.create(model="m", messages=USER, stream=True)


def test_a_failure_mid_stream_is_an_error_frame_and_no_done(compat, openai_upstream, monkeypatch):
    # The first model call streams text and asks for a tool; the second one fails.
    openai_upstream.script = [
        {"text": "working", "tool_calls": [{"name": "check_task_progress", "arguments": {"name": "x"}}]},
        {"error": {"status": 400, "type": "invalid_request_error", "message": "context too long"}}]
    response = post(compat, {"model": "m", "messages": USER, "stream": True})
    frames = [f for f in response.get_data(as_text=True).split("\n\n") if f.strip()]
    assert "data: [DONE]" not in frames
    error = json.loads(frames[-1][6:])
    assert error["error"]["type"] == "server_error" and "context too long" in error["error"]["message"]


def test_the_sdk_raises_on_a_mid_stream_error(openai_client, openai_upstream):
    openai_upstream.script = [
        {"tool_calls": [{"name": "check_task_progress", "arguments": {"name": "x"}}]},
        {"error": {"status": 400, "type": "invalid_request_error", "message": "context too long"}}]
    with pytest.raises(openai.APIError) as exc:
        list(openai_client.chat.completions.create(model="m", messages=USER, stream=True))
    assert "context too long" in exc.value.message


def test_api_key_header_is_not_needed_by_openai_clients_but_bearer_works(compat, openai_upstream):
    openai_upstream.script = [{"text": f"{SENTINEL} ok"}]
    response = post(compat, {"model": "m", "messages": USER}, headers={"Authorization": f"Bearer {DEV_TOKEN}"})
    assert response.status_code == 200
