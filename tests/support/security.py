"""Driving security tasks to the end the way the engine does: result upload, phases, task.finished."""

from __future__ import annotations

import json
from typing import Any

from shared.events.envelope import to_http
from tests.conftest import AUTH


def finish_task(internal, reactor, event_sink, name: str, result: Any, phase: str = "Succeeded") -> None:
    """Play the worker: Running, the result through the internal results route, the terminal phase;
    then hand the task events to the reactor (the function subscribed to dev.shoal.task.finished)."""
    from shared.tasks.lifecycle import transition

    seen = len(event_sink.events)
    transition("default", name, "Running")
    if result is not None:
        data = result if isinstance(result, str) else json.dumps(result)
        response = internal.post(f"/internal/v1/results/default/{name}", data=data.encode(),
                                 headers={**AUTH, "Content-Type": "application/octet-stream"})
        assert response.status_code == 204, response.get_data(as_text=True)
    transition("default", name, phase, message=f"{phase.lower()} by test")
    for event in event_sink.events[seen:]:
        if event.type == "dev.shoal.task.finished":
            headers, body = to_http(event)
            assert reactor.post("/", data=body, headers=headers).status_code == 200


def execute_queued_scan(github, event_sink, run_id: str) -> None:
    """Hand the run's dev.shoal.security.scan.queued event to the `github` function (its subscriber)."""
    [event] = [e for e in event_sink.of_type("dev.shoal.security.scan.queued") if e.data["scanRunID"] == run_id]
    headers, body = to_http(event)
    assert github.post("/", data=body, headers=headers).status_code == 200
