"""Contract: `POST /openai/v1/responses`, OpenAI's Responses API (what the Codex CLI speaks), driven by
the real `openai` SDK in strict mode over HTTP, plus exact status/body checks in process.

Three providers: an OpenAI one (the request is relayed to its /responses as sent), an Anthropic one
(translated to /v1/messages and back) and the mock model of `make run` (translated)."""

from __future__ import annotations

import json
import re

import openai
import pytest
from werkzeug import Response

from tests.conftest import AUTH

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city", "strict": True,
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}}
PATCH = {"type": "custom", "name": "apply_patch", "description": "Apply a patch"}
USER = [{"role": "user", "content": "weather in Oslo?"}]
UPSTREAM_RESPONSE_ID = r"resp_[0-9a-f]{32}"  # the scripted upstream's ids; ours are resp_ + 24 hex
OUR_RESPONSE_ID = r"resp_[0-9a-f]{24}"


def oai_error(message: str, kind: str, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def post(client, body, headers=AUTH):
    return client.post("/openai/v1/responses", data=body if isinstance(body, str) else json.dumps(body),
                       headers={**headers, "Content-Type": "application/json"})


def sse_events(response) -> list[tuple[str, dict]]:
    """(event line, data) of every frame of a streamed answer."""
    events = []
    for block in response.get_data(as_text=True).strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line and not line.startswith(":"))
        if "data" in lines:
            events.append((lines.get("event", ""), json.loads(lines["data"])))
    return events


# -- authentication, routing ---------------------------------------------------------------------------
def test_without_credentials_is_401_in_openai_shape(compat):
    response = compat.post("/openai/v1/responses", json={"model": "m", "input": "hi"})
    assert response.status_code == 401
    assert response.get_json() == oai_error("missing authorization header", "authentication_error")


def test_other_responses_operations_are_not_served(compat):
    response = compat.get("/openai/v1/responses/resp_123", headers=AUTH)
    assert (response.status_code, response.get_json()) == (404, oai_error("not found", "not_found_error"))


def test_the_route_is_in_the_route_table_with_a_summary(function_client):
    operation = function_client("meta").get("/openapi.json").get_json()["paths"]["/openai/v1/responses"]["post"]
    assert operation["summary"] == "Create a model response (Responses API, streaming and non-streaming)"
    assert operation["x-shoal-function"] == "compat"


# -- refusals: exact bodies, the field named, nothing reaches the model -------------------------------------
BAD_REQUESTS = [
    ("{not json", "invalid request body", None),
    ("[]", "invalid request body", None),
    ({"model": 5, "input": "hi"}, "invalid type for 'model': expected a string", "model"),
    ({"model": "m", "input": 5}, "invalid type for 'input': expected a string or an array of input items", "input"),
    ({"model": "m", "input": ["hi"]}, "invalid type for 'input[0]': expected an object", "input[0]"),
    ({"model": "m", "input": "hi", "instructions": ["x"]}, "invalid type for 'instructions': expected a string",
     "instructions"),
    ({"model": "m", "input": "hi", "stream": "yes"}, "invalid type for 'stream': expected a boolean", "stream"),
    ({"model": "m", "input": "hi", "max_output_tokens": 8}, "max_output_tokens must be at least 16, got 8",
     "max_output_tokens"),
    ({"model": "m", "input": "hi", "max_output_tokens": "many"}, "invalid type for 'max_output_tokens': expected an integer",
     "max_output_tokens"),
    ({"model": "m", "input": "hi", "temperature": "warm"}, "invalid type for 'temperature': expected a number",
     "temperature"),
    ({"model": "m", "input": "hi", "tools": {"type": "function"}}, "invalid type for 'tools': expected an array of tools",
     "tools"),
    ({"model": "m", "input": "hi", "tools": [{"type": "function"}]}, "missing required parameter: 'tools[0].name'",
     "tools[0].name"),
    ({"model": "m", "input": "hi", "tools": [WEATHER], "tool_choice": {"type": "function", "name": "get_time"}},
     "tool_choice names function 'get_time', which is not in tools", "tool_choice"),
    ({"model": "m", "input": "hi", "tools": [WEATHER], "tool_choice": {"type": "custom", "name": "get_weather"}},
     "tool_choice names custom 'get_weather', which is not in tools", "tool_choice"),
    ({"model": "m", "input": "hi", "tool_choice": "sometimes"},
     'invalid \'tool_choice\': expected "auto", "none", "required" or a tool choice object', "tool_choice"),
    ({"model": "nope/m", "input": "hi"}, 'failed to resolve provider: unknown provider "nope"', None),
]


def test_bad_requests_are_400_naming_the_field(compat, upstream):
    # Either provider: these checks come before the provider is chosen. One app for all cases.
    for body, message, param in BAD_REQUESTS:
        response = post(compat, body)
        assert (response.status_code, response.get_json()) == (
            400, oai_error(message, "invalid_request_error", param)), body
    assert upstream.requests == []


TRANSLATION_REFUSALS = [
    ({"model": "m"}, "input is required and must be non-empty", "input"),
    ({"model": "m", "input": [{"type": "reasoning", "id": "rs_1", "summary": []}]},
     "input is required and must be non-empty", "input"),
    ({"model": "m", "input": "hi", "previous_response_id": "resp_1"},
     "previous_response_id needs responses stored upstream, which this provider does not have: send the whole "
     "conversation in input", "previous_response_id"),
    ({"model": "m", "input": "hi", "background": True},
     "background needs responses stored upstream, which this provider does not have: send the whole "
     "conversation in input", "background"),
    ({"model": "m", "input": [{"role": "tool", "content": "x"}]},
     "invalid 'input[0].role': expected user, assistant, system or developer", "input[0].role"),
    ({"model": "m", "input": [*USER, {"type": "function_call", "name": "get_weather", "arguments": "{}"}]},
     "missing required parameter: 'input[1].call_id'", "input[1].call_id"),
    ({"model": "m", "input": [{"type": "function_call_output", "call_id": "c1", "output": 7}]},
     "invalid type for 'input[0].output': expected a string or an array of content parts", "input[0].output"),
    ({"model": "m", "input": "hi", "tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search_preview"}},
     "tool_choice forces the web_search_preview tool 'web_search_preview', which this provider cannot run",
     "tool_choice"),
    ({"model": "m", "input": "hi", "tools": [{"type": "web_search"}], "tool_choice": "required"},
     "tool_choice 'required' needs a function or custom tool", "tool_choice"),
]


def test_what_the_translation_cannot_serve_is_400_naming_the_field(compat, anthropic_upstream):
    for body, message, param in TRANSLATION_REFUSALS:
        response = post(compat, body)
        assert (response.status_code, response.get_json()) == (
            400, oai_error(message, "invalid_request_error", param)), body
    assert anthropic_upstream.requests == []


def test_the_sdk_raises_its_bad_request_error_with_the_param(openai_client, openai_upstream):
    with pytest.raises(openai.BadRequestError) as exc:
        openai_client.responses.create(model="m", input="hi", tools=[WEATHER],
                                       tool_choice={"type": "function", "name": "get_time"})
    assert exc.value.param == "tool_choice" and exc.value.type == "invalid_request_error"
    assert openai_upstream.requests == []


def test_without_a_model_the_configured_one_answers(compat, openai_upstream):
    response = post(compat, {"input": "hi"})
    assert response.status_code == 200
    assert openai_upstream.requests[0]["json"] == {"input": "hi", "model": "gpt-upstream"}


# -- (a) an OpenAI provider: relayed to its /responses as sent ---------------------------------------------
EVERYTHING = {"instructions": "Answer briefly.", "tools": [WEATHER, PATCH, {"type": "web_search"}],
              "tool_choice": {"type": "function", "name": "get_weather"}, "reasoning": {"effort": "low"},
              "store": False, "include": ["reasoning.encrypted_content"], "parallel_tool_calls": False,
              "text": {"format": {"type": "text"}, "verbosity": "low"}, "previous_response_id": "resp_prev",
              "max_output_tokens": 64, "metadata": {"run": "1"}, "prompt_cache_key": "k", "truncation": "auto"}


def test_every_field_reaches_the_openai_upstream_as_sent(openai_client, openai_upstream):
    openai_upstream.script = [{"text": "Sunny."}]
    answer = openai_client.responses.create(model="default/gpt-x", input=USER, **EVERYTHING)
    [sent] = openai_upstream.requests
    assert sent["path"] == "/v1/responses"
    assert sent["json"] == {"model": "gpt-x", "input": USER, **EVERYTHING}
    assert sent["headers"]["Authorization"] == "Bearer sk-upstream"  # ours, never the caller's
    assert answer.output_text == "Sunny." and answer.status == "completed"
    assert re.fullmatch(UPSTREAM_RESPONSE_ID, answer.id)  # the upstream's id: previous_response_id refers to it
    assert (answer.usage.input_tokens, answer.usage.output_tokens, answer.usage.total_tokens) == (11, 1, 12)


def test_the_upstream_answer_comes_back_byte_for_byte(compat, openai_upstream, monkeypatch):
    from shared.compat import passthrough

    written = []
    original = passthrough._call
    monkeypatch.setattr(passthrough, "_call", lambda *a, **k: written.append(original(*a, **k)) or written[-1])
    response = post(compat, {"model": "m", "input": "hi"})
    assert response.status_code == 200 and response.get_data() == written[0]


def test_function_calls_round_trip_through_the_openai_upstream(openai_client, openai_upstream):
    openai_upstream.script = [{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
                              {"text": "It is sunny in Oslo."}]
    first = openai_client.responses.create(model="m", input=USER, tools=[WEATHER])
    [call] = first.output
    assert (call.type, call.call_id, call.name, json.loads(call.arguments)) == (
        "function_call", "call_0", "get_weather", {"city": "Oslo"})
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
    history = [*USER, call.model_dump(exclude_none=True), result]
    second = openai_client.responses.create(model="m", input=history, tools=[WEATHER])
    assert second.output_text == "It is sunny in Oslo."
    assert openai_upstream.requests[1]["json"]["input"] == history


def test_the_sdk_stream_helper_reads_the_relayed_stream(openai_client, openai_upstream):
    openai_upstream.script = [{"text": "Let me check.", "tool_calls": [{"name": "get_weather",
                                                                        "arguments": {"city": "Oslo"}}]}]
    with openai_client.responses.stream(model="m", input=USER, tools=[WEATHER]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"] and kinds[-1] == "response.completed"
    assert "response.function_call_arguments.done" in kinds
    assert final.output_text == "Let me check." and re.fullmatch(UPSTREAM_RESPONSE_ID, final.id)
    assert json.loads(final.output[1].arguments) == {"city": "Oslo"}
    assert openai_upstream.requests[0]["json"]["stream"] is True


def test_an_upstream_failure_is_a_500_as_for_chat_completions(openai_client, openai_upstream):
    openai_upstream.script = [{"error": {"status": 400, "type": "invalid_request_error", "message": "model gone"}}] * 2
    with pytest.raises(openai.InternalServerError) as exc:
        openai_client.responses.create(model="m", input="hi")
    assert exc.value.body == {"message": "completion failed: openai provider error 400: model gone",
                              "type": "server_error", "param": None, "code": None}
    with pytest.raises(openai.InternalServerError):  # before the stream started: a plain HTTP error too
        openai_client.responses.create(model="m", input="hi", stream=True)


@pytest.fixture
def raw_upstream(httpserver, monkeypatch):
    """A hand-driven upstream (pytest-httpserver) for what the scripted one cannot do: break off a stream."""
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-upstream")
    monkeypatch.setenv("SHOAL_LLM_BASE_URL", httpserver.url_for("/v1"))
    reset_settings()
    return httpserver


def test_a_relayed_stream_cut_short_ends_with_response_failed(compat, raw_upstream):
    started = {"id": "resp_up", "object": "response", "created_at": 1, "status": "in_progress", "model": "m",
               "output": []}
    frames = (f"event: response.created\ndata: {json.dumps({'type': 'response.created', 'response': started, 'sequence_number': 0})}\n\n"
              f"event: response.in_progress\ndata: {json.dumps({'type': 'response.in_progress', 'response': started, 'sequence_number': 1})}\n\n")
    raw_upstream.expect_request("/v1/responses").respond_with_response(
        Response(frames, content_type="text/event-stream"))
    response = post(compat, {"model": "m", "input": "hi", "stream": True})
    assert response.status_code == 200
    relayed = response.get_data(as_text=True)
    assert relayed.startswith(frames)  # as the upstream wrote them
    kind, failed = sse_events(response)[-1]
    assert kind == "response.failed"
    assert failed == {"type": "response.failed", "sequence_number": 2, "response": {
        **started, "status": "failed", "completed_at": None, "error": {
            "code": "server_error",
            "message": "completion failed: openai provider error: stream ended without response.completed"}}}


# -- (b) an Anthropic provider: translated to /v1/messages and back ------------------------------------------
HISTORY = [
    {"role": "developer", "content": "Use metric units."},
    {"role": "user", "content": [{"type": "input_text", "text": "weather in Oslo?"},
                                 {"type": "input_image", "image_url": "https://example.com/x.png"}]},
    {"type": "reasoning", "id": "rs_1", "summary": []},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me check."}]},
    {"type": "function_call", "call_id": "toolu_1", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
    {"type": "custom_tool_call", "call_id": "toolu_2", "name": "apply_patch", "input": "*** Begin Patch"},
    {"type": "function_call_output", "call_id": "toolu_1", "output": "sunny"},
    {"type": "custom_tool_call_output", "call_id": "toolu_2", "output": [{"type": "input_text", "text": "done"}]},
]


def test_the_anthropic_upstream_gets_the_translated_request(openai_client, anthropic_upstream):
    openai_upstream_tools = [WEATHER, PATCH, {"type": "web_search"}]
    openai_client.responses.create(model="claude-x", instructions="Answer briefly.", input=HISTORY,
                                   tools=openai_upstream_tools, tool_choice="required", max_output_tokens=256,
                                   temperature=0.2, top_p=0.5, reasoning={"effort": "low"}, store=False)
    [sent] = anthropic_upstream.requests
    assert sent["path"] == "/v1/messages"
    assert sent["json"] == {
        "model": "claude-x", "max_tokens": 256, "temperature": 0.2, "top_p": 0.5,
        "system": "Answer briefly.\n\nUse metric units.",
        "messages": [
            {"role": "user", "content": "weather in Oslo?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "toolu_2", "name": "apply_patch", "input": {"input": "*** Begin Patch"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                                         {"type": "tool_result", "tool_use_id": "toolu_2", "content": "done"}]}],
        "tools": [{"name": "get_weather", "description": "Weather for a city", "input_schema": WEATHER["parameters"]},
                  {"name": "apply_patch", "description": "Apply a patch", "input_schema": {
                      "type": "object", "properties": {"input": {"type": "string", "description": "The tool's input"}},
                      "required": ["input"]}}],
        "tool_choice": {"type": "any"}}


def test_the_sdk_parses_translated_text_and_function_calls(openai_client, anthropic_upstream):
    anthropic_upstream.script = [{"text": "Let me check.", "tool_calls": [
        {"name": "get_weather", "arguments": {"city": "Oslo"}}, {"name": "apply_patch", "arguments": {"input": "*** P"}}]}]
    answer = openai_client.responses.create(model="m", input=USER, tools=[WEATHER, PATCH])
    assert re.fullmatch(OUR_RESPONSE_ID, answer.id) and answer.object == "response" and answer.status == "completed"
    message, call, custom = answer.output
    assert (message.type, message.role, answer.output_text) == ("message", "assistant", "Let me check.")
    assert (call.type, call.call_id, call.name, json.loads(call.arguments)) == (
        "function_call", "toolu_0", "get_weather", {"city": "Oslo"})
    assert (custom.type, custom.call_id, custom.name, custom.input) == ("custom_tool_call", "toolu_1", "apply_patch",
                                                                        "*** P")
    assert (answer.usage.input_tokens, answer.usage.output_tokens, answer.usage.total_tokens) == (11, 3, 14)
    assert answer.model == "m" and [t.type for t in answer.tools] == ["function", "custom"]


def test_translated_events_arrive_in_order_for_the_sdk(openai_client, anthropic_upstream):
    anthropic_upstream.script = [{"text": "Let me check.", "tool_calls": [
        {"name": "get_weather", "arguments": {"city": "Oslo"}}]}]
    with openai_client.responses.stream(model="m", input=USER, tools=[WEATHER]) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    deltas = kinds.count("response.output_text.delta")
    assert deltas >= 2 and kinds == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added", *["response.output_text.delta"] * deltas,
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert final.output_text == "Let me check." and final.output[1].call_id == "toolu_0"
    assert final.usage.total_tokens == 14 and anthropic_upstream.requests[0]["json"]["stream"] is True


def test_a_translated_failure_is_a_500_as_for_chat_completions(compat, anthropic_upstream):
    anthropic_upstream.script = [{"error": {"status": 400, "type": "invalid_request_error", "message": "too long"}}]
    response = post(compat, {"model": "m", "input": "hi"})
    error = response.get_json()["error"]
    assert (response.status_code, error["type"], error["param"], error["code"]) == (500, "server_error", None, None)
    assert error["message"].startswith("completion failed: anthropic provider error 400: ") and "too long" in error["message"]


@pytest.fixture
def raw_anthropic(httpserver, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "anthropic")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-upstream")
    monkeypatch.setenv("SHOAL_LLM_BASE_URL", httpserver.url_for(""))
    reset_settings()
    return httpserver


def test_a_translated_failure_mid_stream_ends_with_response_failed(compat, raw_anthropic):
    def event(kind, data):
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

    usage = {"input_tokens": 3, "output_tokens": 1}
    raw_anthropic.expect_request("/v1/messages").respond_with_response(Response(
        event("message_start", {"message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [],
                                            "model": "m", "stop_reason": None, "stop_sequence": None,
                                            "usage": usage}})
        + event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
        + event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "par"}})
        + event("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}}),
        content_type="text/event-stream"))
    response = post(compat, {"model": "m", "input": "hi", "stream": True})
    assert response.status_code == 200
    events = sse_events(response)
    assert [kind for kind, _ in events] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.failed"]
    assert all(kind == data["type"] for kind, data in events)
    failed = events[-1][1]
    assert failed["sequence_number"] == 5 and failed["response"]["status"] == "failed"
    assert failed["response"]["output"] == []  # the broken-off message never finished
    assert failed["response"]["error"]["code"] == "server_error"
    assert failed["response"]["error"]["message"].startswith("completion failed: anthropic provider error")
    assert "Overloaded" in failed["response"]["error"]["message"]


# -- (c) the mock model of `make run` --------------------------------------------------------------------
def test_the_mock_model_answers_plain_and_streamed(openai_client):
    answer = openai_client.responses.create(model="shoal-mock", input="hi there")
    assert answer.output_text == "Hello from shoal-mock. You said: hi there" and answer.model == "shoal-mock"
    with openai_client.responses.stream(model="shoal-mock", input="hi there") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert len(deltas) > 1 and "".join(deltas) == final.output_text == "Hello from shoal-mock. You said: hi there"


def test_the_endpoint_is_a_model_wire_whatever_x_orka_tools_says(compat):
    # No coordinator prompt, no platform tools, no goal-state re-prompts: the mock echoes the input.
    for headers in (AUTH, {**AUTH, "X-Orka-Tools": "disabled"}):
        body = post(compat, {"model": "shoal-mock", "input": "hi"}, headers).get_json()
        assert body["output"][0]["content"][0]["text"] == "Hello from shoal-mock. You said: hi"


def test_an_openai_compatible_server_gets_chat_completions(openai_client, scripted_llm, monkeypatch):
    """vLLM, Ollama and most OpenAI-compatible servers have no /responses: Codex still works with them."""
    from shared.config import reset_settings

    for key, value in {"SHOAL_LLM_PROVIDER": "openai-compatible", "SHOAL_LLM_BASE_URL": scripted_llm.url + "/v1",
                       "SHOAL_LLM_MODEL": "local-model", "OPENAI_API_KEY": "sk-local"}.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    scripted_llm.script = [{"tool_calls": [{"name": "exec_command", "arguments": {"cmd": "ls"}}]}]
    response = openai_client.responses.create(model="local-model", input="list the files", tools=[
        {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {
            "cmd": {"type": "string"}}, "required": ["cmd"]}}])
    [sent] = scripted_llm.requests
    assert sent["path"] == "/v1/chat/completions" and sent["json"]["model"] == "local-model"
    assert sent["json"]["messages"][-1] == {"role": "user", "content": "list the files"}
    [call] = response.output
    assert call.type == "function_call" and call.name == "exec_command" and json.loads(call.arguments) == {"cmd": "ls"}
