"""Contract: /anthropic/v1 (orka-behaviour §2 "Anthropic-compatible"; test-fixtures §5), driven by the
real `anthropic` SDK in strict mode over HTTP, plus exact status/body checks in process."""

from __future__ import annotations

import json
import re
from unittest.mock import ANY

import anthropic
import pytest

from tests.conftest import AUTH, DEV_TOKEN

SENTINEL = "<ORKA_GOAL_STATE_REACHED>"
PROXY = {"X-Orka-Tools": "disabled"}
USER = [{"role": "user", "content": "hi"}]
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
MSG_ID = r"msg_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def ant_error(message: str, kind: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": ANY}


def post(client, body, headers=AUTH):
    return client.post("/anthropic/v1/messages", data=body if isinstance(body, str) else json.dumps(body),
                       headers={**headers, "Content-Type": "application/json", "anthropic-version": "2023-06-01"})


# -- authentication: Bearer (anthropic ≥ 2) and x-api-key (older SDKs) ------------------------------------
def test_without_credentials_is_401_in_anthropic_shape(compat):
    for method, path in (("POST", "/anthropic/v1/messages"), ("GET", "/anthropic/v1/models")):
        response = compat.open(path, method=method)
        assert response.status_code == 401
        assert response.get_json() == ant_error("missing authorization header", "authentication_error")


def test_x_api_key_and_bearer_are_both_accepted(compat, anthropic_upstream):
    anthropic_upstream.script = [{"text": f"{SENTINEL} one"}, {"text": f"{SENTINEL} two"}]
    body = {"model": "claude", "max_tokens": 64, "messages": USER}
    assert post(compat, body, headers={"x-api-key": DEV_TOKEN}).status_code == 200
    assert post(compat, body, headers={"Authorization": f"Bearer {DEV_TOKEN}"}).status_code == 200
    wrong = post(compat, body, headers={"x-api-key": "wrong"})
    assert (wrong.status_code, wrong.get_json()) == (401, ant_error("invalid token", "authentication_error"))


def test_a_bad_key_raises_the_sdks_authentication_error(compat_server):
    client = anthropic.Anthropic(base_url=compat_server.url + "/anthropic", api_key="wrong", max_retries=0,
                                 _strict_response_validation=True)
    with pytest.raises(anthropic.AuthenticationError) as exc:
        client.messages.create(model="claude", max_tokens=64, messages=USER)
    assert exc.value.status_code == 401 and exc.value.body["error"]["message"] == "invalid token"


# -- validation ------------------------------------------------------------------------------------
BAD_REQUESTS = [
    ("{not json", "invalid request body"),
    ({"messages": USER, "max_tokens": 64}, "model is required"),
    ({"model": "", "messages": [], "max_tokens": 0}, "model is required"),
    ({"model": "claude", "max_tokens": 64}, "messages is required and must be non-empty"),
    ({"model": "claude", "messages": [], "max_tokens": 0}, "messages is required and must be non-empty"),
    ({"model": "claude", "messages": USER}, "max_tokens is required and must be greater than 0"),
    ({"model": "claude", "messages": USER, "max_tokens": 0}, "max_tokens is required and must be greater than 0"),
    ({"model": "claude", "messages": USER, "max_tokens": "many"}, "max_tokens: expected an integer"),
    ({"model": "nope/claude", "messages": USER, "max_tokens": 64}, 'failed to resolve provider: unknown provider "nope"'),
    ({"model": "claude", "max_tokens": 64, "messages": [{"role": "user", "content": 7}]},
     "failed to convert messages: content must be a string or array of content blocks"),
    ({"model": "claude", "max_tokens": 64, "messages": [{"role": "robot", "content": "x"}]},
     'messages[0].role: expected one of user, assistant, system; got "robot"'),
    ({"model": "claude", "max_tokens": 64, "messages": USER + [{"content": "x"}]},
     "messages[1].role: expected one of user, assistant, system; got null"),
]


def test_bad_requests_are_400_invalid_request_error(compat, anthropic_upstream):
    for body, message in BAD_REQUESTS:
        response = post(compat, body)
        assert (response.status_code, response.get_json()) == (400, ant_error(message, "invalid_request_error")), body
    assert anthropic_upstream.requests == []


def test_bad_requests_raise_the_sdks_bad_request_error(anthropic_client, anthropic_upstream):
    with pytest.raises(anthropic.BadRequestError) as exc:
        anthropic_client.messages.create(model="claude", max_tokens=64, messages=[])
    assert exc.value.body == ant_error("messages is required and must be non-empty", "invalid_request_error")


# -- models ----------------------------------------------------------------------------------------
def test_models_list_reads_with_the_sdk(anthropic_client, anthropic_upstream):
    page = anthropic_client.models.list()
    assert [m.id for m in page.data] == ["default/claude-upstream", "claude-upstream"]
    assert all(m.type == "model" for m in page.data)


# -- server-side tools mode: plain and streaming ----------------------------------------------------------
def test_plain_message_strips_the_sentinel(anthropic_client, anthropic_upstream):
    anthropic_upstream.script = [{"text": f"{SENTINEL}\nHello, Ada."}]
    message = anthropic_client.messages.create(model="claude-x", max_tokens=256, system="be brief", messages=USER)
    assert re.fullmatch(MSG_ID, message.id)
    assert (message.type, message.role, message.model, message.stop_reason, message.stop_sequence) == (
        "message", "assistant", "claude-x", "end_turn", None)
    assert [(b.type, b.text) for b in message.content] == [("text", "Hello, Ada.")]
    assert message.usage.input_tokens == 11
    [sent] = anthropic_upstream.requests
    assert "Shoal" in sent["json"]["system"] and "be brief" in sent["json"]["system"]
    assert sent["json"]["max_tokens"] == 256
    assert {t["name"] for t in sent["json"]["tools"]} >= {"create_ai_task", "wait_for_task"}


def test_streaming_with_the_sdk_stream_helper(anthropic_client, anthropic_upstream):
    anthropic_upstream.script = [{"text": f"{SENTINEL}\nstreamed answer, in pieces"}]
    with anthropic_client.messages.stream(model="claude", max_tokens=256, messages=USER) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "streamed answer, in pieces"
    assert [b.text for b in final.content] == ["streamed answer, in pieces"]
    assert final.stop_reason == "end_turn" and final.usage.input_tokens == 11 and re.fullmatch(MSG_ID, final.id)


def test_raw_stream_has_the_full_event_sequence(compat, anthropic_upstream):
    anthropic_upstream.script = [{"text": f"{SENTINEL} ok"}]
    response = post(compat, {"model": "claude", "max_tokens": 64, "messages": USER, "stream": True})
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    frames = [f for f in response.get_data(as_text=True).split("\n\n") if f.strip()]
    kinds = []
    for frame in frames:
        event_line, data_line = frame.split("\n")
        kind = event_line.removeprefix("event: ")
        assert json.loads(data_line.removeprefix("data: "))["type"] == kind
        kinds.append(kind)
    assert kinds[:3] == ["message_start", "ping", "content_block_start"]
    assert kinds[-4:] == ["content_block_delta", "content_block_stop", "message_delta", "message_stop"]


# -- transparent proxy -------------------------------------------------------------------------------
def test_proxy_passes_client_tools_through_and_returns_tool_use(anthropic_client, upstream):
    upstream.script = [{"text": "Checking.", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}]
    message = anthropic_client.messages.create(model="m", max_tokens=128, messages=USER, tools=[WEATHER],
                                               extra_headers=PROXY)
    assert message.stop_reason == "tool_use"
    text, tool = message.content
    assert (text.type, text.text) == ("text", "Checking.")
    assert (tool.type, tool.name, tool.input) == ("tool_use", "get_weather", {"city": "Oslo"})
    [sent] = upstream.requests
    names = [t.get("name") or t["function"]["name"] for t in sent["json"]["tools"]]
    assert names == ["get_weather"]


def test_proxy_sends_tool_results_back_upstream(anthropic_client, upstream):
    upstream.script = [{"text": "It is sunny in Oslo."}]
    message = anthropic_client.messages.create(model="m", max_tokens=128, tools=[WEATHER], extra_headers=PROXY,
                                               messages=[
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_9", "name": "get_weather",
                                           "input": {"city": "Oslo"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "sunny"}]}])
    assert message.content[0].text == "It is sunny in Oslo."
    sent = json.dumps(upstream.requests[0]["json"]["messages"])
    assert "toolu_9" in sent and "sunny" in sent


def test_proxy_streams_tool_use_for_the_stream_helper(anthropic_client, anthropic_upstream):
    anthropic_upstream.script = [{"text": "Checking.", "tool_calls": [{"name": "get_weather",
                                                                       "arguments": {"city": "Oslo"}}]}]
    with anthropic_client.messages.stream(model="m", max_tokens=128, messages=USER, tools=[WEATHER],
                                          extra_headers=PROXY) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[1].input == {"city": "Oslo"}


# -- upstream failures ------------------------------------------------------------------------------
def test_an_upstream_failure_is_a_500_api_error(anthropic_client, anthropic_upstream):
    anthropic_upstream.script = [{"error": {"status": 400, "type": "invalid_request_error", "message": "model gone"}}]
    with pytest.raises(anthropic.InternalServerError) as exc:
        anthropic_client.messages.create(model="m", max_tokens=64, messages=USER, extra_headers=PROXY)
    assert exc.value.body["error"]["type"] == "api_error"
    assert exc.value.body["error"]["message"].startswith("completion failed: ")


def test_a_failure_mid_stream_is_an_error_event_the_sdk_raises(anthropic_client, anthropic_upstream):
    anthropic_upstream.script = [
        {"tool_calls": [{"name": "check_task_progress", "arguments": {"name": "x"}}]},
        {"error": {"status": 400, "type": "invalid_request_error", "message": "context too long"}}]
    with pytest.raises(anthropic.APIStatusError) as exc, \
            anthropic_client.messages.stream(model="m", max_tokens=64, messages=USER) as stream:
        list(stream)
    assert "context too long" in str(exc.value)
