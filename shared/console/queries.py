"""What the console's pages read from their query string (documented in /openapi.json; the page
wrapper validates the query with the route's model). Every page acts in `namespace` (default: the
caller's). Named as strings by the routes: loaded with the first page, not at cold start."""

from __future__ import annotations

from pydantic import Field

from shared.http.common_models import QueryModel


class PageQuery(QueryModel):
    namespace: str | None = Field(None, description="The namespace shown (default: the caller's)")


class TasksQuery(PageQuery):
    phase: str | None = Field(None, description="Only tasks in this phase")
    type: str | None = Field(None, description="Only tasks of this type (ai, agent, container)")
    labels: str | None = Field(None, description="A label selector, e.g. team=a")
    continue_: str | None = Field(None, alias="continue", description="The next page's cursor")


class TaskPartQuery(PageQuery):
    nested: str | None = Field(None, description="Non-empty: rendered inside a parent's page")


class StreamQuery(PageQuery):
    lastEventId: str | None = Field(None, description="Resume after this event (as the Last-Event-ID header)")


class SessionQuery(PageQuery):
    session: str | None = Field(None, description="Open this session")


class FindingsQuery(PageQuery):
    severity: str | None = None
    state: str | None = None
    validationStatus: str | None = None
    category: str | None = None


class ReviewsQuery(PageQuery):
    status: str | None = Field(None, description="Proposals in this status (default pending)")


class JobsQuery(PageQuery):
    page: str | None = Field(None, description="1-based page (default 1)")


class SignInQuery(QueryModel):
    next: str | None = Field(None,
                             description="The console page to go to once signed in (default: the tasks)")
