"""moto_transactions: a TransactWriteItems that undoes only the items it wrote answers exactly what moto's
own answers (cancellation reasons, errors, the state after), leaves the store as it was when it fails,
and never copies a whole table (its cost does not grow with the table)."""

from __future__ import annotations

import contextlib
import copy
from collections import Counter

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table

from shared.local.moto_atomic import make_writes_atomic

PAGE = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "task#ns"}}}
BY_ORDER = {"IndexName": "by-order", "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "task#ns"}}}


def key(name: str) -> dict:
    return {"pk": {"S": "task#ns"}, "sk": {"S": name}}


def put(name: str, **extra) -> dict:
    return {"Put": {"TableName": "objects", "Item": {**key(name), "version": {"N": "9"}}, **extra}}


def seed(client, filler: int = 0) -> None:
    """The store's shape: `objects` (pk/sk, the sparse GSI by-order), a hash-only table with a stream."""
    client.create_table(
        TableName="objects", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "order")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-order", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "order", "KeyType": "RANGE"}]}])
    client.create_table(
        TableName="claims", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    for name in ("a", "b", "c", "d"):
        client.put_item(TableName="objects", Item={**key(name), "version": {"N": "1"}, "order": {"S": f"o-{name}"},
                                                   "doc": {"M": {"tags": {"L": [{"S": name}]}}}})
    for n in range(filler):
        client.put_item(TableName="objects", Item={"pk": {"S": "log#ns"}, "sk": {"S": f"{n:06d}"}, "doc": {"S": "x" * 200}})
    client.put_item(TableName="claims", Item={"id": {"S": "held"}, "by": {"S": "one"}})


def state(client) -> dict:
    """Everything the store holds, and what a Query and a GSI Query of the partition answer."""
    scans = {name: sorted((item for item in client.scan(TableName=name)["Items"]), key=repr)
             for name in ("objects", "claims")}
    shard = dynamodb_backends["123456789012"]["us-east-1"].tables["claims"].stream_shard
    return {**scans, "page": client.query(TableName="objects", **PAGE)["Items"],
            "by-order": client.query(TableName="objects", **BY_ORDER)["Items"], "stream records": len(shard.items)}


@contextlib.contextmanager
def moto_own():
    """moto's own TransactWriteItems (a copy of each table it names), for the comparison."""
    ours = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = ours.moto
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = ours


def run(items: list, *, stock: bool = False) -> tuple[dict, dict | None, dict]:
    """(state before, the error answer or None, state after) of one transaction on a fresh store."""
    make_writes_atomic()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        seed(client)
        before = state(client)  # also fills moto_queries' cache, which the transaction must invalidate
        error = None
        with moto_own() if stock else contextlib.nullcontext():
            try:
                client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                error = {"Error": exc.response["Error"], "CancellationReasons": exc.response.get("CancellationReasons")}
        return before, error, state(client)


WRITES = [
    put("a"),  # replaces an item
    {"Update": {"TableName": "objects", "Key": key("b"), "UpdateExpression": "SET version = :v, doc.tags[0] = :t",
                "ExpressionAttributeValues": {":v": {"N": "2"}, ":t": {"S": "changed"}}}},  # changed in place
    {"Delete": {"TableName": "objects", "Key": key("c")}},
    put("new", ConditionExpression="attribute_not_exists(pk)"),  # created
    {"Update": {"TableName": "objects", "Key": key("made"), "UpdateExpression": "SET #o = :o",
                "ExpressionAttributeNames": {"#o": "order"}, "ExpressionAttributeValues": {":o": {"S": "o-0"}}}},
    {"Put": {"TableName": "claims", "Item": {"id": {"S": "free"}}}},
    {"Delete": {"TableName": "claims", "Key": {"id": {"S": "held"}}}},
]
FAILED_CHECK = {"ConditionCheck": {"TableName": "objects", "Key": key("d"), "ConditionExpression": "version = :v",
                                   "ExpressionAttributeValues": {":v": {"N": "7"}},
                                   "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
CASES = {
    "a failed check after every kind of write": WRITES + [FAILED_CHECK],
    "a failed conditional put between writes": [WRITES[0], put("b", ConditionExpression="attribute_not_exists(pk)"),
                                                WRITES[2], WRITES[3]],
    "a failed delete and a failed check": [WRITES[5], {"Delete": {
        "TableName": "objects", "Key": key("a"), "ConditionExpression": "version = :v",
        "ExpressionAttributeValues": {":v": {"N": "5"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}, FAILED_CHECK],
    "a missing table": [WRITES[0], {"ConditionCheck": {"TableName": "nothing", "Key": {"id": {"S": "x"}},
                                                      "ConditionExpression": "attribute_exists(id)"}}],
    "two operations on one item": [WRITES[0], WRITES[3], {"Delete": {"TableName": "objects", "Key": key("a")}}],
    "a key of the wrong type": [WRITES[0], WRITES[6], {"Put": {"TableName": "claims", "Item": {"id": {"N": "1"}}}}],
    "more than 100 items": [put(f"n{n}") for n in range(101)],
    "everything applied": WRITES,
}


@pytest.mark.parametrize("items", CASES.values(), ids=CASES.keys())
def test_the_answer_and_the_state_after_are_moto_own(items):
    before, error, after = run(items)
    assert (before, error, after) == run(items, stock=True)
    if error is not None:
        assert after == before  # all or nothing
    else:
        assert after != before


def test_a_failed_transaction_restores_what_it_wrote_and_gives_each_items_reason():
    before, error, after = run(WRITES + [FAILED_CHECK])
    assert error == {"Error": {"Code": "TransactionCanceledException",
                               "Message": "Transaction cancelled, please refer cancellation reasons for specific "
                                          "reasons [None, None, None, None, None, None, None, ConditionalCheckFailed]"},
                     "CancellationReasons": [{"Code": "None"}] * 7 + [{
                         "Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
                         "Item": {**key("d"), "version": {"N": "1"}, "order": {"S": "o-d"},
                                  "doc": {"M": {"tags": {"L": [{"S": "d"}]}}}}}]}
    assert after == before
    assert [item["sk"]["S"] for item in after["page"]] == ["a", "b", "c", "d"]
    assert after["page"][1]["doc"] == {"M": {"tags": {"L": [{"S": "b"}]}}}  # the in-place update undone
    assert after["claims"] == [{"id": {"S": "held"}, "by": {"S": "one"}}] and after["stream records"] == 1


def test_a_validation_error_mid_transaction_is_raised_and_undoes_the_writes_before_it():
    before, error, after = run(CASES["two operations on one item"])
    assert error == {"Error": {"Code": "ValidationException", "Message": "Transaction request cannot include "
                               "multiple operations on one item"}, "CancellationReasons": None}
    assert after == before


def deepcopies(filler: int, *, stock: bool, monkeypatch) -> tuple[Counter, int]:
    """The types deep-copied at the top and the objects deep-copied in all, by one failed transaction
    on a store of `filler` more items."""
    make_writes_atomic()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        seed(client, filler)
        original, top, total = copy.deepcopy, Counter(), [0]

        def counting(x, memo=None, _nil=[]):  # noqa: B006 - copy.deepcopy's own signature
            total[0] += 1
            if memo is None:
                top[type(x).__name__] += 1
            return original(x, memo, _nil)

        monkeypatch.setattr(copy, "deepcopy", counting)
        with moto_own() if stock else contextlib.nullcontext(), pytest.raises(ClientError):
            client.transact_write_items(TransactItems=WRITES + [FAILED_CHECK])
        monkeypatch.setattr(copy, "deepcopy", original)
        return top, total[0]


def test_no_table_is_copied_and_the_cost_does_not_grow_with_the_table(monkeypatch):
    small, small_total = deepcopies(10, stock=False, monkeypatch=monkeypatch)
    big, big_total = deepcopies(300, stock=False, monkeypatch=monkeypatch)
    assert Table.__name__ not in small + big
    assert big_total == small_total
    assert big == small and small["Item"] >= 5  # each item written, copied once
    stock, stock_total = deepcopies(300, stock=True, monkeypatch=monkeypatch)
    assert stock[Table.__name__] == len(WRITES) + 1 and stock_total > 30 * big_total  # what it catches: moto copies a table per item
