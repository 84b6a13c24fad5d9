"""The scripted server's OpenAI Responses wire (what Codex speaks), driven by the real openai SDK."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from tests.support.llm_wire import ScriptedLLM


def client(server) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=server.url + "/v1", max_retries=0)


def test_streamed_text_answer_in_the_order_the_api_sends_it():
    with ScriptedLLM([{"text": "hello there, friend"}]) as server:
        events = list(client(server).responses.create(model="gpt-test", input="say hi", stream=True))
    assert [e.type for e in events] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed"]
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "hello there, friend"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].response.status == "in_progress" and events[0].response.output == []
    done = events[-1].response
    assert done.status == "completed" and done.output_text == "hello there, friend" and done.model == "gpt-test"
    assert done.usage.input_tokens == 11 and done.usage.total_tokens == 11 + done.usage.output_tokens
    assert events[2].item.id == events[-2].item.id == done.output[0].id


def test_streamed_function_and_custom_tool_calls():
    script = [{"tool_calls": [{"name": "exec_command", "arguments": {"cmd": "printf hi > hello.txt"}},
                              {"name": "apply_patch", "input": "*** Begin Patch\n*** End Patch\n"}]}]
    with ScriptedLLM(script) as server:
        events = list(client(server).responses.create(
            model="gpt-test", stream=True, input=[{"role": "user", "content": [{"type": "input_text", "text": "go"}]}],
            tools=[{"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {}}}]))
    kinds = [e.type for e in events]
    assert kinds.count("response.output_item.added") == kinds.count("response.output_item.done") == 2
    assert "response.function_call_arguments.done" in kinds and "response.custom_tool_call_input.done" in kinds
    arguments = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(arguments) == {"cmd": "printf hi > hello.txt"}
    call, custom = events[-1].response.output
    assert (call.type, call.name, call.call_id) == ("function_call", "exec_command", "call_0")
    assert json.loads(call.arguments) == {"cmd": "printf hi > hello.txt"}
    assert (custom.type, custom.name, custom.call_id) == ("custom_tool_call", "apply_patch", "call_1")
    assert custom.input == "*** Begin Patch\n*** End Patch\n"


def test_the_sdk_stream_helper_accumulates_the_final_response():
    script = [{"text": "done", "tool_calls": [{"name": "write", "arguments": {"path": "a"}}]}]
    with ScriptedLLM(script) as server, client(server).responses.stream(model="gpt-test", input="x") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == "done" and [item.type for item in final.output] == ["message", "function_call"]


def test_unstreamed_answer_and_the_fallback_echo_of_the_last_user_text():
    with ScriptedLLM([{"text": "plain"}]) as server:
        first = client(server).responses.create(model="gpt-test", input="one")
        second = client(server).responses.create(model="gpt-test", input=[
            {"role": "user", "content": "earlier"}, {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "input_text", "text": "latest"}]}])
    assert first.output_text == "plain" and second.output_text == "scripted: latest"
    assert server.requests[0]["method"] == "POST" and server.requests[0]["path"] == "/v1/responses"


def test_scripted_error_is_the_sdk_error():
    error = {"status": 429, "type": "rate_limit_error", "message": "slow down", "code": "rate_limit_exceeded"}
    with ScriptedLLM([{"error": error}]) as server, pytest.raises(openai.RateLimitError) as exc:
        client(server).responses.create(model="gpt-test", input="x", stream=True)
    assert exc.value.code == "rate_limit_exceeded"


def test_tool_call_ids_are_unique_across_requests_on_every_wire():
    step = {"tool_calls": [{"name": "f", "arguments": {}}]}
    with ScriptedLLM([step] * 6) as server:
        oai, ant = client(server), anthropic.Anthropic(api_key="k", base_url=server.url, max_retries=0)
        ids = [oai.responses.create(model="m", input="x").output[0].call_id for _ in range(2)]
        ids += [oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
                .choices[0].message.tool_calls[0].id for _ in range(2)]
        ids += [ant.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}])
                .content[0].id for _ in range(2)]
    assert ids == ["call_0", "call_1", "call_2", "call_3", "toolu_4", "toolu_5"]
