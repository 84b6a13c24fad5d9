"""The request and response models of the worker API (`/internal/v1/**`, Orka dialect).

The routes validate with these (`ctx.body()` / `ctx.query()`) and /openapi.json documents them: a
field that does not fit is a 400 naming it, an unknown field a 400 (`extra: unknown field`), never
dropped. Checks Orka words its own way keep their messages ("fromTask is required").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from shared.errors import Invalid
from shared.http.common_models import QueryModel, StrictModel
from shared.models.base import Model
from shared.tasks.leases import parse_attempt
from shared.tasks.models import TaskCreate

# ---- requests ----


class PlanUpdate(StrictModel):
    """`POST /internal/v1/plans/{ns}/{task}` (snake_case, as Orka's workers send it)."""

    summary: str = ""
    progress_pct: int = Field(default=0, ge=0, le=100)
    goal_complete: bool = False
    plan_document: str = ""


class StatusReport(StrictModel):
    phase: str = Field(description="Running, Succeeded or Failed")
    message: str | None = None


MESSAGE_FIELDS = ("fromTask", "toTask", "parentTask", "content")


class MessageSend(StrictModel):
    """An inter-agent message; `toTask: "*"` broadcasts to the parent's group."""

    fromTask: str
    toTask: str
    parentTask: str
    content: str

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in MESSAGE_FIELDS:
                if data.get(key) in (None, ""):
                    raise Invalid(f"{key} is required")
        return data


class TranscriptMessage(Model):
    """One transcript message: `role` plus whatever the runtime records (content, name, toolCalls, …)."""

    model_config = ConfigDict(extra="allow")
    role: str


class TranscriptAppend(StrictModel):
    messages: list[TranscriptMessage]
    taskName: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if isinstance(data, dict):
            messages = data.get("messages")
            if not isinstance(messages, list) or not all(
                    isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
                raise Invalid("messages must be a list of objects with a role")
            if "taskName" in data and data["taskName"] is not None and not isinstance(data["taskName"], str):
                raise Invalid("taskName must be a string")
        return data


WORKER_EVENTS = ("message", "tool_call", "tool_result", "delta", "log")


class WorkerEvent(StrictModel):
    event: Literal["message", "tool_call", "tool_result", "delta", "log"]
    data: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and (data.get("event") not in WORKER_EVENTS
                                       or not isinstance(data.get("data", {}), dict)):
            raise Invalid("event must be one of message, tool_call, tool_result, delta, log with object data")
        return data


def _attempt(value: Any) -> Any:
    return parse_attempt(value, field="attempt")


class Heartbeat(StrictModel):
    attempt: Annotated[int | None, BeforeValidator(_attempt)] = Field(
        None, description="The attempt whose lease is renewed (else the X-Shoal-Task-Attempt header)")


class ChildTaskCreate(TaskCreate):
    """A coordinator's child task: a task create body plus the parent's name."""

    parentTask: str = Field(description="The coordinating task; the child gets its labels and depth")

    @model_validator(mode="before")
    @classmethod
    def _parent(cls, data: Any) -> Any:
        if isinstance(data, dict) and (not data.get("parentTask") or not isinstance(data["parentTask"], str)):
            raise Invalid("parentTask is required")
        return data


class ToolCall(StrictModel):
    arguments: dict[str, Any] | None = Field(None, description="The tool's arguments")
    taskName: str = Field("", description="The calling task (required for worker tools)")

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if data.get("arguments") is not None and not isinstance(data["arguments"], dict):
                raise Invalid("arguments must be an object")
            if data.get("taskName") is not None and not isinstance(data["taskName"], str):
                raise Invalid("taskName must be a string")
        return data


class MessagesQuery(QueryModel):
    parentTask: str = Field("", description="The coordinator whose group the messages belong to (required)")
    markRead: str | None = Field(None, description="`true` (default) marks the returned messages read")


class TranscriptQuery(QueryModel):
    taskName: str | None = Field(None, description="The reading task: it must reference this session")


# ---- responses ----

class Message(Model):
    id: int
    namespace: str
    fromTask: str
    toTask: str
    parentTask: str
    content: str
    read: bool
    createdAt: str



class TaskState(Model):
    name: str
    namespace: str
    phase: str | None
    message: str | None
    labels: dict[str, str]
    result: str | None = Field(None, description="When the result is available")


class WorkerTaskSpec(Model):
    spec: dict[str, Any]
    agent: dict[str, Any] | None = Field(description="The Agent resolved for this attempt")
    attempt: int


class ModelToken(Model):
    token: str
    expiresAt: str
    anthropicBaseURL: str
    openaiBaseURL: str


class CancelOutcome(Model):
    name: str
    cancelled: bool
    phase: str | None


class ToolResult(Model):
    result: Any = Field(description="The tool's output (a tool-level failure is `{success: false, …}`)")


class WorkspaceInputPath(Model):
    path: str


class WorkspaceInputs(Model):
    files: list[WorkspaceInputPath]
