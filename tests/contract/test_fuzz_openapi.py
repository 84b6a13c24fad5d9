"""OpenAPI-driven fuzzing (DESIGN §6: "schemathesis finds no 5xx").

The meta function's /openapi.json lists every route; schemathesis generates requests for the
operations of a few functions and sends them in process to each function's own app (as
functions-framework builds it), against moto and with the dev token. Bounded: few examples per
operation and a derandomized (fixed-seed) run, so it is deterministic and quick.
"""

from __future__ import annotations

import pytest

from tests.conftest import AUTH

schemathesis = pytest.importorskip("schemathesis")

FUNCTIONS = ("tasks", "catalog", "memory", "compat")
MAX_EXAMPLES = 8


def with_bodies(document: dict) -> dict:
    """The document does not describe request bodies yet: give every write a free-form JSON object
    body, so the fuzzer also sends wrong types, missing and unexpected fields."""
    for path in document["paths"].values():
        for method, op in path.items():
            if method in ("post", "put", "patch"):
                op.setdefault("requestBody", {"required": True, "content": {"application/json": {
                    "schema": {"type": "object"}}}})
    return document


def test_no_operation_of_the_fuzzed_functions_answers_5xx(function_client, fake_kube):
    from schemathesis.checks import not_a_server_error

    document = function_client("meta").get("/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(with_bodies(document))
    apps = {name: function_client(name).application for name in FUNCTIONS}
    fuzzed, failures = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        function = operation.definition.raw.get("x-shoal-function")
        if function in apps:
            try:
                _fuzzer(operation, apps[function], not_a_server_error)()
            except (Exception, BaseExceptionGroup) as exc:  # collect every failing operation, not only the first
                failures.append(f"{operation.label}: {exc}")
            fuzzed.append(operation.label)
    assert not failures, "\n\n".join(failures)
    assert {label.split()[1].split("/")[1] for label in fuzzed} >= {"api", "openai", "anthropic"}, fuzzed


def _fuzzer(operation, app, check):
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def fuzz(case):
        response = case.call(app=app, headers=AUTH)
        case.validate_response(response, checks=[check])

    return fuzz
