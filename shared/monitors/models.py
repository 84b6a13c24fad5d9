"""Query and answer models of `/api/v1/monitors/**` (documented in /openapi.json; the handlers
validate the query with them: `limit` keeps parse_limit's messages, page tokens keep their own)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.catalog.crd import PageMetadata, ResourceView
from shared.http.models import NamespaceQuery
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
