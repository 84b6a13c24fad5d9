"""moto_queries: a Query that reads only its partition answers exactly what moto's own Query answers,
page by page (items, counts and LastEvaluatedKey), forwards and backwards, with and without sort-key
conditions, filters, Select=COUNT and a GSI, and it sees every write at once."""

from __future__ import annotations

import collections
import itertools

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from shared.local.moto_atomic import make_writes_atomic


@pytest.fixture
def ddb():
    make_writes_atomic()  # installs moto_queries too
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t}
                                  for n, t in (("pk", "S"), ("sk", "N"), ("g", "S"), ("o", "S"))],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": name, "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
                {"AttributeName": hash_key, "KeyType": "HASH"}, {"AttributeName": "o", "KeyType": "RANGE"}]}
                for name, hash_key in (("by-o", "g"), ("by-pk", "pk"))])  # by-pk: the table's hash key, as by-order
        for p, n in itertools.product(("a", "b", "c"), range(40)):
            item = {"pk": {"S": p}, "sk": {"N": str(n * 7 % 40 - 5)}, "v": {"N": str(n % 3)}}
            if n % 4:  # sparse index: a quarter of the items lack it
                item.update(g={"S": f"{p}{n % 2}"}, o={"S": f"{n % 5}-{n // 10}"})  # ties: the table's key decides
            client.put_item(TableName="t", Item=item)
        yield client


def pages(client, **query):
    """Every page of a Query, as (items, count, scanned, LastEvaluatedKey) tuples."""
    out, start = [], None
    while True:
        page = client.query(TableName="t", **query, **({"ExclusiveStartKey": start} if start else {}))
        start = page.get("LastEvaluatedKey")
        out.append((page.get("Items"), page["Count"], page["ScannedCount"], start))
        if not start or len(out) > 200:
            return out


def moto_own(client, **query):
    patched = Table.query
    Table.query = patched.__wrapped__
    try:
        return pages(client, **query)
    finally:
        Table.query = patched


QUERIES = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}},
    *({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}, "Limit": limit,
       "ScanIndexForward": forward} for limit in (1, 7, 39, 40, 41) for forward in (True, False)),
    {"KeyConditionExpression": "pk = :p AND sk > :s", "ExpressionAttributeValues": {":p": {"S": "a"}, ":s": {"N": "3"}},
     "Limit": 5},
    {"KeyConditionExpression": "pk = :p AND sk BETWEEN :x AND :y", "Limit": 4, "ScanIndexForward": False,
     "ExpressionAttributeValues": {":p": {"S": "c"}, ":x": {"N": "-3"}, ":y": {"N": "20"}}},
    {"KeyConditionExpression": "pk = :p", "FilterExpression": "v = :v", "Limit": 6,
     "ExpressionAttributeValues": {":p": {"S": "a"}, ":v": {"N": "1"}}},
    {"KeyConditionExpression": "pk = :p", "Select": "COUNT", "Limit": 9, "ExpressionAttributeValues": {":p": {"S": "c"}}},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nobody"}}, "Limit": 3},
    *({"IndexName": "by-o", "KeyConditionExpression": "g = :g", "Limit": limit, "ScanIndexForward": forward,
       "ExpressionAttributeValues": {":g": {"S": "a1"}}} for limit in (1, 4, 25) for forward in (True, False)),
    {"IndexName": "by-o", "KeyConditionExpression": "g = :g AND begins_with(o, :o)", "Limit": 2,
     "ExpressionAttributeValues": {":g": {"S": "b0"}, ":o": {"S": "2-"}}},
    *({"IndexName": "by-pk", "KeyConditionExpression": "pk = :p", "Limit": limit, "ScanIndexForward": forward,
       "ExpressionAttributeValues": {":p": {"S": "c"}}} for limit in (1, 4, 31) for forward in (True, False)),
    {"IndexName": "by-pk", "KeyConditionExpression": "pk = :p AND o > :o", "Limit": 3, "FilterExpression": "v = :v",
     "ExpressionAttributeValues": {":p": {"S": "a"}, ":o": {"S": "1-"}, ":v": {"N": "2"}}},
    {"IndexName": "by-pk", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nobody"}}},
    {"IndexName": "by-pk", "KeyConditionExpression": "pk = :p", "FilterExpression": "v = :v", "Limit": 5,
     "ScanIndexForward": False, "ExpressionAttributeValues": {":p": {"S": "b"}, ":v": {"N": "0"}}},
    {"IndexName": "by-pk", "KeyConditionExpression": "pk = :p", "Select": "COUNT", "Limit": 7,
     "ExpressionAttributeValues": {":p": {"S": "a"}}},
]


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_every_page_is_what_moto_itself_answers(ddb, query):
    assert pages(ddb, **query) == moto_own(ddb, **query)


def test_a_write_is_seen_by_the_next_query(ddb):
    everything = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}, "Limit": 100}
    assert len(pages(ddb, **everything)[0][0]) == 40  # cached now
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "sk": {"N": "-100"}, "g": {"S": "a1"}, "o": {"S": "0-new"}})
    ddb.delete_item(TableName="t", Key={"pk": {"S": "a"}, "sk": {"N": "0"}})
    ddb.update_item(TableName="t", Key={"pk": {"S": "a"}, "sk": {"N": "2"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "9"}})
    after = pages(ddb, **everything)
    assert after == moto_own(ddb, **everything)
    keys = [item["sk"]["N"] for item in after[0][0]]
    assert keys[0] == "-100" and "0" not in keys and len(keys) == 40
    assert next(i for i in after[0][0] if i["sk"]["N"] == "2")["v"] == {"N": "9"}
    by_index = {"IndexName": "by-o", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "a1"}}}
    indexed = pages(ddb, **by_index)
    assert indexed == moto_own(ddb, **by_index) and {"S": "0-new"} in [i["o"] for i in indexed[0][0]]


class _OnePartitionOnly(collections.defaultdict):
    """moto's items by hash key, refusing to be walked: a Query that reads them all fails."""

    def values(self):
        raise AssertionError("the whole table was read")

    items = __iter__ = values


def test_a_query_on_an_index_with_the_tables_hash_key_reads_only_that_partition(ddb):
    table = next(iter(dynamodb_backends.values()))["us-east-1"].tables["t"]
    query = {"IndexName": "by-pk", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}}
    expected = pages(ddb, **query)
    ddb.put_item(TableName="t", Item={"pk": {"S": "c"}, "sk": {"N": "99"}})  # the cache is stale: read again
    table.items = _OnePartitionOnly(dict, table.items)
    assert pages(ddb, **query) == expected and len(expected[0][0]) == 30
    other = {"IndexName": "by-o", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "b1"}}}
    with pytest.raises(AssertionError, match="the whole table was read"):  # another hash key: every item, as moto
        pages(ddb, **other)


@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("index", [None, "by-pk"])
@pytest.mark.parametrize("partition", ["a", "c"])  # before and after the start key's partition "b"
def test_a_start_key_of_another_partition_is_placed_as_moto_places_it(ddb, index, forward, partition):
    start = {"pk": {"S": "b"}, "sk": {"N": "2"}, **({"o": {"S": "2-1"}} if index else {})}
    query = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": partition}},
             "ExclusiveStartKey": start, "Limit": 3, "ScanIndexForward": forward, **({"IndexName": index} if index else {})}
    ours = ddb.query(TableName="t", **query)
    patched = Table.query
    Table.query = patched.__wrapped__
    try:
        theirs = ddb.query(TableName="t", **query)
    finally:
        Table.query = patched
    assert [ours.get(k) for k in ("Items", "Count", "LastEvaluatedKey")] == \
        [theirs.get(k) for k in ("Items", "Count", "LastEvaluatedKey")]


def test_a_gsi_page_hands_moto_only_the_page(ddb, monkeypatch):
    sorted_items, handed = Table.sorted_items, []
    monkeypatch.setattr(Table, "sorted_items", lambda self, h, r, items: handed.append(len(items)) or
                        sorted_items(self, h, r, items))
    query = {"IndexName": "by-pk", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}},
             "Limit": 4}
    assert sum(len(page[0]) for page in pages(ddb, **query)) == 30  # the 30 of 40 items that carry `o`
    assert handed and max(handed) == 5  # a page and one more, never the partition
