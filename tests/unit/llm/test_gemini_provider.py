"""The Gemini provider (issue 20): Google's `google-genai` SDK against a scripted server speaking Gemini's
REST wire — generateContent and streamGenerateContent (SSE) — text, function calls with their thought
signatures sent back, tool results, errors, and the configuration it needs."""

from __future__ import annotations

import base64

import pytest

from shared.llm.base import CallOptions, Message, ProviderError, ToolCall, ToolSpec
from shared.llm.registry import build_provider, clear_provider_cache
from tests.support.gemini_wire import ScriptedGemini, signature

TOOL = ToolSpec("get_weather", "Weather of a city", {"type": "object", "properties": {"city": {"type": "string"}},
                                                     "required": ["city"]})


@pytest.fixture
def gemini(monkeypatch):
    from shared.config import get_settings, reset_settings

    def make(url: str | None, **env: str):
        monkeypatch.setenv("GEMINI_API_KEY", "gm-key")
        monkeypatch.delenv("SHOAL_LLM_MODEL", raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        reset_settings()
        clear_provider_cache()
        return build_provider("gemini", name="default", model=None, settings=get_settings(), base_url=url)

    yield make
    clear_provider_cache()


def test_generate_content_with_the_api_key_header_system_and_sampling(gemini):
    with ScriptedGemini([{"text": "Hello from Gemini"}]) as server:
        provider = gemini(server.url)
        completion = provider.complete([Message(role="system", content="Be brief."), Message(role="user", content="hi")],
                                       max_tokens=64, temperature=0.2, options=CallOptions(stop=("END",), top_p=0.9))
        assert (completion.text, completion.stop_reason, completion.model) == ("Hello from Gemini", "end_turn",
                                                                                 "gemini-2.5-flash")
        assert (completion.usage.input_tokens, completion.usage.output_tokens) == (9, 5)
        [request] = server.requests
        assert request["path"] == "/v1/models/gemini-2.5-flash:generateContent"
        assert request["headers"]["X-Goog-Api-Key"] == "gm-key"
        body = request["json"]
        assert body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
        assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}], "role": "user"}
        assert body["generationConfig"] == {"maxOutputTokens": 64, "temperature": 0.2, "topP": 0.9,
                                            "stopSequences": ["END"]}
        assert "tools" not in body


def test_a_function_call_round_trip_returns_its_thought_signature(gemini):
    with ScriptedGemini([{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
                         {"text": "It is sunny in Oslo."}]) as server:
        provider = gemini(server.url, SHOAL_LLM_MODEL="gemini-3-pro-preview")
        question = [Message(role="user", content="Weather in Oslo?")]
        first = provider.complete(question, tools=[TOOL], options=CallOptions(tool_choice="tool",
                                                                               forced_tool="get_weather"))
        assert first.stop_reason == "tool_use" and first.text == ""
        [call] = first.tool_calls
        assert (call.id, call.name, call.arguments) == ("gcall_0", "get_weather", {"city": "Oslo"})
        second = provider.complete([*question, Message(role="assistant", tool_calls=[call]),
                                    Message(role="tool", content="sunny, 21 C", tool_call_id=call.id,
                                            name="get_weather")], tools=[TOOL])
        assert second.text == "It is sunny in Oslo."
        first_body, second_body = (r["json"] for r in server.requests)
        assert server.requests[0]["path"] == "/v1/models/gemini-3-pro-preview:generateContent"
        [tool] = first_body["tools"]
        [declaration] = tool["functionDeclarations"]
        # google-genai 3.3.0 writes this one field in its proto name; proto3 JSON parsers (Google's API)
        # accept the proto name and the lowerCamelCase one alike.
        schema = declaration.pop("parameters_json_schema", None) or declaration.pop("parametersJsonSchema")
        assert (declaration, schema) == ({"name": "get_weather", "description": "Weather of a city"}, TOOL.parameters)
        assert first_body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY",
                                                                      "allowedFunctionNames": ["get_weather"]}}
        assert second_body["contents"] == [
            {"role": "user", "parts": [{"text": "Weather in Oslo?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}},
                                         "thoughtSignature": signature(0)}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                             "response": {"result": "sunny, 21 C"}}}]}]
        assert base64.b64decode(signature(0)) == b"sig-0"


def test_stream_generate_content_yields_text_deltas_then_the_completion(gemini):
    with ScriptedGemini([{"text": "Streaming from Gemini."}]) as server:
        provider = gemini(server.url)
        events = list(provider.stream([Message(role="user", content="hi")]))
        assert [e.text for e in events if e.kind == "text_delta"] == ["Stream", "ing fr", "om Gem", "ini."]
        done = events[-1]
        assert done.kind == "done" and done.completion.text == "Streaming from Gemini."
        assert (done.completion.stop_reason, done.completion.usage.output_tokens) == ("end_turn", 5)
        [request] = server.requests
        assert request["path"] == "/v1/models/gemini-2.5-flash:streamGenerateContent"
        assert request["query"] == {"alt": "sse"}


def test_a_streamed_function_call(gemini):
    with ScriptedGemini([{"text": "Let me check.", "tool_calls": [{"name": "get_weather",
                                                                   "arguments": {"city": "Rome"}}]}]) as server:
        events = list(gemini(server.url).stream([Message(role="user", content="Rome?")], tools=[TOOL]))
        completion = events[-1].completion
        assert "".join(e.text for e in events if e.kind == "text_delta") == "Let me check."
        assert completion.stop_reason == "tool_use"
        assert [(c.name, c.arguments) for c in completion.tool_calls] == [("get_weather", {"city": "Rome"})]


@pytest.mark.parametrize("status,reason,retryable", [(429, "RESOURCE_EXHAUSTED", True),
                                                     (400, "INVALID_ARGUMENT", False)])
def test_api_errors_are_provider_errors_with_the_vendors_message(gemini, status, reason, retryable):
    message = "Resource has been exhausted (e.g. check quota)." if status == 429 else "Invalid JSON payload."
    failure = {"status": status, "reason": reason, "message": message}
    with ScriptedGemini([{"error": failure}]) as server, pytest.raises(ProviderError) as raised:
        gemini(server.url).complete([Message(role="user", content="hi")])
    assert str(raised.value) == f"gemini provider error {status}: {message}"
    assert (raised.value.status, raised.value.retryable) == (status, retryable)


def test_an_unreachable_endpoint_names_the_provider_and_url(gemini):
    from tests.support.servers import refusing_port

    with refusing_port() as port, pytest.raises(ProviderError) as raised:
        gemini(f"http://127.0.0.1:{port}").complete([Message(role="user", content="hi")])
    assert str(raised.value).startswith(f"gemini provider at http://127.0.0.1:{port} is unreachable: ")
    assert raised.value.retryable


def test_gemini_needs_its_api_key(gemini, monkeypatch):
    from shared.config import get_settings, reset_settings
    from shared.errors import Invalid

    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    reset_settings()
    clear_provider_cache()
    with pytest.raises(Invalid) as raised:
        build_provider("gemini", name="default", model=None, settings=get_settings())
    assert raised.value.message == "provider gemini is configured but GEMINI_API_KEY is not set"


def test_an_assistant_tool_call_without_a_signature_is_sent_without_one(gemini):
    with ScriptedGemini([{"text": "ok"}]) as server:
        gemini(server.url).complete([Message(role="user", content="q"),
                                     Message(role="assistant", tool_calls=[ToolCall("other", "get_weather", {})]),
                                     Message(role="tool", content="r", tool_call_id="other")], tools=[TOOL])
        contents = server.requests[0]["json"]["contents"]
        assert contents[1] == {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}}]}
        assert contents[2]["parts"][0]["functionResponse"]["name"] == "get_weather"


def test_vertex_gemini_calls_the_publisher_model_with_the_bearer_token(monkeypatch):
    from shared.config import get_settings, reset_settings

    for key, value in {"SHOAL_VERTEX_PROJECT": "acme-ml", "SHOAL_VERTEX_REGION": "europe-west4",
                       "SHOAL_VERTEX_ACCESS_TOKEN": "ya29.vertex", "SHOAL_LLM_MODEL": "gemini-2.5-pro"}.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    clear_provider_cache()
    with ScriptedGemini([{"text": "from vertex"}, {"text": "streamed from vertex"}], bearer="ya29.vertex") as server:
        provider = build_provider("vertex-gemini", name="default", model=None, settings=get_settings(),
                                  base_url=server.url)
        assert provider.complete([Message(role="user", content="hi")]).text == "from vertex"
        events = list(provider.stream([Message(role="user", content="hi")]))
        assert events[-1].completion.text == "streamed from vertex"
        # The SDK picks the Vertex API version (3.3.0: v1beta1).
        prefix = "/v1beta1/projects/acme-ml/locations/europe-west4/publishers/google/models/gemini-2.5-pro"
        assert [r["path"] for r in server.requests] == [f"{prefix}:generateContent", f"{prefix}:streamGenerateContent"]
        assert all(r["headers"]["Authorization"] == "Bearer ya29.vertex" for r in server.requests)
    clear_provider_cache()
