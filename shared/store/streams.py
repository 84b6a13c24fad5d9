"""The streams table: append-only ordered records (SSE events, logs, messages, transcripts).

A record's sort key is its sequence number. Numbers come from a counter item per stream (`append`:
reserve, then write conditionally; `append_many`: reserve a run, then one batch), or, for a writer
that holds a lock over the stream, from the number it knows (`Writer`: one conditional write per
record), or from a sequence its owner keeps (`put_new` at a number taken from it: a task's feed,
`shared.tasks.feed`). A record is never overwritten: every single write is conditional on its number being free.
"""

from __future__ import annotations

import json
from typing import Any

from shared.store.batch import put_items
from shared.store.clients import client, error_code
from shared.store.tables import table_name


def _reserve(stream: str, count: int = 1) -> int:
    """Atomically reserve the stream's next `count` sequence numbers (ADD is atomic); the last of them."""
    response = client("dynamodb").update_item(
        TableName=table_name("objects"),
        Key=_counter(stream),
        UpdateExpression="ADD n :count",
        ExpressionAttributeValues={":count": {"N": str(count)}},
        ReturnValues="UPDATED_NEW",
    )
    return int(response["Attributes"]["n"]["N"])


def _counter(stream: str) -> dict[str, Any]:
    return {"pk": {"S": "seq#streams"}, "sk": {"S": stream}}


def _raise_counter(stream: str, floor: int) -> None:
    """Move the counter up to `floor` (never down): after numbers were taken without it."""
    try:
        client("dynamodb").update_item(
            TableName=table_name("objects"), Key=_counter(stream), UpdateExpression="SET n = :floor",
            ConditionExpression="attribute_not_exists(n) OR n < :floor",
            ExpressionAttributeValues={":floor": {"N": str(floor)}})
    except Exception as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise


def _last(stream: str) -> int:
    """The highest sequence number recorded in the stream (0 when empty)."""
    items = client("dynamodb").query(
        TableName=table_name("streams"), KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": stream}}, ProjectionExpression="sk",
        ScanIndexForward=False, Limit=1, ConsistentRead=True).get("Items", [])
    return int(items[0]["sk"]["N"]) if items else 0


def _item(stream: str, seq: int, record: dict[str, Any], expiry: int | None) -> dict[str, Any]:
    item = {"pk": {"S": stream}, "sk": {"N": str(seq)}, "data": {"S": json.dumps(record, separators=(",", ":"))}}
    if expiry is not None:
        item["expiry"] = {"N": str(expiry)}
    return item


def new_item(stream: str, seq: int, record: dict[str, Any], expiry: int | None = None) -> tuple[str, dict[str, Any]]:
    """The record at `seq` as a (table, item) for `shared.store.batch.put_items`: for a number no one
    else can write (a batch is unconditional)."""
    return "streams", _item(stream, seq, record, expiry)


def delete_record(stream: str, seq: int) -> None:
    """Remove the record at `seq` (a write undone: see `shared.tasks.service.store_new_task`)."""
    client("dynamodb").delete_item(TableName=table_name("streams"),
                                   Key={"pk": {"S": stream}, "sk": {"N": str(seq)}})


def put_new(stream: str, seq: int, record: dict[str, Any], expiry: int | None = None) -> bool:
    """Write the record at `seq` unless that number is taken (never overwrites); False when taken."""
    try:
        client("dynamodb").put_item(TableName=table_name("streams"), Item=_item(stream, seq, record, expiry),
                                    ConditionExpression="attribute_not_exists(pk)")
        return True
    except Exception as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        return False


def append(stream: str, record: dict[str, Any], *, expiry: int | None = None) -> int:
    """Append a record and return its sequence number (1, 2, …), unique and increasing per stream.

    Two calls: reserve the number (the counter), write the record conditionally. A taken number means
    the counter is behind the records (a `Writer` numbered them itself, or it was reset): move it up
    to the last record and reserve again.
    """
    for _ in range(10):
        seq = _reserve(stream)
        if put_new(stream, seq, record, expiry):
            return seq
        _raise_counter(stream, _last(stream))
    raise RuntimeError(f"could not append to stream {stream}: sequence numbers keep colliding")


def append_many(stream: str, records: list[dict[str, Any]], *, expiry: int | None = None) -> list[int]:
    """Append several records in order, in two calls for up to 25: reserve their numbers in one
    counter update, then write them in one BatchWriteItem. The numbers are exclusively this call's,
    so the batch cannot overwrite anything, provided the stream is numbered by its counter only
    (`append`/`append_many`; never a `Writer` stream). Their sequence numbers, in order."""
    if not records:
        return []
    last = _reserve(stream, len(records))
    numbers = list(range(last - len(records) + 1, last + 1))
    put_items([new_item(stream, seq, record, expiry) for seq, record in zip(numbers, records, strict=True)])
    return numbers


class Writer:
    """Appends for a stream's only writer, one conditional PutItem per record.

    For a writer that holds a lock over everything that writes the stream (a chat turn holds its
    session's lock) and knows the stream's last number (`last`, handed on by the lock's previous
    holder; 0 for a stream it just named): it writes at last+1 without the counter. Not knowing it
    (None), it reads the stream's last record first (an empty stream continues from its counter,
    which `delete` leaves at the highest number it deleted). A taken number (a stale `last`, or the
    lock was lost) falls back to `append`. No record is ever overwritten; the counter lags behind
    such a stream, which `append` and `delete` account for.
    """

    def __init__(self, stream: str, last: int | None = None) -> None:
        self.stream, self.last = stream, last

    def append(self, record: dict[str, Any], *, expiry: int | None = None) -> int:
        if self.last is None:
            self.last = _last(self.stream) or None
        if self.last is not None and put_new(self.stream, self.last + 1, record, expiry):
            self.last += 1
        else:
            self.last = append(self.stream, record, expiry=expiry)
        return self.last


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

    The sequence counter is kept (first moved up to the last record: a `Writer` may have numbered past
    it), so a stream recreated under the same id never reuses a number.
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
        if keys:  # a page is in order: its last key is the highest number so far
            _raise_counter(stream, int(keys[-1]["sk"]["N"]))
        for i in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": key}} for key in keys[i:i + 25]]
            while requests:
                response = ddb.batch_write_item(RequestItems={table_name("streams"): requests})
                requests = response.get("UnprocessedItems", {}).get(table_name("streams"), [])
        deleted += len(keys)
        start = page.get("LastEvaluatedKey")
        if not start:
            return deleted
