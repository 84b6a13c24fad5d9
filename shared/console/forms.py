"""What the console's pages read: their query parameters and their HTML forms (documented in
/openapi.json; the page wrapper validates the query with the route's model, `console_page`).

Every page and form acts in `namespace` (the query's, else the form's; default: the caller's). A form
is `application/x-www-form-urlencoded` and carries the page's CSRF token (`csrf`, or the
`X-CSRF-Token` header for htmx requests).
"""

from __future__ import annotations

from pydantic import Field

from shared.console.session import CSRF_FIELD
from shared.http.common_models import QueryModel
from shared.http.models import RequestBody

_TEXT = {"type": "string"}


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


def form(description: str, *fields: str, required: tuple[str, ...] = ()) -> RequestBody:
    """An HTML form of a console page: `namespace`, the CSRF token and `fields` (strings)."""
    properties = {CSRF_FIELD: {**_TEXT, "description": "The page's CSRF token (or the X-CSRF-Token header)"},
                  "namespace": {**_TEXT, "description": "The namespace acted in (or ?namespace=)"},
                  **{name: _TEXT for name in fields}}
    return RequestBody(description, media="application/x-www-form-urlencoded",
                       schema={"type": "object", "properties": properties, "required": list(required)})


ACTION = form("An action's form: the CSRF token (and the namespace)")
