"""The console's HTML forms (documented in /openapi.json; the pages' query parameters are
shared.console.queries).

Every page and form acts in `namespace` (the query's, else the form's; default: the caller's). A form
is `application/x-www-form-urlencoded` and carries the page's CSRF token (`csrf`, or the
`X-CSRF-Token` header for htmx requests).
"""

from __future__ import annotations

from shared.console.session import CSRF_FIELD
from shared.http.models import RequestBody

_TEXT = {"type": "string"}


def form(description: str, *fields: str, required: tuple[str, ...] = ()) -> RequestBody:
    """An HTML form of a console page: `namespace`, the CSRF token and `fields` (strings)."""
    properties = {CSRF_FIELD: {**_TEXT, "description": "The page's CSRF token (or the X-CSRF-Token header)"},
                  "namespace": {**_TEXT, "description": "The namespace acted in (or ?namespace=)"},
                  **{name: _TEXT for name in fields}}
    return RequestBody(description, media="application/x-www-form-urlencoded",
                       schema={"type": "object", "properties": properties, "required": list(required)})


ACTION = form("An action's form: the CSRF token (and the namespace)")
