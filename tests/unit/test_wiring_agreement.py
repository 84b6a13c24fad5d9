"""The wiring agrees with the manifests: every event that reaches a function has a handler there and
every handler has a way in; every gateway route reaches a function that serves something under it,
and every route a function serves is reachable through the gateway; every function is wired the one way."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from shared.events.handler_table import FUNCTION_HANDLERS, build_handlers
from shared.http.route_table import FUNCTION_ROUTERS, build_api
from shared.local import manifests

ROOT = Path(__file__).resolve().parents[2]
PING = "dev.knative.sources.ping"


def deliveries() -> set[tuple[str, str]]:
    """(function, event type) for every way an event reaches a function: Triggers and PingSources."""
    found = {(t.subscriber, t.attributes["type"]) for t in manifests.triggers()}
    for doc in manifests.load_documents(ROOT / "knative" / "pingsource.yaml"):
        if doc.get("kind") == "PingSource":
            found.add((doc["spec"]["sink"]["ref"]["name"], PING))
    return found


def dead_letter_sinks() -> set[str]:
    return {t.delivery.dead_letter for t in manifests.triggers() if t.delivery.dead_letter}


def test_every_delivered_event_type_has_a_handler():
    missing = [(fn, type_) for fn, type_ in sorted(deliveries())
               if type_ not in FUNCTION_HANDLERS.get(fn, {}) and "*" not in FUNCTION_HANDLERS.get(fn, {})]
    assert not missing, f"triggered but not handled: {missing}"


def test_every_handler_has_a_trigger():
    delivered = deliveries()
    unreachable = [(fn, type_) for fn, table in FUNCTION_HANDLERS.items() for type_ in table
                   if type_ != "*" and (fn, type_) not in delivered]
    assert not unreachable, f"handled but never delivered: {unreachable}"
    # a catch-all is only for a dead-letter sink, which receives whatever exhausted its retries
    assert {fn for fn, table in FUNCTION_HANDLERS.items() if "*" in table} == dead_letter_sinks()


def test_the_handler_table_names_exactly_the_event_functions_and_every_handler_loads():
    event_functions = {f.name for f in manifests.functions() if f.kind == "event"}
    assert set(FUNCTION_HANDLERS) == event_functions
    for function in FUNCTION_HANDLERS:
        assert all(callable(h) for h in build_handlers(function).values()), function


def test_every_gateway_route_goes_to_a_function_that_serves_under_it():
    # every function also answers /metrics itself (the pipeline, shared/observability)
    served = {fn: [r.rule for r in build_api(fn).routes] + ["/metrics"] for fn in FUNCTION_ROUTERS}
    for match in manifests.routes():
        assert match.backend in FUNCTION_ROUTERS, match
        samples = [re.sub(r"<[^>]*>", "x", rule) for rule in served[match.backend]]
        assert any(match.matches(sample) for sample in samples), f"{match} reaches nothing {match.backend} serves"


def test_every_served_route_reaches_its_own_function_through_the_gateway():
    table = manifests.routes()
    http_functions = {f.name for f in manifests.functions() if f.kind == "http"}
    assert set(FUNCTION_ROUTERS) == http_functions
    for function in FUNCTION_ROUTERS:
        for route in build_api(function).routes:
            if route.rule in ("/healthz", "/readyz") and function != "meta":
                continue  # probes hit each function directly, not through the gateway
            picked = manifests.pick_route(table, re.sub(r"<[^>]*>", "x", route.rule))
            assert picked is not None and picked.backend == function, (function, route.rule)


def _table_call(source: str) -> tuple[str, str] | None:
    """The one wiring call of a function's main.py: ("build_api" | "build_handlers", its argument)."""
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("build_api", "build_handlers")):
            return node.func.id, ast.literal_eval(node.args[0])
    return None


def test_every_function_is_wired_through_its_table_under_its_own_name():
    for fn in manifests.functions():
        source = (ROOT / "functions" / fn.name / "main.py").read_text()
        expected = ("build_api" if fn.kind == "http" else "build_handlers", fn.name)
        assert _table_call(source) == expected, fn.name
        # no handler or router imported past the table (at module level; investigator's /metrics loads on use)
        imports = {n.module for n in ast.parse(source).body if isinstance(n, ast.ImportFrom)}
        assert imports <= {"shared.http.route_table", "shared.events.handler_table", "shared.events.consumer",
                           "flask"}, (fn.name, imports)
