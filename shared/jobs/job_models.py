"""The request and response models of `/api/jobs/**` and the event receivers (labrats dialect).

`JobSubmission` is the one model of a submit body: it runs the labrats checks of
`shared.jobs.submit.validate_submission` (their messages: "prompt is required", "config.effort must
be one of low, medium, high") and refuses a field the labrats table does not list (`promtp: unknown
field`: never stored, never dropped), and /openapi.json documents it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from shared.errors import Invalid
from shared.http.common_models import QueryModel, StrictModel
from shared.jobs.agents import validate_fields as validate_agent
from shared.jobs.instructions import validate as validate_instruction
from shared.jobs.sources import validate as validate_source
from shared.models.base import Model


class JobConfig(StrictModel):
    """Per-job settings over the agent's and the source's (docs/jobs.md, "What config does")."""

    model: str | None = None
    effort: str | None = Field(None, description="low, medium or high")
    provider: str | None = Field(None, description="claude, codex, vllm, gemma, qwen or mock")
    fast: bool | None = Field(None, description="Refused when true (no fast mode)")
    timeoutMs: int | None = Field(None, description="Default 3 300 000 (55 min)")
    maxTurns: int | None = Field(None, description="Default 25")
    executorImage: str | None = None
    reactEnabled: bool | None = Field(None, description="Refused when false (the loop always runs)")


class WorkspaceSetup(StrictModel):
    gitRepo: str | None = Field(None, description="Clone URL (may include a token)")
    gitRef: str | None = None
    gitDepth: int | None = None


class WorkspaceFile(StrictModel):
    name: str = Field(description="A relative path inside the workspace")
    data: str = Field(description="The content, base64")


class WorkspaceUpload(StrictModel):
    id: str
    name: str


class JobSubmission(StrictModel):
    """`POST /api/jobs/submit` (labrats "Submit Job")."""

    source: str = Field(description="Origin identifier (github, manual, dashboard, …)")
    type: str = Field(description="Job type label (implement-issue, code-review, error-reporting, …)")
    prompt: str | None = Field(None, description='Required unless type is "error-reporting"')
    errors: list[Any] | None = Field(None, description="Error entries, for error-reporting jobs")
    priority: int | float = Field(2, description="Lower runs first (default 2)")
    agentRole: str | None = None
    workspaceSetup: WorkspaceSetup | None = None
    workspaceFiles: list[WorkspaceFile] = []
    workspaceUploads: list[WorkspaceUpload] = []
    config: JobConfig = JobConfig.model_construct()  # (construct: JobConfig() would build its validator at import)
    callbackUrl: str | None = Field(None, description="POSTed at lifecycle events (SSRF-guarded)")
    pipeline: dict[str, Any] | None = Field(None, description='{"type": "pdf-sections"}')
    metadata: dict[str, Any] = Field({}, description="Free-form, echoed in callbacks and the dashboard")

    @model_validator(mode="before")
    @classmethod
    def _labrats_checks(cls, data: Any) -> Any:
        from shared.jobs.submit import validate_submission  # (submit imports the task service)

        if not isinstance(data, dict):
            return data
        merged = {**data, **validate_submission(data)}
        # The lists as sent (their shape is checked): an unknown key in an item is named, not dropped.
        for key in ("workspaceFiles", "workspaceUploads"):
            if isinstance(data.get(key), list):
                merged[key] = data[key]
        return merged

    def job(self) -> dict[str, Any]:
        """The job fields as validate_submission gives them (it sets every key; nested objects keep
        only what was sent)."""
        return self.model_dump(exclude_unset=True)


class JobListQuery(QueryModel):
    page: str | None = Field(None, description="1-based page (at most 1000), default 1")
    limit: str | None = Field(None, description="1–100 (clamped), default 20")
    chainId: str | None = Field(None, description="Only the jobs of this chain")


class GitHubSourceQuery(QueryModel):
    source: str | None = Field(None, description="The webhook source whose secret signs; default: any that does")


class JobSubmitted(Model):
    jobId: str
    source: str
    type: str


class JobItem(Model):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str | None
    source: str | None
    status: str
    attempts: int
    createdAt: str | None
    result: str | None


class JobList(Model):
    jobs: list[JobItem]
    page: int
    limit: int
    total: int


class JobDetail(JobItem):
    phase: str
    logs: list[str]


class JobState(Model):
    jobId: str
    status: str


class JobLogFrame(Model):
    """A `data:` frame of a job's log stream: `{"log": line}`, the last `{"done": true, "status": …}`."""

    log: str | None = None
    done: bool | None = None
    status: str | None = None


class EventIngest(StrictModel):
    """`POST /api/events/ingest`: start one job per agent whose enabled trigger matches."""

    source: str = Field(description="The event's source (a webhook source's name applies its settings)")
    event: str = Field(description='The event, e.g. "issues.labeled"')
    payload: dict[str, Any] | None = Field(None, description="Matched against the triggers' filters")

    @model_validator(mode="before")
    @classmethod
    def _checks(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("source", "event"):
                if not isinstance(data.get(key), str) or not data[key]:
                    raise Invalid(f"{key} is required")
            if data.get("payload") is not None and not isinstance(data["payload"], dict):
                raise Invalid("payload must be an object")
        return data


class StartedJobs(Model):
    model_config = ConfigDict(extra="allow")
    matched: int
    jobs: list[Any]


# ---- agents and instructions (`/api/agents`, `/api/instructions`) ----

def checked_by(check: Any) -> Any:
    """A model validator running a labrats check on the raw body first, so its message wins
    ("name is required", `unknown or read-only field "x"`); the model then refuses unknown fields."""
    def run(cls: type, data: Any) -> Any:
        if isinstance(data, dict):
            check(data)
        return data

    return model_validator(mode="before")(classmethod(run))


class LabratsChainNext(StrictModel):
    agentTriggerName: str
    condition: str = Field("on-success", description="on-success, on-failure or always")
    failurePolicy: str = Field("stop", description="stop or continue")


class LabratsEventTrigger(StrictModel):
    source: str = Field(description='e.g. "github"')
    events: list[str] = Field(description='e.g. ["issues.labeled"]')
    instruction: str | None = None
    config: dict[str, Any] = Field({}, description="Job config for the jobs this trigger starts")
    filters: dict[str, Any] = {}
    enabled: bool = True
    next: LabratsChainNext | None = Field(None, description="The agent a chain continues with")


class LabratsAgentFields(StrictModel):
    triggerName: str | None = None
    displayName: str | None = None
    description: str | None = None
    defaultModel: str | None = None
    defaultEffort: str | None = None
    defaultProvider: str | None = None
    enabled: bool | None = None
    instructions: list[str] | None = Field(None, description="Instruction names")
    eventTriggers: list[LabratsEventTrigger] | None = None


def _agent_create(data: dict[str, Any]) -> None:
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise Invalid("name is required")
    validate_agent(data, partial=False)


class LabratsAgentCreate(LabratsAgentFields):
    """`POST /api/agents`."""

    name: str = Field(description="A lowercase RFC 1123 label")
    _checks = checked_by(_agent_create)


class LabratsAgentPatch(LabratsAgentFields):
    """`PATCH /api/agents/{id}`: any subset of the fields."""

    _checks = checked_by(lambda data: validate_agent(data, partial=True))


class LabratsAgent(LabratsAgentFields):
    model_config = ConfigDict(extra="allow")
    eventTriggers: list[dict[str, Any]] | None = None  # type: ignore[assignment]  (as stored)
    id: str
    name: str
    namespace: str
    createdAt: str | None = None
    resourceVersion: str



class TriggerQuery(QueryModel):
    source: str | None = Field(None, description="Only triggers of this source")
    event: str | None = Field(None, description="Only triggers listening to this event")


class InstructionFields(StrictModel):
    displayName: str | None = None
    description: str | None = None
    scope: str | None = Field(None, description="global or local (default local)")
    priority: int | None = Field(None, description="Globals are applied by priority (default 100)")
    content: str | None = Field(None, description="The instruction text (required on create)")


class InstructionCreate(InstructionFields):
    name: str = Field(description="A lowercase RFC 1123 label")
    _checks = checked_by(lambda data: validate_instruction(data, partial=False))


class InstructionPatch(InstructionFields):
    _checks = checked_by(lambda data: validate_instruction(data, partial=True))


class Instruction(InstructionFields):
    id: str
    name: str
    createdAt: str | None = None
    updatedAt: str | None = None



class InstructionQuery(QueryModel):
    scope: str | None = Field(None, description="global or local")


class Deleted(Model):
    deleted: str


class Seeded(Model):
    seeded: int


# ---- API keys and webhook sources ----

def _key_name(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("name is required")
    if len(value) > 128:
        raise Invalid("name must be at most 128 characters")
    return value


class ApiKeyCreate(StrictModel):
    """`POST /api/api-keys`."""

    name: Annotated[str, BeforeValidator(_key_name)] = Field(description="Unique per owner, at most 128 characters")
    _checks = checked_by(lambda data: _key_name(data.get("name")))


class ApiKey(Model):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    prefix: str
    createdAt: str
    key: str | None = Field(None, description="The full key: only in the answer to its creation")



class Revoked(Model):
    revoked: str


class WebhookSourceFields(StrictModel):
    type: str | None = Field(None, description="github (default) or generic")
    secret: str | None = Field(None, description="At least 8 characters; write-only (required on create)")
    enabled: bool | None = None
    description: str | None = None
    repoOverrides: dict[str, Any] | None = Field(None, description="Per repository: job config over the defaults")
    defaults: dict[str, Any] | None = Field(None, description="Job config of the jobs this source starts")


class WebhookSourceCreate(WebhookSourceFields):
    name: str = Field(description="A lowercase RFC 1123 label")
    _checks = checked_by(lambda data: validate_source(data, partial=False))


class WebhookSourcePatch(WebhookSourceFields):
    _checks = checked_by(lambda data: validate_source(data, partial=True))


class WebhookSource(Model):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    type: str
    enabled: bool
    hasSecret: bool
    endpoint: str | None



class SourceDeleted(Deleted):
    provisioning: Any = None
