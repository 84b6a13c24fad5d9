"""A real HTTP event sink for tests: receives CloudEvents and validates them against `events/`."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import jsonschema
from werkzeug import Request, Response

from shared.events.envelope import Event, parse, to_http

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def structured(event: Event) -> dict:
    body = {"specversion": "1.0", "id": event.id, "source": event.source, "type": event.type,
            "datacontenttype": "application/json", "data": event.data}
    if event.subject:
        body["subject"] = event.subject
    if event.time:
        body["time"] = event.time
    body.update(event.extensions)
    return body


def validate_against_registry(event: Event) -> None:
    """Raise unless the event matches its schema file in events/."""
    schema_file = EVENTS_DIR / f"{event.type}.schema.json"
    assert schema_file.exists(), f"no schema for {event.type}"
    jsonschema.validate(structured(event), json.loads(schema_file.read_text()))


class EventSink:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.down = False  # answer 503, as a broker that is restarting does
        self._lock = threading.Lock()

    def handler(self, request: Request) -> Response:
        if self.down:
            return Response("broker unavailable", status=503)
        event = parse(request.headers, request.get_data())
        validate_against_registry(event)
        with self._lock:
            self.events.append(event)
        return Response(status=202)

    def of_type(self, type_: str) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e.type == type_]


def deliver(function, event: Event) -> None:
    """Deliver an event to an event function's test client like the broker: a 409 (the same event in
    progress on another replica) is retried; anything but 200 fails the test."""
    headers, body = to_http(event)
    for _ in range(200):
        status = function.post("/", data=body, headers=headers).status_code
        if status != 409:
            assert status == 200
            return
        time.sleep(0.02)
    raise AssertionError("event stayed in progress")
