"""The checks of the schemathesis run over the document (tests/contract/openapi/test_schemathesis_document.py),
in a module of their own so that another run (e.g. against `make run`) can use them: schemathesis refuses
a second registration of a check's name, which importing one test module from another caused."""

from __future__ import annotations

import schemathesis


def checks():
    from schemathesis.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [no_undocumented_server_error, status_code_conformance, content_type_conformance,
            response_schema_conformance]


@schemathesis.check
def no_undocumented_server_error(ctx, response, case):
    """schemathesis' not_a_server_error, except for a 5xx the operation documents (see the docstring)."""
    documented = case.operation.definition.raw.get("responses", {})
    if response.status_code >= 500 and (response.status_code == 500 or str(response.status_code) not in documented):
        raise AssertionError(f"server error {response.status_code}: {response.text[:300]}")
