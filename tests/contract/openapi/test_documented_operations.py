"""Every operation documents its request body, query parameters and success response.

Why this exists: issue 21 — /openapi.json listed every route and described none of them. Every
route now declares its models (`Router.route(body=, query=, responses=)`, a `RequestBody` for a body
it reads itself); a route that reads a body or a query, or answers, without declaring it fails here.

Which handlers read a body or query is found by reading their source (a heuristic): the handler
and the functions of its own module it calls with `ctx` are searched for the calls below. A
handler reading the request some other way is not caught; add the call form here when one appears.
"""

from __future__ import annotations

import inspect
import re

from shared.http.api import Route
from shared.http.models import Reply
from shared.http.openapi import openapi_path
from shared.http.route_table import FUNCTION_ROUTERS, build_api

READS_BODY = re.compile(r"ctx\.(json|json_object|body)\(|request\.(get_json|get_data|json\b|data\b|stream\b|form\b)"
                        r"|view\.form\b")
# ctx.namespace() reads ?namespace= when no explicit namespace is given (unless query=False); a console
# page's view.namespace reads it too (shared.console.routes.View).
READS_QUERY = re.compile(r"ctx\.(args|query\(|namespace\((?![^)]*query=False))|request\.args|parse_limit\("
                         r"|view\.(args|namespace)\b")
CALLS_WITH_CTX = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\(ctx\b")


def _source(route: Route) -> str:
    """The handler's source plus that of the same-module functions it calls with `ctx`, transitively."""
    handler = route.handler
    try:
        text = inspect.getsource(handler)
    except (OSError, TypeError):
        return ""
    seen, pending = {handler}, [text]
    while pending:
        for name in set(CALLS_WITH_CTX.findall(pending.pop())):
            helper = handler.__globals__.get(name)
            if inspect.isfunction(helper) and helper not in seen and helper.__module__ == handler.__module__:
                seen.add(helper)
                helper_text = inspect.getsource(helper)
                text += helper_text
                pending.append(helper_text)
    return text


def _success_documented(route: Route) -> bool:
    if route.response_model is not None:  # the operator's FastAPI-style routes
        return True
    for status, spec in route.responses.items():
        # A documented redirect is the success of an HTML form's POST (the console's POST/redirect/GET).
        if 200 <= status < 400 and (status == 204 or (isinstance(spec, Reply) and spec.documented)):
            return True
    return False


def route_gaps(route: Route) -> set[str]:
    found = set()
    source = _source(route)
    for method in route.methods:
        if method in ("HEAD", "OPTIONS"):
            continue
        label = f"{method} {openapi_path(route.rule)}"
        if method in ("POST", "PUT", "PATCH") and READS_BODY.search(source) and route.body is None \
                and route.request_model is None:
            found.add(f"{label} body")
        if READS_QUERY.search(source) and route.query is None:
            found.add(f"{label} query")
        if not _success_documented(route):
            found.add(f"{label} response")
    return found


def gaps() -> set[str]:
    return {gap for function in FUNCTION_ROUTERS for route in build_api(function).routes for gap in route_gaps(route)}


def test_every_operation_is_documented():
    missing = sorted(gaps())
    assert not missing, "undocumented (declare body=/query=/responses= on the route):\n" + "\n".join(missing)


def test_a_route_reading_a_body_it_does_not_declare_is_a_gap():
    # Guards the check itself: a handler that reads a body and a query and declares neither is found.
    from shared.http.api import Router

    router = Router("/probe", dialect="orka")

    @router.route("", ["POST"])
    def undeclared(ctx):
        return ctx.json_object(), ctx.args.get("x")

    assert route_gaps(router.routes[0]) == {"POST /probe body", "POST /probe query", "POST /probe response"}


def test_the_heuristic_sees_a_body_a_query_and_a_response():
    # Guards the ratchet itself: the memory routes read all three and declare all three.
    from shared.memory import memory_routes

    create = next(r for r in memory_routes.router.routes if r.handler is memory_routes.create_memory)
    listing = next(r for r in memory_routes.router.routes if r.handler is memory_routes.list_memories)
    assert READS_BODY.search(_source(create)) and create.body is not None
    assert READS_QUERY.search(_source(listing)) and listing.query is not None
    assert _success_documented(create) and _success_documented(listing)
