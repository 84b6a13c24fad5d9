"""Request parsing, routing, error dialects, pagination and the SSE writer."""

from shared.http.api import Api, RequestContext, Router, json_response

__all__ = ["Api", "RequestContext", "Router", "json_response"]
