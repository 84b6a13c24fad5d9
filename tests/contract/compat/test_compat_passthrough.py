"""Contract: the same-wire transparent proxy (`X-Orka-Tools: disabled`, endpoint and provider of one
vendor). The client's request reaches the upstream as sent (model resolved, our credentials), the
answer comes back as the upstream wrote it (our ids), and failures read as the rest of compat."""

from __future__ import annotations

import json
import re
from unittest.mock import ANY

import openai
import pytest
from werkzeug import Response

from tests.conftest import AUTH, DEV_TOKEN

PROXY = {"X-Orka-Tools": "disabled"}
USER = [{"role": "user", "content": "hi"}]


def post(client, path, body, headers=None):
    return client.post(path, data=json.dumps(body),
                       headers={**AUTH, **PROXY, **(headers or {}), "Content-Type": "application/json"})


def sse_data(response) -> list[str]:
    return [line[6:] for line in response.get_data(as_text=True).split("\n") if line.startswith("data: ")]


# -- OpenAI ------------------------------------------------------------------------------------------
OPENAI_EXTRAS = {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "stop": ["\n\n"],
                 "response_format": {"type": "json_object"}, "top_p": 0.5, "seed": 7, "user": "u-1",
                 "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]}


def test_openai_fields_reach_the_upstream_untouched(compat, openai_upstream):
    response = post(compat, "/openai/v1/chat/completions", {"model": "default/gpt-x", "messages": USER,
                                                            "max_tokens": 64, **OPENAI_EXTRAS})
    assert response.status_code == 200
    [sent] = openai_upstream.requests
    assert sent["json"] == {"model": "gpt-x", "messages": USER, "max_tokens": 64, **OPENAI_EXTRAS}
    # Our credentials upstream, never the caller's token.
    assert sent["headers"]["Authorization"] == "Bearer sk-upstream"
    assert DEV_TOKEN not in json.dumps(sent["headers"])


def test_openai_answer_comes_back_as_written_with_our_id(compat, openai_upstream):
    openai_upstream.script = [{"text": "hello there"}]
    body = post(compat, "/openai/v1/chat/completions", {"model": "m", "messages": USER}).get_json()
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{8}", body["id"])
    assert body["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "hello there", "refusal": None},
                                "logprobs": None, "finish_reason": "stop"}]
    assert body["usage"] == {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13}
    assert body["model"] == "m"


@pytest.mark.parametrize("limit", [0, 0.0, -1])
def test_openai_non_positive_token_limit_is_not_sent(compat, openai_upstream, limit):
    assert post(compat, "/openai/v1/chat/completions", {"model": "m", "messages": USER,
                                                        "max_tokens": limit}).status_code == 200
    assert "max_tokens" not in openai_upstream.requests[0]["json"]


def test_openai_stream_relays_every_chunk_with_our_id_then_done(compat, openai_upstream):
    openai_upstream.script = [{"text": "streamed words here"}]
    response = post(compat, "/openai/v1/chat/completions", {"model": "m", "messages": USER, "stream": True,
                                                            "stream_options": {"include_usage": True}})
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    data = sse_data(response)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert len({c["id"] for c in chunks}) == 1 and re.fullmatch(r"chatcmpl-[0-9a-f]{8}", chunks[0]["id"])
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "streamed words here"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0  # include_usage went upstream
    assert openai_upstream.requests[0]["json"]["stream_options"] == {"include_usage": True}


def test_the_sdk_stream_helper_reads_the_relayed_stream(compat_server, openai_upstream):
    client = openai.OpenAI(base_url=compat_server.url + "/openai/v1", api_key=DEV_TOKEN, max_retries=0,
                           default_headers=PROXY, _strict_response_validation=True)
    openai_upstream.script = [{"text": "Let me check.", "tool_calls": [{"name": "get_weather",
                                                                        "arguments": {"city": "Oslo"}}]}]
    with client.chat.completions.stream(model="m", messages=USER, tools=OPENAI_EXTRAS["tools"]) as stream:
        final = stream.get_final_completion()
    [choice] = final.choices
    assert choice.message.content == "Let me check." and choice.finish_reason == "tool_calls"
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"city": "Oslo"}


@pytest.fixture
def raw_upstream(httpserver, monkeypatch):
    """A hand-driven upstream (pytest-httpserver) for what the scripted one cannot do: cut a stream
    short, fail once and then answer."""
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-upstream")
    monkeypatch.setenv("SHOAL_LLM_BASE_URL", httpserver.url_for("/v1"))
    reset_settings()
    return httpserver


def test_a_stream_cut_short_ends_with_an_error_frame_and_no_done(compat, raw_upstream):
    first = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "par"}, "finish_reason": None}]}
    raw_upstream.expect_request("/v1/chat/completions").respond_with_response(
        Response(f"data: {json.dumps(first)}\n\n", content_type="text/event-stream"))
    data = sse_data(post(compat, "/openai/v1/chat/completions", {"model": "m", "messages": USER, "stream": True}))
    assert "[DONE]" not in data
    assert json.loads(data[0])["choices"][0]["delta"]["content"] == "par"
    error = json.loads(data[-1])["error"]
    assert error["type"] == "server_error"
    assert error["message"] == "completion failed: openai provider error: stream ended without [DONE]"


def test_an_upstream_error_before_the_stream_is_a_plain_500(compat, raw_upstream):
    raw_upstream.expect_request("/v1/chat/completions").respond_with_json(
        {"error": {"message": "bad tool schema", "type": "invalid_request_error"}}, status=400)
    response = post(compat, "/openai/v1/chat/completions", {"model": "m", "messages": USER, "stream": True})
    assert response.status_code == 500
    assert response.get_json()["error"]["message"] == "completion failed: openai provider error 400: bad tool schema"


def test_a_transient_upstream_failure_is_retried(compat, raw_upstream):
    answer = {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
    raw_upstream.expect_ordered_request("/v1/chat/completions").respond_with_json(
        {"error": {"message": "busy"}}, status=503, headers={"retry-after": "0"})
    raw_upstream.expect_ordered_request("/v1/chat/completions").respond_with_json(answer)
    response = post(compat, "/openai/v1/chat/completions", {"model": "m", "messages": USER})
    assert response.status_code == 200 and response.get_json()["choices"][0]["message"]["content"] == "ok"
    raw_upstream.check_assertions()


def test_an_upstream_answer_that_is_not_json_is_a_500(compat, raw_upstream):
    raw_upstream.expect_request("/v1/chat/completions").respond_with_data("<html>gateway</html>")
    response = post(compat, "/openai/v1/chat/completions", {"model": "m", "messages": USER})
    assert response.status_code == 500
    assert response.get_json()["error"]["message"] == "completion failed: provider returned an invalid response"


# -- Anthropic ---------------------------------------------------------------------------------------
ANTHROPIC_EXTRAS = {"stop_sequences": ["END"], "top_k": 5, "metadata": {"user_id": "u-1"},
                    "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
                    "tool_choice": {"type": "auto"}}


def test_anthropic_fields_and_headers_reach_the_upstream_untouched(compat, anthropic_upstream):
    response = post(compat, "/anthropic/v1/messages",
                    {"model": "claude-x", "max_tokens": 32, "messages": USER, **ANTHROPIC_EXTRAS},
                    headers={"anthropic-version": "2023-06-01", "anthropic-beta": "prompt-caching-2024-07-31"})
    assert response.status_code == 200
    [sent] = anthropic_upstream.requests
    assert sent["path"] == "/v1/messages"
    assert sent["json"] == {"model": "claude-x", "max_tokens": 32, "messages": USER, **ANTHROPIC_EXTRAS}
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["x-api-key"] == "sk-ant-upstream" and "authorization" not in headers
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert headers["anthropic-version"] == "2023-06-01"


def test_anthropic_answer_and_stream_carry_our_message_id(compat, anthropic_upstream):
    anthropic_upstream.script = [{"text": "plain"}, {"text": "streamed reply"}]
    body = post(compat, "/anthropic/v1/messages", {"model": "m", "max_tokens": 32, "messages": USER}).get_json()
    assert re.fullmatch(r"msg_[0-9a-f-]{36}", body["id"]) and body["content"] == [{"type": "text", "text": "plain", "citations": None}]
    response = post(compat, "/anthropic/v1/messages",
                    {"model": "m", "max_tokens": 32, "messages": USER, "stream": True})
    text = response.get_data(as_text=True)
    events = [line[7:] for line in text.split("\n") if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop" and "ping" in events
    start = json.loads(sse_data(response)[0])
    assert re.fullmatch(r"msg_[0-9a-f-]{36}", start["message"]["id"])
    deltas = [json.loads(d)["delta"].get("text", "") for d in sse_data(response)
              if json.loads(d)["type"] == "content_block_delta"]
    assert "".join(deltas) == "streamed reply"


# -- across vendors: the common controls are translated, not dropped ------------------------------------
WEATHER_OAI = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
WEATHER_ANT = {"name": "get_weather", "input_schema": {"type": "object"}}


@pytest.mark.parametrize("choice,expected", [
    ("required", {"type": "any"}), ("none", {"type": "none"}), ("auto", {"type": "auto"}),
    ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"})])
def test_openai_controls_reach_an_anthropic_upstream(compat, anthropic_upstream, choice, expected):
    response = post(compat, "/openai/v1/chat/completions", {
        "model": "m", "messages": USER, "tools": [WEATHER_OAI], "tool_choice": choice, "stop": "END", "top_p": 0.3,
        "temperature": 0.2})
    assert response.status_code == 200
    sent = anthropic_upstream.requests[0]["json"]
    assert (sent["tool_choice"], sent["stop_sequences"], sent["top_p"], sent["temperature"]) == (
        expected, ["END"], 0.3, 0.2)


@pytest.mark.parametrize("choice,expected", [
    ({"type": "any"}, "required"), ({"type": "auto"}, "auto"),
    ({"type": "tool", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}})])
def test_anthropic_controls_reach_an_openai_upstream(compat, openai_upstream, choice, expected):
    response = post(compat, "/anthropic/v1/messages", {
        "model": "m", "max_tokens": 32, "messages": USER, "tools": [WEATHER_ANT], "tool_choice": choice,
        "stop_sequences": ["END", "STOP"], "top_p": 0.3})
    assert response.status_code == 200
    sent = openai_upstream.requests[0]["json"]
    assert (sent["tool_choice"], sent["stop"], sent["top_p"]) == (expected, ["END", "STOP"], 0.3)


@pytest.mark.parametrize("path,body,error", [
    ("/openai/v1/chat/completions", {"tool_choice": "sometimes"}, {"error": {
        "message": "invalid request body", "type": "invalid_request_error", "param": None, "code": None}}),
    ("/openai/v1/chat/completions", {"stop": [1]}, {"error": {  # a wrong type: the body's model names it
        "message": "stop: expected a string or an array of strings", "type": "invalid_request_error",
        "param": "stop", "code": None}}),
    ("/anthropic/v1/messages", {"tool_choice": {"type": "tool"}}, {"type": "error", "error": {
        "type": "invalid_request_error", "message": "invalid request body"}, "request_id": ANY}),
    ("/anthropic/v1/messages", {"top_p": "high"}, {"type": "error", "error": {
        "type": "invalid_request_error", "message": "top_p: expected a number"}, "request_id": ANY}),
])
def test_malformed_controls_are_refused_before_the_model(compat, upstream, path, body, error):
    base = {"model": "m", "messages": USER, "max_tokens": 32}
    response = post(compat, path, {**base, **body})
    assert (response.status_code, response.get_json()) == (400, error)
    assert upstream.requests == []


def test_a_client_gone_before_the_first_frame_releases_the_upstream_connection(compat, openai_upstream, monkeypatch):
    from shared.compat import passthrough

    released = []
    original = passthrough._Relay.close
    monkeypatch.setattr(passthrough._Relay, "close", lambda self: (released.append(self._open), original(self)))
    response = compat.post("/openai/v1/chat/completions", json={"model": "m", "messages": USER, "stream": True},
                           headers={**AUTH, **PROXY}, buffered=False)
    assert response.status_code == 200
    response.close()  # nothing was read
    assert released[:1] == [True]  # closed while the upstream was still open: it is released now
    streamed = post(compat, "/openai/v1/chat/completions", {"model": "m", "messages": USER, "stream": True})
    assert sse_data(streamed)[-1] == "[DONE]"  # and the pool still serves the next stream


def test_a_relayed_stream_passes_each_event_on_as_it_comes(compat, monkeypatch):
    """The first event reaches the client while the upstream still holds the rest, and every event
    arrives once, whole, in order and in a frame of its own: one split over two writes, two in one
    write, CRLF line ends."""
    import threading

    from shared.config import reset_settings
    from tests.support.servers import BackgroundServer

    released, waited = threading.Event(), []

    def chunk(text: str) -> str:
        return json.dumps({"id": "up-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                           "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})

    def upstream(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/event-stream")])

        def body():
            yield f"data: {chunk('first')}\n\n".encode()
            waited.append(released.wait(5))  # the rest only once the client has the first event
            split = f"data: {chunk('split')}\r\n\r\n".encode()
            yield split[:25]
            yield split[25:]
            yield f"data: {chunk('one')}\n\ndata: {chunk('write')}\n\n".encode()
            yield b"data: [DONE]\n\n"
        return body()

    with BackgroundServer(upstream) as server:
        monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-upstream")
        monkeypatch.setenv("SHOAL_LLM_BASE_URL", server.url + "/v1")
        reset_settings()
        response = compat.post("/openai/v1/chat/completions", json={"model": "m", "messages": USER, "stream": True},
                               headers={**AUTH, **PROXY}, buffered=False)
        assert response.status_code == 200
        frames = iter(response.response)
        first = next(frames)
        assert not released.is_set() and not waited  # sent on while the upstream still waits
        released.set()
        rest = list(frames)
        response.close()
    assert waited == [True]
    events = [first, *rest]
    assert all(isinstance(e, bytes) and e.startswith(b"data: ") and e.endswith(b"\n\n") and e.count(b"\n\n") == 1
               for e in events), events  # one event per frame
    assert events[-1] == b"data: [DONE]\n\n"
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert [c["choices"][0]["delta"]["content"] for c in chunks] == ["first", "split", "one", "write"]
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
