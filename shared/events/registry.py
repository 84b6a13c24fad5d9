"""The registry of event types: each `dev.shoal.*` type, its data model and an example.

`python -m shared.events.registry` writes `events/<type>.schema.json` and
`events/<type>.example.json`; a test keeps the files and this module in step.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.models.base import Model

Phase = Literal["Pending", "Running", "Finalizing", "Succeeded", "Failed", "Cancelled", "Scheduled"]


class TaskEventData(Model):
    """Identifies the task an event is about; the task itself is read from the store."""

    model_config = ConfigDict(extra="forbid")
    namespace: str
    name: str
    type: Literal["container", "ai", "agent"]
    phase: Phase | None = None
    message: str | None = None


class TaskResultData(TaskEventData):
    size: int


class InvestigationRequestedData(Model):
    """An incident session waits for the investigator (the session itself is read from the store)."""

    model_config = ConfigDict(extra="forbid")
    namespace: str          # the investigated resource's namespace
    name: str               # the session id
    incident_id: str


class InvestigationAuditData(Model):
    """Audit of a finished investigation with its LLM token totals (Kubernaut's aiagent.response.complete)."""

    model_config = ConfigDict(extra="forbid")
    namespace: str
    name: str               # the session id, or the analysis id for the operator facade
    facade: Literal["kubernaut", "operator"]
    status: Literal["completed", "failed", "cancelled"]
    incident_id: str | None = None
    remediation_id: str | None = None
    total_prompt_tokens: int
    total_completion_tokens: int
    llm_calls: int = 0
    tool_calls: int = 0
    model: str | None = None


class MemoryProposalEventData(Model):
    """Identifies a memory proposal (`name` is its id); the proposal is read from the store."""

    model_config = ConfigDict(extra="forbid")
    namespace: str
    name: str
    type: str
    status: Literal["pending", "accepted", "rejected", "applied", "archived"]
    reviewer: str | None = None
    memoryId: str | None = None


class ChatTurnData(Model):
    """A chat turn ended; `name` is the session id (the session itself is read from the store)."""

    model_config = ConfigDict(extra="forbid")
    namespace: str
    name: str
    status: Literal["completed", "failed", "cancelled", "timeout"]
    provider: str
    model: str
    usage: dict[str, int]  # inputTokens, outputTokens, llmCalls (a flat map: schemas stay $ref-free)
    tasksCreated: list[str] = []
    durationSeconds: float
class GitHubObject(Model):
    """A GitHub object inside a payload (repository, issue, pull request, label): kept whole."""

    model_config = ConfigDict(extra="allow")


class GitHubNumbered(GitHubObject):
    number: int


class GitHubEventData(Model):
    """A GitHub webhook payload exactly as GitHub delivered it (verified by HMAC first)."""

    model_config = ConfigDict(extra="allow")
    action: str
    repository: GitHubObject
    sender: GitHubObject | None = None


class GitHubIssueLabeledData(GitHubEventData):
    issue: GitHubNumbered
    label: GitHubObject


class GitHubPullRequestData(GitHubEventData):
    number: int
    pull_request: GitHubNumbered


class GitHubPullRequestLabeledData(GitHubPullRequestData):
    label: GitHubObject


class MonitorRunData(Model):
    """Identifies a repository-monitor run; the run itself is read from the store."""

    model_config = ConfigDict(extra="forbid")
    namespace: str
    name: str  # the monitor
    runID: str
    trigger: Literal["manual", "webhook", "schedule"]


class SecurityScanQueuedData(Model):
    """A security scan run was queued; the `github` function plans its slices and creates the tasks."""

    model_config = ConfigDict(extra="forbid")
    namespace: str
    name: str  # the RepositoryScan
    scanRunID: str
    trigger: Literal["manual", "schedule"]


class SecurityScanData(Model):
    """A security scan run finished; the run, its findings and dropped output are read from the store."""

    model_config = ConfigDict(extra="forbid")
    namespace: str
    name: str  # the RepositoryScan
    scanRunID: str
    phase: Literal["succeeded", "failed"]
    findings: int = 0
    dropped: int = 0


@dataclass(frozen=True)
class EventType:
    type: str
    description: str
    model: type[BaseModel]
    example: dict[str, Any]
    # Examples whose data is not a task name their own subject and source.
    example_subject: str | None = None
    example_source: str | None = None


_TASK = {"namespace": "default", "name": "hello", "type": "ai"}
_PROPOSAL = {"namespace": "default", "name": "mprop-7c9e6679-7425-40de-944b-e07fc1f90ae7", "type": "memory"}
_GH = {"repository": {"full_name": "Codertocat/Hello-World", "html_url": "https://github.com/Codertocat/Hello-World",
                      "clone_url": "https://github.com/Codertocat/Hello-World.git"},
       "sender": {"login": "Codertocat"}}
_PR = {"number": 2, "title": "Update the README with new information.", "base": {"ref": "master"},
       "head": {"sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "ref": "changes"}}


def _github(name: str, model: type[BaseModel], example: dict[str, Any], subject: str) -> EventType:
    """`com.github.<event>.<action>`: emitted by the webhooks function, id = X-GitHub-Delivery."""
    return EventType(f"com.github.{name}", f"GitHub delivered `{name}`; data is the payload as delivered.",
                     model, example, subject, "https://github.com/Codertocat/Hello-World")


EVENT_TYPES: dict[str, EventType] = {e.type: e for e in (
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
    EventType("dev.shoal.investigation.requested", "An incident session was created; the investigator runs it.",
              InvestigationRequestedData, {"namespace": "shop", "name": "550e8400-e29b-41d4-a716-446655440000",
                                           "incident_id": "inc-1"}),
    EventType("aiagent.response.complete", "An investigation finished (audit, with LLM token totals).",
              InvestigationAuditData, {"namespace": "shop", "name": "550e8400-e29b-41d4-a716-446655440000",
                                       "facade": "kubernaut", "status": "completed", "incident_id": "inc-1",
                                       "remediation_id": "rem-1", "total_prompt_tokens": 1200,
                                       "total_completion_tokens": 300, "llm_calls": 3, "tool_calls": 4,
                                       "model": "gpt-4o-mini"}),
    EventType("dev.shoal.memory.proposed", "A memory proposal was submitted for review.",
              MemoryProposalEventData, {**_PROPOSAL, "status": "pending"}),
    EventType("dev.shoal.memory.proposal.reviewed", "A memory proposal was accepted or rejected.",
              MemoryProposalEventData, {**_PROPOSAL, "status": "accepted", "reviewer": "alice"}),
    EventType("dev.shoal.memory.applied", "An accepted memory proposal became a durable memory.",
              MemoryProposalEventData, {**_PROPOSAL, "status": "applied",
                                        "memoryId": "mem-3f2b8c1e-2a4d-5b6c-8d7e-9f0a1b2c3d4e"}),
    EventType("dev.shoal.chat.turn.completed", "A chat turn ended (completed, failed, cancelled or timed out).",
              ChatTurnData, {"namespace": "default", "name": "chat-session-1a2b3c4d", "status": "completed",
                             "provider": "openai", "model": "gpt-4o-mini",
                             "usage": {"inputTokens": 4200, "outputTokens": 1800, "llmCalls": 3},
                             "tasksCreated": ["chat-chat-session-1a2b3c4d-5e6f7a8b-1"], "durationSeconds": 12.5}),
    _github("issues.labeled", GitHubIssueLabeledData, {
        **_GH, "action": "labeled", "label": {"name": "agent:implement"},
        "issue": {"number": 1, "title": "Spelling error in the README file",
                  "body": "It looks like you accidentally spelled 'commit' with two 't's."}}, "issues/1"),
    _github("pull_request.labeled", GitHubPullRequestLabeledData,
            {**_GH, "action": "labeled", "number": 2, "pull_request": _PR, "label": {"name": "agent:review"}},
            "pull/2"),
    *(_github(f"pull_request.{action}", GitHubPullRequestData,
              {**_GH, "action": action, "number": 2, "pull_request": _PR}, "pull/2")
      for action in ("opened", "synchronize", "reopened", "ready_for_review")),
    EventType("dev.shoal.monitor.run.queued", "A repository-monitor run was queued and waits for execution.",
              MonitorRunData, {"namespace": "default", "name": "example-app", "runID": "monrun-1795698670475000000",
                               "trigger": "manual"}, "default/example-app"),
    EventType("dev.shoal.task.retried", "A task went back to Pending (a retry, a lost dispatch or the next "
              "autonomous iteration), or a delegated child waiting for a child slot may start; the "
              "dispatcher starts it again.", TaskEventData,
              {**_TASK, "phase": "Pending", "message": "retry 1 of 3"}),
    EventType("dev.shoal.security.scan.queued", "A repository security scan run was queued and waits for "
              "execution (slice planning and one task per slice).", SecurityScanQueuedData,
              {"namespace": "default", "name": "example-repo", "scanRunID": "scan_1795698670475000000",
               "trigger": "manual"}, "default/example-repo"),
    EventType("dev.shoal.security.scan.finished", "A repository security scan run finished (every review slice "
              "task reported); its findings are stored.", SecurityScanData,
              {"namespace": "default", "name": "example-repo", "scanRunID": "scan_1795698670475000000",
               "phase": "succeeded", "findings": 3, "dropped": 1}, "default/example-repo"),
)}

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def envelope_schema(entry: EventType) -> dict[str, Any]:
    """JSON Schema of the whole structured-mode event, with the data model inlined."""
    data = entry.model.model_json_schema()
    # Nested models put `$defs` in the data schema while their `$ref`s point at the document root.
    defs = data.pop("$defs", None)
    return {**({"$defs": defs} if defs else {}),
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
    subject = entry.example_subject or f"{data['namespace']}/{data['name']}"
    return {"specversion": "1.0", "id": "5f0c2b1e8a7d4c3b9e6f1a2b3c4d5e6f",
            "source": entry.example_source or "/shoal/tasks", "type": entry.type, "subject": subject,
            "time": "2026-11-26T12:00:00Z", "datacontenttype": "application/json", "data": data}


def rendered_files() -> dict[str, str]:
    files = {}
    for entry in EVENT_TYPES.values():
        files[f"{entry.type}.schema.json"] = json.dumps(envelope_schema(entry), indent=2) + "\n"
        files[f"{entry.type}.example.json"] = json.dumps(example_event(entry), indent=2) + "\n"
    return files


def data_for(type_: str, **fields: Any) -> dict[str, Any]:
    """Validated event data for a registered type (unknown types are a programming error)."""
    return EVENT_TYPES[type_].model.model_validate(fields).model_dump(exclude_none=True)


if __name__ == "__main__":
    EVENTS_DIR.mkdir(exist_ok=True)
    for name, text in rendered_files().items():
        (EVENTS_DIR / name).write_text(text)
    sys.stdout.write(f"wrote {len(EVENT_TYPES) * 2} files to {EVENTS_DIR}\n")
