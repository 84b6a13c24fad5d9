"""The streams table: append-only ordered records (SSE events, logs, messages, transcripts)."""

from __future__ import annotations

import json
from typing import Any

from shared.store.clients import client
from shared.store.tables import table_name


def _next_sequence(stream: str) -> int:
    """Atomically reserve the stream's next sequence number (a counter item, ADD is atomic)."""
    response = client("dynamodb").update_item(
        TableName=table_name("objects"),
        Key={"pk": {"S": "seq#streams"}, "sk": {"S": stream}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return int(response["Attributes"]["n"]["N"])


def append(stream: str, record: dict[str, Any], *, expiry: int | None = None) -> int:
    """Append a record and return its sequence number (1, 2, …), unique and increasing per stream."""
    seq = _next_sequence(stream)
    item = {"pk": {"S": stream}, "sk": {"N": str(seq)}, "data": {"S": json.dumps(record, separators=(",", ":"))}}
    if expiry is not None:
        item["expiry"] = {"N": str(expiry)}
    client("dynamodb").put_item(TableName=table_name("streams"), Item=item,
                                ConditionExpression="attribute_not_exists(pk)")
    return seq


def read(stream: str, *, after: int = 0, limit: int = 100) -> list[tuple[int, dict[str, Any]]]:
    """Records with sequence > after, in order, at most `limit`."""
    response = client("dynamodb").query(
        TableName=table_name("streams"),
        KeyConditionExpression="pk = :pk AND sk > :after",
        ExpressionAttributeValues={":pk": {"S": stream}, ":after": {"N": str(after)}},
        Limit=limit,
        ConsistentRead=True,
    )
    return [(int(i["sk"]["N"]), json.loads(i["data"]["S"])) for i in response.get("Items", [])]


def delete(stream: str) -> int:
    """Delete every record of a stream (e.g. a deleted session's transcript); the number deleted.

    The sequence counter is kept, so a stream recreated under the same id never reuses a number.
    """
    ddb = client("dynamodb")
    deleted, start = 0, None
    while True:
        kwargs: dict[str, Any] = {"TableName": table_name("streams"), "KeyConditionExpression": "pk = :pk",
                                  "ExpressionAttributeValues": {":pk": {"S": stream}},
                                  "ProjectionExpression": "pk, sk"}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = ddb.query(**kwargs)
        keys = page.get("Items", [])
        for i in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": key}} for key in keys[i:i + 25]]
            while requests:
                response = ddb.batch_write_item(RequestItems={table_name("streams"): requests})
                requests = response.get("UnprocessedItems", {}).get(table_name("streams"), [])
        deleted += len(keys)
        start = page.get("LastEvaluatedKey")
        if not start:
            return deleted
