"""botocore's parameter validation, put back for the tests only.

The store's clients skip it (shared.store.clients: DynamoDB and S3 validate every request
themselves), but moto checks less than AWS: without it a call of ours with a wrongly typed parameter
(an int where DynamoDB wants a string) would pass every test and fail only against AWS. Registered
on the store's boto3 session, the hook reaches every store client created afterwards.
"""

from __future__ import annotations

from typing import Any


def _validate(params: dict, model: Any, **_: Any) -> None:
    from botocore.exceptions import ParamValidationError
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(params, model.input_shape)
    if report.has_errors():
        raise ParamValidationError(report=report.generate_report())


def validate_store_parameters() -> None:
    """Validate every store call's parameters as botocore's default client would (idempotent)."""
    from shared.store.clients import session

    session().events.register("provide-client-params", _validate, unique_id="tests-validate-store-parameters")
