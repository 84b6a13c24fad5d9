"""The Responses wire's translation rules and its event stream's edge cases (contract tests cover the SDKs)."""

from __future__ import annotations

import json

import pytest

from shared.compat import responses_wire
from shared.compat.common import InvalidField, stream_error_renderer
from shared.compat.engine import Event, Outcome
from shared.errors import ShoalError
from shared.llm.base import CallOptions, Message, ToolCall, ToolSpec, Usage

WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": True}


def parse(**body):
    responses_wire.check(body)
    return responses_wire.parse(body)


def test_a_string_input_is_one_user_message_after_the_instructions():
    request = parse(model="m", input="hi", instructions="be brief", max_output_tokens=64.0, temperature=0.5, top_p=0.9)
    assert request.messages == [Message(role="system", content="be brief"), Message(role="user", content="hi")]
    assert (request.max_tokens, request.temperature, request.stream) == (64, 0.5, False)
    assert request.options == CallOptions(top_p=0.9)


def test_items_become_messages_and_one_assistant_turn_per_run_of_assistant_items():
    request = parse(input=[
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": "input_file", "file_id": "f"},
                                     {"type": "input_text", "text": "b"}]},
        {"type": "reasoning", "id": "rs", "summary": [], "encrypted_content": "x"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "thinking"},
                                                             {"type": "refusal", "refusal": "no"}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"x": 1}'},
        {"type": "function_call", "call_id": "c2", "name": "g"},
        {"type": "item_reference", "id": "msg_old"},
        {"type": "web_search_call", "id": "ws", "status": "completed"},
        {"type": "function_call_output", "call_id": "c1", "output": "one"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "two"}]},
        {"type": "message", "role": "assistant", "content": "after"},
        {"type": "function_call", "call_id": "c3", "name": "f", "arguments": "not json"},
    ])
    assert request.messages == [
        Message(role="system", content="sys"),
        Message(role="user", content="a\nb"),
        Message(role="assistant", content="thinking\nno", tool_calls=[
            ToolCall("c1", "f", {"x": 1}), ToolCall("c2", "g", {})]),
        Message(role="tool", content="one", tool_call_id="c1"),
        Message(role="tool", content="two", tool_call_id="c2"),
        Message(role="assistant", content="after", tool_calls=[ToolCall("c3", "f", {"_raw": "not json"})]),
    ]


def test_function_and_custom_tools_are_offered_and_built_in_ones_ignored():
    grammar = {"type": "custom", "name": "patch", "description": "Edit files",
               "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}}
    request = parse(input="hi", tools=[WEATHER, {"type": "custom", "name": "note"}, grammar, {"type": "web_search"},
                                       {"type": "mcp", "server_label": "x"}])
    schema = {"type": "object", "properties": {"input": {"type": "string", "description": "The tool's input"}},
              "required": ["input"]}
    assert request.tools == [ToolSpec("get_weather", "", {"type": "object"}), ToolSpec("note", "", schema),
                             ToolSpec("patch", "Edit files\n\nThe input must follow this lark grammar:\nstart: /.+/",
                                      schema)]


@pytest.mark.parametrize("choice,kind,forced", [
    ("auto", "auto", None), ("none", "none", None), ("required", "required", None),
    ({"type": "function", "name": "get_weather"}, "tool", "get_weather"),
    ({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_weather"}]},
     "required", None)])
def test_tool_choice_in_the_neutral_model(choice, kind, forced):
    options = parse(input="hi", tools=[WEATHER], tool_choice=choice).options
    assert (options.tool_choice, options.forced_tool) == (kind, forced)


def test_a_function_inside_a_namespace_passes_the_check_but_cannot_be_forced_when_translated():
    body = {"input": "hi", "tools": [{"type": "namespace", "name": "ns", "tools": [WEATHER]}],
            "tool_choice": {"type": "function", "name": "get_weather"}}
    responses_wire.check(body)  # the same-wire relay sends it on
    with pytest.raises(InvalidField) as exc:
        responses_wire.parse(body)
    assert exc.value.param == "tool_choice"


# -- rendering -------------------------------------------------------------------------------------------
def draft(**body):
    return responses_wire.Draft.of({"input": "hi", **body}, "model-x")


def outcome(text="", calls=(), stop="end_turn"):
    return Outcome(text, list(calls), stop, Usage(5, 7), "model-x")


def test_a_cut_off_answer_is_incomplete():
    doc = responses_wire.response(draft(), outcome("partial", stop="max_tokens"))
    assert (doc["status"], doc["incomplete_details"], doc["output"][0]["status"]) == (
        "incomplete", {"reason": "max_output_tokens"}, "incomplete")
    assert doc["usage"]["total_tokens"] == 12 and doc["completed_at"] is None


def test_a_call_without_an_id_gets_one():
    [item] = responses_wire.response(draft(), outcome(calls=[ToolCall("", "f", {})]))["output"]
    assert item["call_id"].startswith("call_") and item["arguments"] == "{}"


def frames(events, **body):
    return [(kind[7:], json.loads(data[6:])) for kind, data in
            (frame.strip().split("\n") for frame in responses_wire.frames(
                draft(**body), iter(events), error_body=stream_error_renderer("openai", "req-1")))]


def test_a_custom_tool_call_streams_its_input():
    events = frames([Event("tool_call", call=ToolCall("c1", "note", {"input": "text"})),
                     Event("done", outcome=outcome(calls=[ToolCall("c1", "note", {"input": "text"})],
                                                   stop="tool_use"))],
                    tools=[{"type": "custom", "name": "note"}])
    assert [kind for kind, _ in events] == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.custom_tool_call_input.delta", "response.custom_tool_call_input.done",
        "response.output_item.done", "response.completed"]
    item = events[-2][1]["item"]
    assert (item["type"], item["call_id"], item["input"]) == ("custom_tool_call", "c1", "text")
    assert events[-1][1]["response"]["output"] == [item]


def test_an_empty_answer_still_streams_one_empty_message_and_a_cut_one_ends_incomplete():
    events = frames([Event("done", outcome=outcome(stop="max_tokens"))])
    assert [kind for kind, _ in events][2:] == [
        "response.output_item.added", "response.content_part.added", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.incomplete"]
    response = events[-1][1]["response"]
    assert response["status"] == "incomplete" and response["output"][0]["content"][0]["text"] == ""


def failing(*events):
    yield from events
    raise ShoalError("completion failed: boom", status=500, code="upstream_error")


def test_a_failure_mid_stream_is_response_failed_with_the_finished_items():
    call = ToolCall("c1", "get_weather", {})
    events = frames(failing(Event("text", text="a"), Event("tool_call", call=call)), tools=[WEATHER])
    kind, failed = events[-1]
    assert kind == "response.failed" and failed["sequence_number"] == len(events) - 1
    response = failed["response"]
    assert response["error"] == {"code": "server_error", "message": "completion failed: boom"}
    assert [item["type"] for item in response["output"]] == ["message", "function_call"]


def test_a_stream_without_a_result_is_response_failed():
    kind, failed = frames([Event("text", text="a")])[-1]
    assert kind == "response.failed"  # an internal fault, worded as every 500 is (chat completions too)
    assert failed["response"]["error"]["message"] == "internal server error (request id req-1)"
