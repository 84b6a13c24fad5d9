"""Schemathesis over every operation of Shoal's own /openapi.json (issue 21, "Done means").

Each operation is fuzzed in process against the app of the function that serves it (its
`x-shoal-function`, built as its container builds it), on moto, with the dev token. Checks: no 5xx,
every status declared, its media type declared, its body valid for the declared schema. A 5xx passes
only where the operation documents it (a 503 for an optional integration that is not configured: the
OIDC login, Prometheus); a 500 is never documented, so it always fails. Bounded:
MAX_EXAMPLES per operation and a derandomized (fixed-seed) run, so it is deterministic and cheap.

A failure of any operation fails the test: each is a route bug or a document bug (fix whichever
is wrong against the specifications).
"""

from __future__ import annotations

import pytest

from tests.conftest import AUTH

schemathesis = pytest.importorskip("schemathesis")
from tests.support.schemathesis_checks import checks as _checks  # noqa: E402 - needs schemathesis

MAX_EXAMPLES = 3


def _fuzz(operation, app, checks) -> None:
    from hypothesis import HealthCheck, Phase, given, settings

    # No shrinking: a failure is reported as found (the known ones would otherwise cost most of the run).
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def fuzz(case):
        response = case.call(app=app, headers=AUTH)
        case.validate_response(response, checks=checks)

    fuzz()


def test_every_documented_operation_conforms_to_the_document(function_client, fake_kube, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("ORKA_GITHUB_WEBHOOK_SECRET", "fuzz-secret")  # unsigned deliveries: 401, not 503
    reset_settings()
    document = function_client("meta").get("/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(document)
    apps: dict[str, object] = {}
    checks, failures, fuzzed = _checks(), [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        function = operation.definition.raw["x-shoal-function"]
        if function not in apps:
            apps[function] = function_client(function).application
        try:
            _fuzz(operation, apps[function], checks)
        except (Exception, BaseExceptionGroup) as exc:  # every failing operation, not only the first
            failures.append(f"{operation.label}: {exc}")
        fuzzed += 1
    assert fuzzed == sum(len(p) for p in document["paths"].values()), "an operation was not fuzzed"
    assert not failures, "\n\n".join(failures)
