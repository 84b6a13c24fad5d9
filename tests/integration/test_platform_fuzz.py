"""schemathesis over every operation of /openapi.json against `make run` itself, through its gateway
(issue 21, "Done means"): what a client reaches from outside, not only each function's app in process
(tests/contract/openapi/test_schemathesis_document.py, which also explains the checks). It found the
gateway answering a control character in a path in Orka's error shape on labrats and console routes."""

from __future__ import annotations

import pytest

from tests.support.local_platform import Platform

schemathesis = pytest.importorskip("schemathesis")
from tests.support.schemathesis_checks import checks as _checks  # noqa: E402 - needs schemathesis

pytestmark = pytest.mark.integration

TOKEN = "fuzz-platform-token"
MAX_EXAMPLES = 2


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    started = Platform(None, extra_env={"SHOAL_STATE_DIR": str(tmp_path_factory.mktemp("fuzz-state")),
                                        "SHOAL_DEV_TOKEN": TOKEN})
    yield started
    assert started.stop() == 0


def test_every_operation_through_the_gateway_conforms_to_the_document(platform):
    from hypothesis import HealthCheck, Phase, given, settings

    schema = schemathesis.openapi.from_url(platform.url + "/openapi.json")
    checks, failures, fuzzed = _checks(), [], 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def fuzz(case):
            response = case.call(base_url=platform.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
            case.validate_response(response, checks=checks)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # every failing operation, not only the first
            failures.append(f"{operation.label}: {exc}")
        fuzzed += 1
    assert fuzzed > 200, "the document lists every operation"
    assert not failures, "\n\n".join(failures)
