"""HTML responses of the console: Jinja2 templates (autoescaped) and the security headers every
console response carries (a strict Content-Security-Policy: scripts and styles only from the
console's own static files, no inline code, no framing)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Response

HERE = Path(__file__).resolve().parent
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
PHASE_CLASSES = {"Succeeded": "ok", "Failed": "bad", "Cancelled": "muted", "Running": "live",
                 "Pending": "wait", "Finalizing": "live"}


@cache
def environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, sort_keys=True, default=str)
    env.filters["phase_class"] = lambda phase: PHASE_CLASSES.get(phase or "", "muted")
    return env


def secured(response: Response) -> Response:
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def page(template: str, http_status: int = 200, **context: Any) -> Response:
    html = environment().get_template(template).render(**context)
    return secured(Response(html, status=http_status, content_type="text/html; charset=utf-8"))


def redirect(location: str, status: int = 303) -> Response:
    return secured(Response(status=status, headers={"Location": location}))
