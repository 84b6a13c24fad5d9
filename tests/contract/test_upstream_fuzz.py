"""Schemathesis with the *clients'* OpenAPI documents against Shoal's routes (issue 20).

Kubernaut's agent document (v1.5.7 and v1.6.0-rc4) drives the incidents function, LogJedi's LLM-service
document drives the analyze function, in process, against moto, authenticated (their documents declare
no security; Shoal keeps authentication). Checks: no 5xx, every status declared, its media type
declared, its body valid for the declared schema. Bounded: a few examples per operation, derandomised
(fixed seed), so the run is deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import AUTH

schemathesis = pytest.importorskip("schemathesis")

UPSTREAM = Path(__file__).parents[1] / "fixtures" / "upstream"
MAX_EXAMPLES = 12


def _checks():
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _fuzz(schema, app, *, paths: tuple[str, ...]) -> list[str]:
    from hypothesis import HealthCheck, given, settings

    checks, failures, fuzzed = _checks(), [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(paths):
            continue

        @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def fuzz(case):
            response = case.call(app=app, headers=AUTH)
            case.validate_response(response, checks=checks)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # every failing operation, not only the first
            failures.append(f"{operation.label}: {exc}")
        fuzzed.append(operation.label)
    assert fuzzed, "no operation matched"
    return failures


@pytest.mark.parametrize("name", ["openapi-v1.5.7.json", "openapi-v1.6.0-rc4.json"])
def test_kubernauts_document_finds_no_failure_in_the_incident_api(function_client, fake_kube, monkeypatch, name):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_INCIDENT_MAX_SESSIONS", "10000")  # capacity (a declared 500) is not under test
    reset_settings()
    document = json.loads((UPSTREAM / "kubernaut" / name).read_text())
    failures = _fuzz(schemathesis.openapi.from_dict(document), function_client("incidents").application,
                     paths=("/api/v1/incident/",))
    assert not failures, "\n\n".join(failures)


def test_logjedis_document_finds_no_failure_in_the_operator_api(function_client, fake_kube, monkeypatch, tmp_path):
    from shared.config import reset_settings

    # A model answers (503 "no model" and 502 "model failed" are not in their document): the mock,
    # with a valid finding for every conversation.
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"text": json.dumps({"summary": "s", "root_cause": "c", "recommendation": "r"})}]))
    monkeypatch.setenv("SHOAL_MOCK_SCRIPT", str(script))
    monkeypatch.setenv("SHOAL_ANALYZE_ALLOW_MOCK", "true")
    reset_settings()
    document = json.loads((UPSTREAM / "logjedi" / "openapi.json").read_text())
    failures = _fuzz(schemathesis.openapi.from_dict(document), function_client("analyze").application,
                     paths=("/",))
    assert not failures, "\n\n".join(failures)
