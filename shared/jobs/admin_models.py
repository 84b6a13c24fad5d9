"""Request and answer models of the labrats admin routes: config, stats, dashboard auth, uploads,
models and workspace uploads (`shared.jobs.admin_routes`, `.upload_routes`, `.workspace_routes`).

Shapes as the labrats specification gives them (`shared/spec/labrats-ai-agents-api.txt`); a body
field outside its table is a 400 naming it (the labrats policy, docs/api-reference.md), after the
route's own checks ran with their labrats messages ("executorResources must be an object").
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from shared.errors import Invalid
from shared.http.common_models import QueryModel, StrictModel
from shared.jobs.job_models import checked_by
from shared.models.base import Model

# ---- config ----
_CONFIG_STRINGS = ("model", "effort", "executorImage")


def check_config(body: dict[str, Any]) -> None:
    """The labrats checks of a defaults body, with their messages (before the model's types)."""
    from shared.jobs.effective import check_executor_image
    from shared.kube_resources import BadResources, check_resources

    for key in _CONFIG_STRINGS:
        if key in body and not isinstance(body[key], str):
            raise Invalid(f"{key} must be a string")
    if body.get("executorImage"):
        check_executor_image(body["executorImage"], "executorImage")
    for key in ("executorResources", "providers"):
        if key in body and not isinstance(body[key], dict):
            raise Invalid(f"{key} must be an object")
    for name, provider in (body.get("providers") or {}).items():
        if not isinstance(provider, dict):
            raise Invalid(f"providers.{name} must be an object")
    if body.get("executorResources") is not None:
        try:
            check_resources(body["executorResources"])
        except BadResources as exc:
            raise Invalid(f"executorResources.{exc.field} {exc.reason}") from None


Quantities = dict[str, str | int | float]


class ExecutorResources(StrictModel):
    requests: Quantities | None = Field(None, description='e.g. {"cpu": "500m", "memory": "1Gi"}')
    limits: Quantities | None = None


class ProviderDefaults(StrictModel):
    model: str | None = None
    effort: str | None = None
    url: str | None = Field(None, description="Where the model file is downloaded from (POST /api/models/download)")


class AiDefaults(StrictModel):
    """The global defaults (the singleton AiConfig): every field optional; a PUT merges into them."""

    model: str | None = Field(None, description='e.g. "sonnet"')
    effort: str | None = Field(None, description="low, medium or high")
    executorImage: str | None = None
    executorResources: ExecutorResources | None = None
    providers: dict[str, ProviderDefaults] | None = Field(None, description="Per provider: its model and effort")
    _checks = checked_by(check_config)


class SourceConfigList(Model):
    sources: list[Any] = Field(description="Always empty: source config moved to webhook sources")


class SourceConfig(Model):
    source: str
    model: str
    effort: str


class SourceConfigRemoved(Model):
    removed: str


# ---- stats ----
class StatTotals(Model):
    total: int
    completed: int
    failed: int
    cancelled: int
    inFlight: int


class JobStats(Model):
    total: int
    byType: dict[str, int]
    byModel: dict[str, int]
    byRepo: dict[str, int]
    bySource: dict[str, int]
    totals: StatTotals


class TimeseriesQuery(QueryModel):
    query: str | None = Field(None, description="The PromQL expression (required)")
    start: str | None = Field(None, description="With start: a range query (/api/v1/query_range)")
    end: str | None = None
    step: str | None = None


# ---- dashboard auth ----
class DashboardUser(Model):
    model_config = ConfigDict(extra="allow", defer_build=True)
    username: str
    subject: str
    kind: str
    email: str | None = None
    name: str | None = None


class Me(Model):
    user: DashboardUser | None = Field(description="null when not signed in")
    version: str


class LoggedOut(Model):
    ok: bool


class OidcCallbackQuery(QueryModel):
    code: str | None = Field(None, description="The authorization code")
    state: str | None = Field(None, description="Must match the state cookie set by /api/auth/oidc")
    error: str | None = Field(None, description="Set by the provider when it refused the login")


# ---- uploads and workspace uploads ----
class Upload(Model):
    id: str
    name: str
    size: int
    contentType: str
    createdAt: str


class UploadDeleted(Model):
    deleted: str


def _extract_checks(data: dict[str, Any]) -> None:
    for key in ("prompt", "model", "effort"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise Invalid(f"{key} must be a string")


class ExtractRequest(StrictModel):
    """`POST /api/uploads/{id}/extract`: every field optional."""

    prompt: str | None = Field(None, description="The instruction applied to each section")
    model: str | None = None
    effort: str | None = None
    _checks = checked_by(_extract_checks)


class JobStarted(Model):
    jobId: str


# ---- models (the models PVC) ----
class ConfiguredModel(Model):
    provider: str
    model: str
    url: str | None = None


class ConfiguredModels(Model):
    models: list[ConfiguredModel]
    pvc: str


class ModelFile(Model):
    provider: str | None
    file: str
    path: str
    size: int


class ModelScan(Model):
    job: str
    cached: bool
    status: str = Field(description="pending, running, completed, failed or missing")
    files: list[ModelFile] | None = Field(description="When the scan has completed")


def _download_checks(data: dict[str, Any]) -> None:
    for key in ("provider", "model", "url"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise Invalid(f"{key} is required")


class ModelDownload(StrictModel):
    """`POST /api/models/download`: the url must be the one configured for that provider's model."""

    provider: str
    model: str
    url: str = Field(description="https; must match providers.<provider>.url of the defaults")
    _checks = checked_by(_download_checks)


class ModelJobStarted(Model):
    job: str
    provider: str
    model: str | None = None
    file: str


class ModelJob(Model):
    name: str
    operation: str | None
    provider: str | None
    status: str
    createdAt: str | None


class ModelJobs(Model):
    jobs: list[ModelJob]


class ModelJobLogs(Model):
    name: str
    status: str
    logs: str
