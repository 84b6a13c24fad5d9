"""The store's boto3 clients: configured once, operations guarded once (shared.store.clients)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ParamValidationError
from botocore.validate import ParamValidationDecorator

from shared.store.clients import client
from shared.store.outages import StoreUnavailable
from shared.store.tables import table_name
from tests.support.outage import closed_port_url

BAD_KEY = {"pk": {"S": 1}, "sk": {"S": "y"}}  # an int where DynamoDB wants a string


def test_the_client_skips_botocore_validation_and_the_tests_put_it_back(aws):
    ddb = client("dynamodb")
    # production: the request is serialised as it is (no walk over its shapes per call) ...
    assert not isinstance(ddb._raw._serializer, ParamValidationDecorator)
    # ... and under test a malformed call still fails before it is sent (moto would answer it)
    with pytest.raises(ParamValidationError, match="Invalid type for parameter Key.pk.S"):
        ddb.get_item(TableName=table_name("objects"), Key=BAD_KEY)


def test_an_operation_is_wrapped_once_and_still_translates_outages(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_port_url())
    ddb = client("dynamodb")
    first = ddb.get_item
    assert ddb.get_item is first  # kept on the instance: no wrapper built per call
    for _ in range(2):  # the kept wrapper, like the first, answers an outage as StoreUnavailable
        with pytest.raises(StoreUnavailable):
            first(TableName=table_name("objects"), Key={"pk": {"S": "x"}, "sk": {"S": "y"}})
