"""The Task resource (Orka's Task CRD shape): spec, status and the create request."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.models.phases import TERMINAL_PHASES, TRANSITIONS

__all__ = ["TASK_TYPES", "TERMINAL_PHASES", "TRANSITIONS", "PlanUpdate", "StatusReport", "TaskSpec", "TaskStatus"]

TaskType = Literal["container", "ai", "agent"]
TASK_TYPES: tuple[str, ...] = ("container", "ai", "agent")
class Ref(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    name: str


class SessionRef(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    name: str
    append: bool = True
    maxMessages: int = 50


class EnvVar(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    name: str
    value: str | None = None


class TaskSpec(BaseModel):
    """The fields Shoal reads; unknown CRD fields are kept as given."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    type: str | None = None
    prompt: str | None = None
    agentRef: Ref | None = None
    image: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    env: list[EnvVar] | None = None
    timeout: str | None = None
    priority: int = Field(default=500, ge=0, le=1000)
    retryPolicy: dict[str, Any] | None = None
    webhookURL: str | None = None
    sessionRef: SessionRef | None = None
    ai: dict[str, Any] | None = None
    agentRuntime: dict[str, Any] | None = None
    workspace: dict[str, Any] | None = None
    schedule: str | None = None
    suspend: bool | None = None
    execution: dict[str, Any] | None = None

    @field_validator("agentRef", mode="before")
    @classmethod
    def _ref_from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("env", mode="before")
    @classmethod
    def _env_from_mapping(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return [{"name": k, "value": None if v is None else str(v)} for k, v in value.items()]
        return value


class ResultRef(BaseModel):
    available: bool = False
    size: int | None = None


class TaskStatus(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    phase: str = "Pending"
    message: str | None = None
    startTime: str | None = None
    completionTime: str | None = None
    attempts: int = 0
    iteration: int = 0
    jobName: str | None = None
    resultRef: ResultRef = Field(default_factory=ResultRef)
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    childTasks: list[dict[str, Any]] = Field(default_factory=list)


class PlanUpdate(BaseModel):
    """The body workers POST to `/internal/v1/plans/{ns}/{task}`."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    summary: str = ""
    progress_pct: int = Field(default=0, ge=0, le=100)
    goal_complete: bool = False
    plan_document: str = ""


class StatusReport(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    phase: str
    message: str | None = None
