"""Query and answer models of `/api/v1/monitors/**` (documented in /openapi.json; the handlers
validate the query with them: `limit` keeps parse_limit's messages, page tokens keep their own)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from shared.catalog.resources import PageMetadata, ResourceView
from shared.http.common_models import NamespaceQuery, StrictModel
from shared.http.params import limit_param
from shared.models.base import Model


class _Paged(NamespaceQuery):
    continue_: str | None = Field(None, alias="continue", description="`metadata.continue` of the previous page")
    cursor: str | None = Field(None, description="Same as continue")


class MonitorPageQuery(_Paged):
    limit: limit_param(default=100, maximum=500)  # type: ignore[valid-type]


class RunPageQuery(_Paged):
    limit: limit_param(default=50, maximum=500)  # type: ignore[valid-type]


class ItemPageQuery(RunPageQuery):
    kind: str | None = None
    state: str | None = None
    verdict: str | None = None
    repairState: str | None = None
    automergeState: str | None = None


class EventPageQuery(MonitorPageQuery):
    name: str | None = Field(None, description="The monitor (required)")
    runID: str | None = None
    itemKind: str | None = None
    itemNumber: str | None = None
    eventType: str | None = None


class RepositoryMonitor(ResourceView):
    """A RepositoryMonitor as answered (spec: repoURL, provider, owner, repository, branch, agents,
    pullRequests, review, schedule, …; docs/security.md)."""


class MonitorList(Model):
    items: list[RepositoryMonitor]
    metadata: PageMetadata


class RecordList(Model):
    """Runs, items or audit events: their stored documents, newest last."""

    items: list[dict[str, Any]]
    metadata: PageMetadata


# ---- request bodies: Orka's policy, an unknown `spec` field (at any depth) is a 400 naming it ----
class _Ref(StrictModel):
    name: str | None = None


class PullRequestTarget(StrictModel):
    enabled: bool | None = Field(None, description="Always true: pull request monitoring cannot be disabled")
    includeDrafts: bool | None = Field(None, description="Default false")
    maxPerRun: int | None = Field(None, description="1–100, default 10")


class OtherTarget(StrictModel):
    enabled: bool | None = Field(None, description="Refused when true (only pull requests are monitored)")


class MonitorTargets(StrictModel):
    pullRequests: PullRequestTarget | None = None
    issues: OtherTarget | None = None
    commits: OtherTarget | None = None


class MonitorAgents(StrictModel):
    reviewer: _Ref | None = Field(None, description="The Agent that reviews (runtime.type claude; required)")
    repairer: _Ref | None = Field(None, description="The Agent repair tasks run (required when repair.enabled)")


class MonitorReview(StrictModel):
    event: str | None = Field(None, description="COMMENT (default), APPROVE or REQUEST_CHANGES")
    staleReviewTTL: str | None = Field(None, description='A Go duration, e.g. "24h"')
    exactEventEnabled: bool | None = Field(None, description="Queue exact-head runs from pull request events")
    requireGreenCI: Any = Field(None, description="Refused: not supported")


class MonitorPolicy(StrictModel):
    protectedLabels: list[str] | None = None
    pauseLabels: list[str] | None = None
    allowedRepositoryPermissions: list[str] | None = Field(None, description="write, maintain or admin")


class MonitorValidation(StrictModel):
    mode: str | None = Field(None, description='Default "changed"')
    commands: list[str] | None = None


class PullRequestCommandLabels(StrictModel):
    """The label of each maintainer command (empty: the default `orka:<intent>` label)."""

    review: str | None = None
    fix: str | None = None
    fixCI: str | None = None
    updateBranch: str | None = None
    automerge: str | None = None
    stop: str | None = None
    resume: str | None = None


class CommandLabels(StrictModel):
    enabled: bool | None = None
    consumeCommandLabels: bool | None = None
    requireActorPermission: str | None = Field(None, description="write (default), maintain or admin")
    pullRequests: PullRequestCommandLabels | None = None
    issues: dict[str, str] | None = Field(None, description="Kept, never matched (issue targets are refused)")


class GitHubTriggers(StrictModel):
    labels: CommandLabels | None = None


class MonitorTriggers(StrictModel):
    github: GitHubTriggers | None = None


class MonitorRepair(StrictModel):
    enabled: bool | None = None
    maxRepairsPerPR: int | None = Field(None, ge=0)
    maxRepairsPerHead: int | None = Field(None, ge=0)


class MonitorAutomerge(StrictModel):
    enabled: bool | None = None
    requireGlobalMergeGate: bool | None = Field(None, description="Default true")
    allowedMergeMethods: list[str] | None = Field(None, description="merge, squash or rebase")


class RepositoryMonitorSpec(StrictModel):
    """RepositoryMonitor `spec` (orka-api.txt, "Create Repository Monitor"; shared.monitors.command_spec).
    The route's own rules run first, with Orka's messages; then any field not listed here is refused."""

    repoURL: str = Field(description="A credential-free GitHub repository root URL")
    provider: str | None = Field(None, description="github (the only one)")
    owner: str | None = Field(None, description="Parsed from repoURL; must match it when given")
    repository: str | None = Field(None, description="Parsed from repoURL; must match it when given")
    branch: str | None = Field(None, description='Default "main"')
    gitSecretRef: _Ref | None = Field(None, description="A Secret with token, password or GITHUB_TOKEN")
    forgeCredentialRef: _Ref | None = Field(None, description="The Secret of controller-owned GitHub calls")
    schedule: str | None = Field(None, description="A 5-field cron expression")
    targets: MonitorTargets | None = None
    agents: MonitorAgents | None = None
    review: MonitorReview | None = None
    policy: MonitorPolicy | None = None
    validation: MonitorValidation | None = None
    triggers: MonitorTriggers | None = None
    repair: MonitorRepair | None = None
    automerge: MonitorAutomerge | None = None


class _Metadata(Model):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class RepositoryMonitorBody(Model):
    """A RepositoryMonitor as created or replaced: `name`/`namespace` at the top level or in `metadata`
    (a manifest's `apiVersion`/`kind` are accepted and ignored); `spec` is checked field by field."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    name: str | None = None
    namespace: str | None = None
    metadata: _Metadata | None = None
    spec: RepositoryMonitorSpec


class MonitorRunRequest(StrictModel):
    """`POST …/runs`: omit the body for a full inventory pass; the fields narrow it to one pull request."""

    targetKind: str | None = Field(None, description='"" or "pull_request"')
    targetNumber: int | None = Field(None, ge=1, description="A pull request number")
    targetSHA: str | None = Field(None, description="The exact head (hexadecimal; requires targetNumber)")


class MonitorRun(Model):
    model_config = ConfigDict(extra="allow", defer_build=True)
    id: str = Field(description='"monrun-<nanoseconds>"')
    namespace: str
    monitor: str
    phase: str = Field(description="queued, running, succeeded or failed")
    trigger: str = Field(description="manual, schedule or event")
