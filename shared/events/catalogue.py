"""The CloudEvent catalogue: each `dev.shoal.*` type, its data model and an example.

`python -m shared.events.catalogue` writes `events/<type>.schema.json` and
`events/<type>.example.json`; a test keeps the files and this module in step.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Phase = Literal["Pending", "Running", "Finalizing", "Succeeded", "Failed", "Cancelled", "Scheduled"]


class TaskEventData(BaseModel):
    """Identifies the task an event is about; the task itself is read from the store."""

    model_config = ConfigDict(extra="forbid")
    namespace: str
    name: str
    type: Literal["container", "ai", "agent"]
    phase: Phase | None = None
    message: str | None = None


class TaskResultData(TaskEventData):
    size: int


@dataclass(frozen=True)
class EventType:
    type: str
    description: str
    model: type[BaseModel]
    example: dict[str, Any]


_TASK = {"namespace": "default", "name": "hello", "type": "ai"}

CATALOGUE: dict[str, EventType] = {e.type: e for e in (
    EventType("dev.shoal.task.created", "A task was stored and waits for dispatch.", TaskEventData,
              {**_TASK, "phase": "Pending"}),
    EventType("dev.shoal.task.started", "The executor started the task.", TaskEventData,
              {**_TASK, "phase": "Running"}),
    EventType("dev.shoal.task.finished", "The task reached a terminal phase.", TaskEventData,
              {**_TASK, "phase": "Succeeded", "message": "completed"}),
    EventType("dev.shoal.task.result.saved", "A worker stored the task's result.", TaskResultData,
              {**_TASK, "size": 42}),
    EventType("dev.shoal.task.plan.saved", "A worker saved the task's autonomous plan.", TaskEventData, _TASK),
    EventType("dev.shoal.task.deleted", "A task was deleted; executors stop its work.", TaskEventData, _TASK),
    EventType("dev.shoal.task.retried", "A task went back to Pending (a retry, a lost dispatch or the next "
              "autonomous iteration); the dispatcher starts it again.", TaskEventData,
              {**_TASK, "phase": "Pending", "message": "retry 1 of 3"}),
)}

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def envelope_schema(entry: EventType) -> dict[str, Any]:
    """JSON Schema of the whole structured-mode event, with the data model inlined."""
    data = entry.model.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://shoal.dev/events/{entry.type}.schema.json",
        "title": entry.type,
        "description": entry.description,
        "type": "object",
        "required": ["specversion", "id", "source", "type", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "minLength": 1},
            "source": {"type": "string", "minLength": 1},
            "type": {"const": entry.type},
            "subject": {"type": "string"},
            "time": {"type": "string"},
            "datacontenttype": {"const": "application/json"},
            "traceparent": {"type": "string"},
            "data": data,
        },
    }


def example_event(entry: EventType) -> dict[str, Any]:
    data = entry.model.model_validate(entry.example).model_dump(exclude_none=True)
    return {"specversion": "1.0", "id": "5f0c2b1e8a7d4c3b9e6f1a2b3c4d5e6f", "source": "/shoal/tasks",
            "type": entry.type, "subject": f"{data['namespace']}/{data['name']}",
            "time": "2026-11-26T12:00:00Z", "datacontenttype": "application/json", "data": data}


def rendered_files() -> dict[str, str]:
    files = {}
    for entry in CATALOGUE.values():
        files[f"{entry.type}.schema.json"] = json.dumps(envelope_schema(entry), indent=2) + "\n"
        files[f"{entry.type}.example.json"] = json.dumps(example_event(entry), indent=2) + "\n"
    return files


def data_for(type_: str, **fields: Any) -> dict[str, Any]:
    """Validated event data for a catalogued type (unknown types are a programming error)."""
    return CATALOGUE[type_].model.model_validate(fields).model_dump(exclude_none=True)


if __name__ == "__main__":
    EVENTS_DIR.mkdir(exist_ok=True)
    for name, text in rendered_files().items():
        (EVENTS_DIR / name).write_text(text)
    sys.stdout.write(f"wrote {len(CATALOGUE) * 2} files to {EVENTS_DIR}\n")
