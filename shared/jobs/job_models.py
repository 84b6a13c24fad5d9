"""The request and response models of `/api/jobs/**` and the event receivers (labrats dialect).

`JobSubmission` is the one model of a submit body: it runs the labrats checks of
`shared.jobs.submit.validate_submission` (their messages: "prompt is required", "config.effort must
be one of low, medium, high") and refuses a field the labrats table does not list (`promtp: unknown
field`: never stored, never dropped), and /openapi.json documents it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.http.models import QueryModel, StrictModel


class JobConfig(BaseModel):
    """Per-job settings over the agent's and the source's (docs/jobs.md, "What config does")."""

    model_config = ConfigDict(extra="allow")
    model: str | None = None
    effort: str | None = Field(None, description="low, medium or high")
    provider: str | None = Field(None, description="claude, codex, vllm, gemma, qwen or mock")
    fast: bool | None = Field(None, description="Refused when true (no fast mode)")
    timeoutMs: int | None = Field(None, description="Default 3 300 000 (55 min)")
    maxTurns: int | None = Field(None, description="Default 25")
    executorImage: str | None = None
    reactEnabled: bool | None = Field(None, description="Refused when false (the loop always runs)")


class WorkspaceSetup(BaseModel):
    model_config = ConfigDict(extra="allow")
    gitRepo: str | None = Field(None, description="Clone URL (may include a token)")
    gitRef: str | None = None
    gitDepth: int | None = None


class WorkspaceFile(BaseModel):
    name: str = Field(description="A relative path inside the workspace")
    data: str = Field(description="The content, base64")


class WorkspaceUpload(BaseModel):
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
    config: JobConfig = JobConfig()
    callbackUrl: str | None = Field(None, description="POSTed at lifecycle events (SSRF-guarded)")
    pipeline: dict[str, Any] | None = Field(None, description='{"type": "pdf-sections"}')
    metadata: dict[str, Any] = Field({}, description="Free-form, echoed in callbacks and the dashboard")

    @model_validator(mode="before")
    @classmethod
    def _labrats_checks(cls, data: Any) -> Any:
        from shared.jobs.submit import validate_submission  # (submit imports the task service)

        if not isinstance(data, dict):
            return data
        unknown = {k: v for k, v in data.items() if k not in cls.model_fields}
        return {**unknown, **validate_submission(data)}

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


class JobSubmitted(BaseModel):
    jobId: str
    source: str
    type: str


class JobItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str | None
    source: str | None
    status: str
    attempts: int
    createdAt: str | None
    result: str | None


class JobList(BaseModel):
    jobs: list[JobItem]
    page: int
    limit: int
    total: int


class JobDetail(JobItem):
    phase: str
    logs: list[str]


class JobState(BaseModel):
    jobId: str
    status: str


class JobLogFrame(BaseModel):
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
        from shared.errors import Invalid

        if isinstance(data, dict):
            for key in ("source", "event"):
                if not isinstance(data.get(key), str) or not data[key]:
                    raise Invalid(f"{key} is required")
            if data.get("payload") is not None and not isinstance(data["payload"], dict):
                raise Invalid("payload must be an object")
        return data


class StartedJobs(BaseModel):
    model_config = ConfigDict(extra="allow")
    matched: int
    jobs: list[Any]
