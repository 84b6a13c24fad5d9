"""moto_fast's shortcuts leave moto's answers as they were: a kept condition parse is evaluated against
the item as it is now, kept per attribute values, and an invalid or unused-name expression is refused
every time. Through the store's client against the tests' in-process moto (which installs moto_fast)."""

from __future__ import annotations

import pytest

from shared.store.clients import client, error_code
from shared.store.tables import table_name

pytestmark = pytest.mark.usefixtures("aws")
KEY = {"pk": {"S": "w#ns"}, "sk": {"S": "a"}}


def put(version: int, condition: str, values: dict | None = None, names: dict | None = None) -> str | None:
    """None when written, else the error code (moto in process raises a bare exception for an expression
    it cannot parse: its type's name)."""
    kwargs = {"ConditionExpression": condition}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    if names:
        kwargs["ExpressionAttributeNames"] = names
    try:
        client("dynamodb").put_item(TableName=table_name("objects"), Item={**KEY, "version": {"N": str(version)}},
                                    **kwargs)
    except Exception as exc:
        return error_code(exc) or type(exc).__name__
    return None


def test_a_kept_parse_is_evaluated_against_the_current_item_and_kept_per_values():
    assert put(1, "attribute_not_exists(pk)") is None
    assert put(1, "attribute_not_exists(pk)") == "ConditionalCheckFailedException"  # same expression, item exists
    check = "version = :v"
    assert put(2, check, {":v": {"N": "1"}}) is None
    assert put(3, check, {":v": {"N": "1"}}) == "ConditionalCheckFailedException"  # stored is 2 now
    assert put(3, check, {":v": {"N": "2"}}) is None
    stored = client("dynamodb").get_item(TableName=table_name("objects"), Key=KEY)["Item"]
    assert stored["version"] == {"N": "3"}


def test_bad_expressions_are_refused_every_time():
    refusals = [(put(1, "version = = :v", {":v": {"N": "1"}}),
                 # a name given but not used in the expression: moto checks what the parse found, kept or not
                 put(1, "attribute_not_exists(pk)", names={"#unused": "x"})) for _ in range(2)]
    assert refusals[0] == refusals[1] and None not in refusals[0]
    assert refusals[0][1] == "ValidationException"
    assert put(1, "attribute_not_exists(#k)", names={"#k": "pk"}) is None
    # the kept parse still counts #k as used: refused on the condition, not as an unused name
    assert put(1, "attribute_not_exists(#k)", names={"#k": "pk"}) == "ConditionalCheckFailedException"


def test_request_ids_keep_their_shape():
    meta = client("dynamodb").get_item(TableName=table_name("objects"), Key=KEY)["ResponseMetadata"]
    request_id = meta["RequestId"]
    assert len(request_id) == 52 and request_id.isalnum() and request_id == request_id.upper()
    assert meta["HTTPHeaders"]["x-amzn-requestid"] == request_id
