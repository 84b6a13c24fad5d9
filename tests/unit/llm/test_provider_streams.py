"""Streaming through the Bedrock and Vertex Anthropic providers (issue 20): the real `anthropic` SDK
clients against a scripted server on each vendor's own stream wire — Bedrock's
InvokeModelWithResponseStream in AWS event-stream binary framing (decoded by botocore's
EventStreamBuffer, CRCs checked), Vertex's streamRawPredict as Anthropic SSE."""

from __future__ import annotations

import pytest
from anthropic._constants import ANTHROPIC_API_VERSION

from shared.llm.base import Message, ProviderError, ToolSpec
from shared.llm.registry import build_provider, clear_provider_cache
from tests.support.llm_wire import ScriptedLLM

BEDROCK_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
VERTEX_MODEL = "claude-sonnet-4-5@20250929"
TOOL = ToolSpec("get_weather", "Weather of a city", {"type": "object", "properties": {"city": {"type": "string"}}})


@pytest.fixture
def build(monkeypatch):
    from shared.config import get_settings, reset_settings

    def make(kind: str, url: str, **env: str):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        reset_settings()
        clear_provider_cache()
        return build_provider(kind, name="default", model=None, settings=get_settings(), base_url=url)

    yield make
    clear_provider_cache()


def bedrock(build, server):
    return build("bedrock", server.url, SHOAL_LLM_MODEL=BEDROCK_MODEL, AWS_REGION="eu-west-1",
                 AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret")


def vertex(build, server):
    return build("vertex-anthropic", server.url + "/v1", SHOAL_LLM_MODEL=VERTEX_MODEL, SHOAL_VERTEX_PROJECT="acme-ml",
                 SHOAL_VERTEX_REGION="europe-west1", SHOAL_VERTEX_ACCESS_TOKEN="ya29.token")


def collect(provider, **kwargs):
    events = list(provider.stream([Message(role="user", content="hi")], **kwargs))
    deltas = [e.text for e in events if e.kind == "text_delta"]
    assert [e.kind for e in events][-1] == "done" and events[-1].completion is not None
    return deltas, events[-1].completion


def test_bedrock_streams_text_through_the_event_stream_framing(build):
    with ScriptedLLM([{"text": "hello from a bedrock stream"}]) as server:
        deltas, completion = collect(bedrock(build, server))
        assert deltas == ["hello f", "rom a b", "edrock ", "stream"]  # the server's 7-character pieces
        # The model is the one the stream's message_start names (Bedrock's body carries none).
        assert (completion.text, completion.stop_reason, completion.model) == (
            "hello from a bedrock stream", "end_turn", "scripted-model")
        assert (completion.usage.input_tokens, completion.usage.output_tokens) == (11, 6)
        [request] = server.requests
        assert request["path"] == f"/model/{BEDROCK_MODEL}/invoke-with-response-stream"
        assert request["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/eu-west-1/bedrock/aws4_request" in request["headers"]["Authorization"]
        assert request["json"]["anthropic_version"] == ANTHROPIC_API_VERSION  # the SDK sets it for Bedrock
        assert "model" not in request["json"] and "stream" not in request["json"]  # both are in the path


def test_bedrock_streams_a_tool_call(build):
    with ScriptedLLM([{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}]) as server:
        deltas, completion = collect(bedrock(build, server), tools=[TOOL])
        assert deltas == [] and completion.stop_reason == "tool_use"
        [call] = completion.tool_calls
        assert (call.id, call.name, call.arguments) == ("toolu_0", "get_weather", {"city": "Oslo"})
        assert server.requests[0]["json"]["tools"][0]["name"] == "get_weather"


def test_a_bedrock_exception_frame_mid_stream_is_a_provider_error(build):
    throttled = {"type": "throttlingException", "message": "Too many requests, please wait before trying again."}
    with ScriptedLLM([{"stream_error": throttled}]) as server, pytest.raises(ProviderError) as raised:
        collect(bedrock(build, server))
    assert str(raised.value) == ("bedrock provider error: throttlingException: Too many requests, please wait "
                                 "before trying again.")
    assert raised.value.retryable is True


def test_a_bedrock_http_error_before_the_stream_is_a_provider_error(build):
    denied = {"status": 403, "type": "AccessDeniedException", "message": "You don't have access to the model"}
    with ScriptedLLM([{"error": denied}]) as server, pytest.raises(ProviderError) as raised:
        collect(bedrock(build, server))
    assert str(raised.value).startswith("bedrock provider error 403: ")  # its own kind, not "anthropic"
    assert "You don't have access to the model" in str(raised.value)
    assert raised.value.status == 403 and raised.value.retryable is False


def test_vertex_streams_text_over_stream_raw_predict(build):
    with ScriptedLLM([{"text": "hello from a vertex stream"}]) as server:
        deltas, completion = collect(vertex(build, server))
        assert "".join(deltas) == "hello from a vertex stream" and len(deltas) == 4
        assert (completion.text, completion.stop_reason) == ("hello from a vertex stream", "end_turn")
        [request] = server.requests
        assert request["path"] == ("/v1/projects/acme-ml/locations/europe-west1/publishers/anthropic/models/"
                                   f"{VERTEX_MODEL}:streamRawPredict")
        assert request["headers"]["Authorization"] == "Bearer ya29.token"
        # The SDK's own Vertex version string (anthropic._constants), and the stream flag in the body.
        assert request["json"]["anthropic_version"] == ANTHROPIC_API_VERSION and request["json"]["stream"] is True
        assert "model" not in request["json"]


def test_vertex_streams_a_tool_call(build):
    with ScriptedLLM([{"text": "Checking.", "tool_calls": [{"name": "get_weather",
                                                            "arguments": {"city": "Rome"}}]}]) as server:
        deltas, completion = collect(vertex(build, server), tools=[TOOL])
        assert "".join(deltas) == "Checking." and completion.stop_reason == "tool_use"
        assert [(c.name, c.arguments) for c in completion.tool_calls] == [("get_weather", {"city": "Rome"})]


def test_a_vertex_error_event_mid_stream_is_a_provider_error(build):
    overloaded = {"type": "overloaded_error", "message": "Overloaded"}
    with ScriptedLLM([{"stream_error": overloaded}]) as server, pytest.raises(ProviderError) as raised:
        collect(vertex(build, server))
    assert str(raised.value) == "vertex-anthropic provider error: overloaded_error: Overloaded"
    assert raised.value.retryable is True


def test_an_unreachable_bedrock_endpoint_is_named_with_its_kind_and_url(build):
    from tests.support.servers import refusing_port

    with refusing_port() as port:
        provider = build("bedrock", f"http://127.0.0.1:{port}", SHOAL_LLM_MODEL=BEDROCK_MODEL,
                         AWS_REGION="eu-west-1", AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                         SHOAL_LLM_TIMEOUT_SECONDS="2")
        with pytest.raises(ProviderError) as raised:
            collect(provider)
    message = str(raised.value)
    assert message.startswith(f"bedrock provider at http://127.0.0.1:{port} is unreachable: "), message
    assert "refused" in message.lower() and raised.value.retryable
