"""The request and response models of `/api/v1/tasks/**` (Orka dialect).

`TaskCreate` is the one model of a create body: `shared.tasks.validation.build_task` validates every
create with it (REST, chat and compat tools, triggers, child tasks) and /openapi.json documents it.
Unknown fields are a 400 naming them, at the top level (the flat form's fields are spec fields) and
in `spec`, as a Kubernetes strict server-side apply would; nothing is stored or dropped silently.
Orka's own checks keep their messages and order (shared.tasks.validation): a validator that words a
check Orka's way raises `Invalid` itself, pydantic's own messages name the field
(`spec.timeout: expected a duration like "30m"`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator

from shared.errors import Invalid
from shared.http.common_models import NamespaceQuery, StrictModel
from shared.http.params import limit_param
from shared.models.base import Model

TASK_TYPES: tuple[str, ...] = ("container", "ai", "agent")
SERVER_STAMPED = {"requestedby": "requestedBy", "transaction": "transaction"}


def reject_server_stamped(body: Any) -> None:
    """Orka's step 1: clients may never send the fields the server stamps from verified identity
    (any case: Orka decodes JSON keys case-insensitively, so `{"Spec": {"RequestedBy": …}}` counts)."""
    if not isinstance(body, dict):
        return
    for key in body:
        if key.lower() in SERVER_STAMPED:
            raise Invalid(f"{SERVER_STAMPED[key.lower()]} cannot be set by clients")
    for key, spec in body.items():
        if key.lower() != "spec" or not isinstance(spec, dict):
            continue
        for inner in spec:
            if inner.lower() in SERVER_STAMPED:
                raise Invalid(f"spec.{SERVER_STAMPED[inner.lower()]} cannot be set by clients")


def _duration(value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise ValueError('expected a duration like "30m"')
    return value


def _priority(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= 1000:
        raise Invalid("priority must be between 0 and 1000")
    return value


def _object(name: str) -> Any:
    """A free-form object field, refused as spec_checks words it (`invalid spec.resources: must be an object`)."""
    def check(value: Any) -> Any:
        if value is not None and not isinstance(value, dict):
            raise Invalid(f"invalid spec.{name}: must be an object")
        return value

    return BeforeValidator(check)


Duration = Annotated[str | None, BeforeValidator(_duration),
                     Field(None, description='A Go duration ("30m", "1h30m"); checked as Orka does')]
Priority = Annotated[int | None, BeforeValidator(_priority),
                     Field(None, description="0–1000, higher runs first (default 500)")]


class TaskAgentRef(Model):
    model_config = ConfigDict(extra="forbid")
    name: str


class TaskSessionRef(Model):
    model_config = ConfigDict(extra="forbid")
    name: str
    append: bool = True
    maxMessages: int = 50


class TaskEnvVar(Model):
    model_config = ConfigDict(extra="forbid")
    name: str
    value: str | None = None


class TaskSpecFields(Model):
    """The TaskSpec fields a client sets (in `spec`, or flat beside `name`)."""

    model_config = ConfigDict(extra="forbid")

    type: str | None = Field(None, json_schema_extra=lambda schema: schema["anyOf"][0].update(enum=list(TASK_TYPES)),
                             description="container, ai or agent (required)")
    prompt: str | None = Field(None, description="Required for ai tasks; the agent's instruction for agent tasks")
    agentRef: TaskAgentRef | None = Field(None, description="The Agent of an agent task (a name string is accepted)")
    image: str | None = Field(None, description="Required for container tasks")
    command: list[str] | None = None
    args: list[str] | None = None
    env: list[TaskEnvVar] | None = Field(None, description="A list of {name, value}, or a name→value object")
    timeout: Duration = None
    priority: Priority = None
    retryPolicy: Annotated[dict[str, Any] | None, _object("retryPolicy")] = Field(None, description="{maxRetries 0–10, backoff, backoffMultiplier, maxBackoff}")
    webhookURL: str | None = Field(None, description="An http(s) URL notified on terminal phases")
    sessionRef: TaskSessionRef | None = None
    ai: Annotated[dict[str, Any] | None, _object("ai")] = Field(None, description="Model settings: provider, model, prompt, coordination, …")
    agentRuntime: Annotated[dict[str, Any] | None, _object("agentRuntime")] = None
    workspace: Annotated[dict[str, Any] | None, _object("workspace")] = Field(None, description="gitRepo, ref/branch, pushBranch, pullRequest, push, …")
    schedule: str | None = Field(None, description="A 5-field cron expression: the task becomes a cron parent")
    timeZone: str | None = Field(None, description="An IANA time zone for `schedule`")
    concurrencyPolicy: str | None = None
    suspend: bool | None = None
    execution: Annotated[dict[str, Any] | None, _object("execution")] = Field(None, description="execution.workspace: see docs/tasks.md")
    maxTurns: int | None = Field(None, description="The agent loop's iteration limit")
    tools: list[str] | None = None
    skills: list[str] | None = None
    executorImage: str | None = Field(None, description="An allow-listed image for the Kubernetes executor's worker "
                                      "(SHOAL_JOBS_EXECUTOR_IMAGES; a labrats job's config.executorImage)")
    resources: Annotated[dict[str, Any] | None, _object("resources")] = Field(None, description="The executor container's requests and limits")
    coordination: Annotated[dict[str, Any] | None, _object("coordination")] = None

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

    def stored(self) -> dict[str, Any]:
        """The spec as stored: what was sent (normalised), with Orka's defaults."""
        spec = self.model_dump(exclude_none=True)
        spec.setdefault("priority", 500)
        return spec


class TaskMetadataIn(StrictModel):
    name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class TaskCreate(TaskSpecFields):
    """`POST /api/v1/tasks`: the Task CRD shape (`metadata` + `spec`) or the flat form (`name` and the
    spec fields side by side); flat fields sent beside a `spec` override it."""

    apiVersion: str | None = Field(None, description="core.orka.ai/v1alpha1 (accepted, not required)")
    kind: str | None = Field(None, description="Task (accepted, not required)")
    name: str | None = Field(None, description="A lowercase RFC 1123 subdomain (required here or in metadata)")
    namespace: str | None = Field(None, description="Default: ?namespace=, else the caller's")
    metadata: TaskMetadataIn | None = None
    labels: dict[str, str] | None = Field(None, description="No `orka.ai/` keys")
    annotations: dict[str, str] | None = Field(None, description="No `orka.ai/` keys")
    spec: TaskSpecFields | None = None

    @model_validator(mode="before")
    @classmethod
    def _stamped(cls, data: Any) -> Any:
        reject_server_stamped(data)
        return data


def _reason(value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise Invalid("reason must be a string")
    return value


class TaskCancel(StrictModel):
    reason: Annotated[str | None, BeforeValidator(_reason)] = Field(
        None, description="Recorded as the task's status message")


# ---- queries ----

class TaskListQuery(NamespaceQuery):
    limit: limit_param(default=100, maximum=500, zero_means_all=True)  # type: ignore[valid-type]
    continue_: str | None = Field(None, alias="continue", description="The cursor of the previous page")
    labelSelector: str | None = Field(None, description="Kubernetes label selector (=, ==, !=, in, notin, exists)")


class TaskLogsQuery(NamespaceQuery):
    follow: str | None = Field(None, description="`true` streams the logs as server-sent events")


class TaskStreamQuery(NamespaceQuery):
    after: str | None = Field(None, description="Resume after this event id (as Last-Event-ID)")


# ---- responses ----

class TaskObjectMeta(Model):
    model_config = ConfigDict(extra="allow")
    name: str
    namespace: str
    uid: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    creationTimestamp: str | None = None
    resourceVersion: str | None = None
    generation: int | None = None


class TaskPlanSummary(Model):
    summary: str
    progressPct: int
    goalComplete: bool
    planDocument: str
    iteration: int


class Task(Model):
    """A Task as the API shows it (credential-shaped values redacted); `status.usage` carries the
    live model-usage counters of a task with a model token."""

    model_config = ConfigDict(extra="allow")
    apiVersion: str
    kind: str
    metadata: TaskObjectMeta
    spec: dict[str, Any]
    status: dict[str, Any]
    plan: TaskPlanSummary | None = Field(None, description="GET of one task only, when it has a plan")


class TaskListMetadata(Model):
    continue_: str | None = Field(None, alias="continue", description="The cursor of the next page")


class TaskList(Model):
    items: list[Task]
    metadata: TaskListMetadata


class TaskResult(Model):
    result: str


class TaskLogs(Model):
    logs: str


class PlanState(Model):
    """Orka's PlanState, with PascalCase keys."""

    TaskName: str
    Namespace: str
    Iteration: int
    Summary: str
    ProgressPct: int
    GoalComplete: bool
    PlanDocument: str
    CreatedAt: str | None
    UpdatedAt: str | None


class TaskArtifact(Model):
    filename: str
    contentType: str | None
    size: int | None
    createdAt: str | None


class TaskArtifactList(Model):
    artifacts: list[TaskArtifact]


class WorkerProgress(Model):
    """The `data` of a worker progress event (`message`, `tool_call`, `tool_result`, `delta`, `log`):
    the object the worker posted to `/internal/v1/events`."""

    model_config = ConfigDict(extra="allow")
