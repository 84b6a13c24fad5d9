"""CloudEvents in both HTTP modes, and the event-type files kept in step with the code."""

from __future__ import annotations

import json

import pytest

from shared.errors import Invalid
from shared.events.envelope import build, parse, to_http
from shared.events.registry import EVENT_TYPES, EVENTS_DIR, example_event, rendered_files
from tests.support.events import validate_against_registry


def test_binary_round_trip_keeps_attributes_data_and_traceparent():
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    event = build("dev.shoal.task.created", {"namespace": "n", "name": "t", "type": "ai"}, subject="n/t",
                  source="/shoal/tasks", traceparent=tp)
    headers, body = to_http(event)
    assert headers["ce-type"] == "dev.shoal.task.created" and headers["content-type"] == "application/json"
    parsed = parse(headers, body)
    assert (parsed.type, parsed.source, parsed.id, parsed.subject) == (event.type, event.source, event.id, "n/t")
    assert parsed.data == event.data and parsed.extensions["traceparent"] == tp


def test_structured_mode_parses_too():
    event = build("dev.shoal.task.deleted", {"namespace": "n", "name": "t", "type": "ai"}, source="/x")
    headers, body = to_http(event, structured=True)
    assert headers["content-type"].startswith("application/cloudevents+json")
    assert parse(headers, body).id == event.id


def test_binary_request_missing_attributes_names_them():
    with pytest.raises(Invalid) as exc:
        parse({"ce-id": "1", "ce-type": "t", "content-type": "application/json"}, b"{}")
    assert exc.value.message == "not a CloudEvent: missing ce-source, ce-specversion"


def test_plain_json_post_is_not_an_event():
    with pytest.raises(Invalid):
        parse({"content-type": "application/json"}, b'{"hello": 1}')


def test_bad_structured_json_is_invalid():
    with pytest.raises(Invalid):
        parse({"content-type": "application/cloudevents+json"}, b"{oops")


def test_uppercase_extension_names_are_refused():
    event = build("dev.shoal.task.created", {}, source="/x")
    from dataclasses import replace

    with pytest.raises(ValueError):
        to_http(replace(event, extensions={"TraceParent": "x"}))


def test_events_directory_matches_the_registry():
    on_disk = {p.name: p.read_text() for p in EVENTS_DIR.glob("*.json")}
    assert on_disk == rendered_files(), "run `make events` after changing shared/events/registry.py"


@pytest.mark.parametrize("type_", sorted(EVENT_TYPES))
def test_every_example_validates_against_its_schema(type_):
    example = json.loads((EVENTS_DIR / f"{type_}.example.json").read_text())
    assert example == example_event(EVENT_TYPES[type_])
    headers, body = {"content-type": "application/cloudevents+json"}, json.dumps(example).encode()
    validate_against_registry(parse(headers, body))


def test_schema_rejects_data_with_unknown_fields():
    import jsonschema

    schema = json.loads((EVENTS_DIR / "dev.shoal.task.created.schema.json").read_text())
    bad = example_event(EVENT_TYPES["dev.shoal.task.created"])
    bad["data"]["surprise"] = True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
