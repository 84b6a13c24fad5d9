"""The providers drive the real openai and anthropic SDKs against the scripted wire server."""

from __future__ import annotations

import pytest

from shared.llm.anthropic_provider import AnthropicProvider
from shared.llm.base import Message, ProviderError, ToolSpec
from shared.llm.openai_provider import OpenAIProvider
from tests.support.llm_wire import ScriptedLLM

WEATHER = ToolSpec("get_weather", "Weather for a city", {"type": "object", "properties": {"city": {"type": "string"}},
                                                         "required": ["city"]})


def openai_provider(server):
    return OpenAIProvider("default", "gpt-test", api_key="sk-test", base_url=server.url + "/v1")


def anthropic_provider(server):
    return AnthropicProvider("default", "claude-test", api_key="sk-ant-test", base_url=server.url)


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
def test_text_answer_with_usage(make):
    with ScriptedLLM([{"text": "hi there"}]) as server:
        completion = make(server).complete([Message(role="system", content="be brief"),
                                            Message(role="user", content="say hi")])
    assert completion.text == "hi there" and completion.stop_reason == "end_turn"
    assert completion.tool_calls == [] and completion.usage.input_tokens == 11


def _openai_tool_message(call_id):
    return {"role": "tool", "tool_call_id": call_id, "content": "-5C"}


def _anthropic_tool_message(call_id):
    return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": "-5C"}]}


@pytest.mark.parametrize("make,tool_message", [(openai_provider, _openai_tool_message),
                                               (anthropic_provider, _anthropic_tool_message)])
def test_tool_call_round_trip_sends_the_tool_result_back(make, tool_message):
    script = [{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}, {"text": "cold"}]
    with ScriptedLLM(script) as server:
        provider = make(server)
        first = provider.complete([Message(role="user", content="weather?")], tools=[WEATHER])
        assert first.stop_reason == "tool_use"
        [call] = first.tool_calls
        assert (call.name, call.arguments) == ("get_weather", {"city": "Oslo"})
        second = provider.complete([Message(role="user", content="weather?"),
                                    Message(role="assistant", content="", tool_calls=first.tool_calls),
                                    Message(role="tool", content="-5C", tool_call_id=call.id)], tools=[WEATHER])
        assert second.text == "cold"
        assert server.requests[-1]["json"]["messages"][-1] == tool_message(call.id)


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
def test_rate_limit_is_retried_by_the_sdk_then_succeeds(make):
    script = [{"error": {"status": 429, "type": "rate_limit_error", "message": "slow down"}}, {"text": "ok"}]
    with ScriptedLLM(script) as server:
        assert make(server).complete([Message(role="user", content="x")]).text == "ok"
        assert len(server.requests) == 2


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
def test_a_client_error_is_a_provider_error_not_a_fallback(make):
    script = [{"error": {"status": 400, "type": "invalid_request_error", "message": "bad model"}}]
    with ScriptedLLM(script) as server, pytest.raises(ProviderError) as exc:
        make(server).complete([Message(role="user", content="x")])
    assert exc.value.status == 400 and "bad model" in str(exc.value)


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
def test_streaming_yields_text_deltas_then_the_completion(make):
    with ScriptedLLM([{"text": "streamed answer here"}]) as server:
        events = list(make(server).stream([Message(role="user", content="x")]))
    deltas = [e.text for e in events if e.kind == "text_delta"]
    assert len(deltas) > 1 and "".join(deltas) == "streamed answer here"
    assert events[-1].kind == "done" and events[-1].completion.text == "streamed answer here"


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
def test_streaming_tool_calls_are_assembled_from_fragments(make):
    script = [{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "celsius"}}]}]
    with ScriptedLLM(script) as server:
        events = list(make(server).stream([Message(role="user", content="x")], tools=[WEATHER]))
    completion = events[-1].completion
    assert completion.stop_reason == "tool_use"
    assert [(c.name, c.arguments) for c in completion.tool_calls] == [
        ("get_weather", {"city": "Oslo", "unit": "celsius"})]


def test_mock_streams_word_by_word():
    from shared.llm.mock import MockProvider

    events = list(MockProvider().stream([Message(role="user", content="say hi")]))
    assert "".join(e.text for e in events[:-1]) == "Hello from shoal-mock. You said: say hi"
    assert len(events) > 3 and events[-1].kind == "done"


def test_a_mock_script_step_can_fail_the_call_as_a_provider_would():
    from shared.llm.base import ProviderError
    from shared.llm.mock import MockProvider

    provider = MockProvider(script=[{"error": "model unavailable"}, {"text": "never"}])
    with pytest.raises(ProviderError, match="^model unavailable$"):
        list(provider.stream([Message(role="user", content="hi")]))
