"""Request parsing, routing, error dialects, pagination and the SSE writer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Api", "RequestContext", "Router", "json_response"]

if TYPE_CHECKING:
    from shared.http.api import Api, RequestContext, Router, json_response


def __getattr__(name: str) -> Any:
    """The pipeline's names, from shared.http.api when first asked for: a function's main.py imports
    shared.http.route_table, whose build_api loads the pipeline with the collector paused
    (shared.coldstart), which an eager import here would run before."""
    if name in __all__:
        from shared.http import api

        return getattr(api, name)
    raise AttributeError(f"module 'shared.http' has no attribute {name!r}")
