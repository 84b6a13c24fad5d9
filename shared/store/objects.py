"""The objects table: every CRUD resource, with conditional writes and cursor pages.

Create is conditional on the key being free (409); replace and update are conditional on the
stored `version` (optimistic locking); lists are Queries on one partition, paged by cursor.
A write can carry `Companion` records (new records of any kind, e.g. an event to deliver): they are
written in the same transaction, so they exist exactly when the write happened.

A record may carry a sequence (`seq`, an item attribute beside the document): the last number handed
out for a stream that belongs to it (a task's feed). A write of the record can take the next number
under its own version check (`create(seq=)`, `update(claim_seq=True)`: `Record.claimed_seq`), any
other writer takes one with `next_seq` (an atomic ADD); every write of the record is conditional on
the number it read, so no number is handed out twice and none is lost to a concurrent ADD.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.config import get_settings
from shared.errors import Conflict, NotFound
from shared.store.batch import ATTEMPTS, back_off
from shared.store.blobs import delete_blob, get_blob, put_blob
from shared.store.clients import client, error_code
from shared.store.cursor import decode_cursor, encode_cursor
from shared.store.outages import StoreUnavailable
from shared.store.tables import table_name


class AlreadyExists(Conflict):
    """The key is taken."""


class VersionConflict(Conflict):
    """The stored version is not the one the writer read."""


class _ConditionFailed(Exception):
    """A write's own condition did not hold."""


class _BlobGone(Exception):
    """An item's document is not in the bucket: replaced since the item was read, or lost."""


class MissingDocument(RuntimeError):
    """An item still points at a bucket document that does not exist (a bug or lost data: a 500)."""


@dataclass
class Record:
    kind: str
    namespace: str
    name: str
    version: int
    doc: dict[str, Any]
    expiry: int | None = None  # epoch seconds after which the record reads as absent (TTL)
    blob: str | None = None  # the bucket key holding a large document (store-internal)
    companions: tuple[Companion, ...] = ()  # written with this version (by the write that returned it)
    # create only: the document of the expired record whose key the create took (what a released
    # lease left for its next holder, see ObjectStore.expire), None when the key was free
    replaced: dict[str, Any] | None = None
    seq: int | None = None  # the record's sequence (see the module's doc); None when it keeps none
    claimed_seq: int | None = None  # the number the write that returned this record took for itself
    updated: int | None = None  # epoch seconds of the write that stored this version (records read from the store)


@dataclass(frozen=True)
class Companion:
    """A new record written in the same transaction as another write (both or neither)."""

    store: ObjectStore
    namespace: str
    name: str
    doc: dict[str, Any]
    expiry: int | None = None


def _now() -> int:
    return int(time.time())


class ObjectStore:
    """Repository of one kind of resource.

    `order` (optional) maps a document to a string stored in the item's `order` attribute, the sort
    key of the sparse `by-order` index: `list_ordered` then pages the kind in that order.
    """

    def __init__(self, kind: str, *, order: Callable[[dict], str] | None = None) -> None:
        self.kind = kind
        self.order = order

    # -- keys and items -------------------------------------------------------------------
    def _pk(self, namespace: str) -> str:
        return f"{self.kind}#{namespace}"

    def _key(self, namespace: str, name: str) -> dict:
        return {"pk": {"S": self._pk(namespace)}, "sk": {"S": name}}

    def _blob_key(self, namespace: str, name: str, version: int) -> str:
        return f"objects/{self.kind}/{namespace}/{name}/v{version}.json"

    def _item(self, namespace: str, name: str, version: int, doc: dict, expiry: int | None,
              seq: int | None = None) -> dict:
        raw = json.dumps(doc, separators=(",", ":"), default=str)
        item = {**self._key(namespace, name), "version": {"N": str(version)}, "updated": {"N": str(_now())}}
        if seq is not None:
            item["seq"] = {"N": str(seq)}
        # Items stay well under DynamoDB's 400 KB: larger documents live in the bucket.
        if len(raw.encode()) > get_settings().max_item_bytes:
            key = self._blob_key(namespace, name, version)
            put_blob(key, raw.encode(), "application/json")
            item["blob"] = {"S": key}
        else:
            item["doc"] = {"S": raw}
        if expiry is not None:
            item["expiry"] = {"N": str(expiry)}
        if self.order is not None:
            item["order"] = {"S": self.order(doc) or name}
        return item

    def new_item(self, namespace: str, name: str, doc: dict) -> tuple[str, dict[str, Any]]:
        """A record at version 1 as a (table, item) for `shared.store.batch.put_items` (unconditional:
        for a record that may be written again as it is, e.g. an index entry)."""
        return "objects", self._item(namespace, name, 1, doc, None)

    def _record(self, item: dict) -> Record | None:
        expiry = item.get("expiry")
        # TTL deletion is lazy everywhere: expired items are filtered here.
        if expiry is not None and int(expiry["N"]) <= _now():
            return None
        if "blob" in item:
            data = get_blob(item["blob"]["S"])
            if data is None:  # never an empty document: the caller re-reads the item
                raise _BlobGone(item["blob"]["S"])
            doc = json.loads(data)
        else:
            doc = json.loads(item["doc"]["S"])
        namespace = item["pk"]["S"].split("#", 1)[1]
        return Record(self.kind, namespace, item["sk"]["S"], int(item["version"]["N"]), doc,
                      int(expiry["N"]) if expiry is not None else None, item["blob"]["S"] if "blob" in item else None,
                      seq=int(item["seq"]["N"]) if "seq" in item else None,
                      updated=int(item["updated"]["N"]) if "updated" in item else None)

    def _call(self, op: str, **kwargs: Any) -> dict:
        return getattr(client("dynamodb"), op)(TableName=table_name("objects"), **kwargs)

    # -- operations -------------------------------------------------------------------------
    def get(self, namespace: str, name: str, *, consistent: bool = True) -> Record | None:
        """The record, or None when it is missing or expired.

        A replace drops the previous version's bucket document after its write, so an item read just
        before may point at a document that is gone: read the item again rather than call it missing.
        """
        gone = None
        for _ in range(3):
            item = self._call("get_item", Key=self._key(namespace, name), ConsistentRead=consistent).get("Item")
            if not item:
                return None
            try:
                return self._record(item)
            except _BlobGone as exc:
                gone = exc
        raise MissingDocument(f"{self.kind} {namespace}/{name}: document {gone} is missing from the bucket")

    def _listed(self, item: dict) -> Record | None:
        """A record of a list page; one whose document was replaced meanwhile is read afresh."""
        try:
            return self._record(item)
        except _BlobGone:
            return self.get(item["pk"]["S"].split("#", 1)[1], item["sk"]["S"])

    def require(self, namespace: str, name: str, message: str) -> Record:
        """The record, or NotFound(message)."""
        record = self.get(namespace, name)
        if record is None:
            raise NotFound(message)
        return record

    def create(self, namespace: str, name: str, doc: dict, *, exists_message: str | None = None,
               expiry: int | None = None, companions: tuple[Companion, ...] = (), seq: int | None = None) -> Record:
        """Store a new record at version 1; AlreadyExists (409) if the key is taken by a live record.
        `seq`: start the record's sequence, the create taking that number (`claimed_seq`)."""
        item = self._item(namespace, name, 1, doc, expiry, seq)
        try:
            # An expired item still occupies its key until TTL deletion: let a create replace it.
            old = self._put(item, "attribute_not_exists(pk) OR (attribute_exists(expiry) AND expiry <= :now)",
                            {":now": {"N": str(_now())}}, companions)
        except _ConditionFailed:
            self._drop_blob(item)
            raise AlreadyExists(exists_message or f"{self.kind} already exists") from None
        self._drop_blob(old)
        replaced = json.loads(old["doc"]["S"]) if "doc" in old else None
        return Record(self.kind, namespace, name, 1, doc, expiry, item.get("blob", {}).get("S"), companions,
                      replaced, seq, seq)

    def replace(self, namespace: str, name: str, doc: dict, *, expected_version: int,
                conflict_message: str | None = None, expiry: int | None = None,
                companions: tuple[Companion, ...] = (), old_blob: str | None = None,
                seq: tuple[int, int] | None = None) -> Record:
        """Write `doc` as version expected_version+1 if the stored version is still expected_version.

        `old_blob`: the bucket key of the replaced version's document, when the caller read it (a
        transactional write cannot return the old item to find it). `seq`: (the sequence read, the one
        to write), for a record that keeps one (a replace without it drops it: only `update` replaces
        such records).
        """
        version = expected_version + 1
        item = self._item(namespace, name, version, doc, expiry, seq[1] if seq else None)
        condition, values = "version = :v", {":v": {"N": str(expected_version)}}
        if seq is not None:  # a number taken meanwhile (next_seq) must not be handed out again
            condition, values = condition + " AND seq = :s", {**values, ":s": {"N": str(seq[0])}}
        try:
            old = self._put(item, condition, values, companions)
        except _ConditionFailed:
            self._drop_blob(item)
            raise VersionConflict(conflict_message or f"{self.kind} was modified concurrently") from None
        self._drop_blob(old or ({"blob": {"S": old_blob}} if old_blob else {}))
        new_seq = seq[1] if seq else None
        return Record(self.kind, namespace, name, version, doc, expiry, item.get("blob", {}).get("S"), companions,
                      seq=new_seq, claimed_seq=new_seq if seq and seq[1] != seq[0] else None)

    def _put(self, item: dict, condition: str, values: dict, companions: tuple[Companion, ...]) -> dict:
        """Put `item` under `condition` (with its companions, in one transaction); the old item when
        known. _ConditionFailed when the condition (not a companion's) failed."""
        if not companions:
            try:
                return self._call("put_item", Item=item, ConditionExpression=condition,
                                  ExpressionAttributeValues=values, ReturnValues="ALL_OLD").get("Attributes", {})
            except Exception as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise _ConditionFailed from None
                raise
        table = table_name("objects")
        writes = [{"Put": {"TableName": table, "Item": item, "ConditionExpression": condition,
                           "ExpressionAttributeValues": values}}]
        extra = [c.store._item(c.namespace, c.name, 1, c.doc, c.expiry) for c in companions]
        writes += [{"Put": {"TableName": table, "Item": e, "ConditionExpression": "attribute_not_exists(pk)"}}
                   for e in extra]
        try:
            client("dynamodb").transact_write_items(TransactItems=writes)
        except Exception as exc:
            for e in extra:
                self._drop_blob(e)
            reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
            if error_code(exc) == "TransactionCanceledException" and reasons and \
                    reasons[0].get("Code") == "ConditionalCheckFailed":
                raise _ConditionFailed from None
            raise
        return {}

    def update(self, namespace: str, name: str, mutate: Callable[[dict], bool | None], *,
               not_found_message: str | None = None, attempts: int = 8,
               expiry: Callable[[dict], int | None] | None = None,
               companions: Callable[[dict], tuple[Companion, ...]] | None = None,
               current: Record | None = None, claim_seq: bool = False) -> Record:
        """Read, apply `mutate` to the document, write back under the version check; retry on conflict.

        `current`: the record as the caller just read it, used for the first attempt instead of reading
        it again (the version check still guards the write; a conflict reads afresh).
        `claim_seq`: the write takes the record's next sequence number (`claimed_seq` of the answer), if
        the record keeps a sequence.

        `mutate` edits the dict in place; returning False means "nothing to change" and skips the write.
        The record keeps its expiry unless `expiry` (given the mutated document) says otherwise.
        `companions` (given the mutated document) are written with it, in one transaction.
        """
        for attempt in range(attempts):
            record = self.get(namespace, name) if current is None or attempt else _copy(current)
            if record is None:
                raise NotFound(not_found_message or f"{self.kind} not found")
            if mutate(record.doc) is False:
                return record
            seq = None if record.seq is None else (record.seq, record.seq + (1 if claim_seq else 0))
            try:
                return self.replace(namespace, name, record.doc, expected_version=record.version,
                                    expiry=expiry(record.doc) if expiry is not None else record.expiry,
                                    companions=companions(record.doc) if companions is not None else (),
                                    old_blob=record.blob, seq=seq)
            except VersionConflict:
                # Jittered backoff so contending writers stop colliding in lock-step.
                time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
        raise VersionConflict(f"{self.kind} was modified concurrently")

    def next_seq(self, namespace: str, name: str) -> int | None:
        """Take the record's next sequence number (one atomic ADD, no version change); None when the
        record keeps no sequence or is gone."""
        try:
            answer = self._call("update_item", Key=self._key(namespace, name), UpdateExpression="ADD seq :one",
                                ConditionExpression="attribute_exists(seq)",
                                ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return int(answer["Attributes"]["seq"]["N"])

    def delete(self, namespace: str, name: str, *, expected_version: int | None = None,
               owner: str | None = None) -> bool:
        """Delete the record; False when it did not exist. With expected_version, conditional on it;
        with `owner`, conditional on the document's `owner` field (a lease: False when not held by it)."""
        kwargs: dict[str, Any] = {"Key": self._key(namespace, name), "ReturnValues": "ALL_OLD"}
        if expected_version is not None:
            kwargs["ConditionExpression"] = "version = :v"
            kwargs["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
        if owner is not None:
            kwargs["ConditionExpression"], kwargs["ExpressionAttributeValues"] = _held_by(owner)
        try:
            old = self._call("delete_item", **kwargs).get("Attributes")
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                if owner is not None:
                    return False
                raise VersionConflict(f"{self.kind} was modified concurrently") from None
            raise
        if not old:
            return False
        self._drop_blob(old)
        return True

    def expire(self, namespace: str, name: str, *, owner: str, doc: dict) -> bool:
        """End a lease now in one conditional write, if `owner` holds it: the record reads as absent from
        here on (its key is free for the next create) and keeps `doc` for the next holder, who finds it
        in the created record's `replaced`. False when the lease is not held by `owner` (any more)."""
        condition, values = _held_by(owner)
        now = str(_now())
        try:
            self._call("update_item", Key=self._key(namespace, name), ConditionExpression=condition,
                       UpdateExpression="SET doc = :doc, expiry = :now, updated = :now, version = version + :one",
                       ExpressionAttributeValues={**values, ":doc": {"S": json.dumps(doc, separators=(",", ":"))},
                                                  ":now": {"N": now}, ":one": {"N": "1"}})
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def list_page(self, namespace: str, *, limit: int | None, cursor: str | None = None
                  ) -> tuple[list[Record], str | None]:
        """One page of records in name order and the cursor of the next page (None at the end).

        limit=None reads the whole partition (the spec's `limit=0`).
        """
        start = decode_cursor(cursor, expect_pk=self._pk(namespace))
        records: list[Record] = []
        while True:
            kwargs: dict[str, Any] = {"KeyConditionExpression": "pk = :pk",
                                      "ExpressionAttributeValues": {":pk": {"S": self._pk(namespace)}}}
            if limit is not None:
                kwargs["Limit"] = limit - len(records)
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._call("query", **kwargs)
            for item in page.get("Items", []):
                record = self._listed(item)
                if record is not None:
                    records.append(record)
            start = page.get("LastEvaluatedKey")
            if not start or (limit is not None and len(records) >= limit):
                break
        if limit is None:
            return records, None
        # Only hand out a cursor when another item exists, so the last page has no `continue`.
        if start and not self._call("query", KeyConditionExpression="pk = :pk",
                                    ExpressionAttributeValues={":pk": {"S": self._pk(namespace)}},
                                    ExclusiveStartKey=start, Limit=1, Select="COUNT").get("Count"):
            start = None
        return records, encode_cursor(start)

    def list_ordered(self, namespace: str, *, limit: int, cursor: str | None = None, descending: bool = True,
                     accept: Callable[[dict], bool] | None = None) -> tuple[list[Record], str | None]:
        """One page of the records `accept` admits, in `order` (newest first by default), and the next cursor.

        A Query on the sparse `by-order` index: it reads only as far as the page (plus the next
        admitted record, so the last page carries no cursor) needs, never the whole partition.
        """
        assert self.order is not None, f"{self.kind} has no order"
        start = decode_cursor(cursor, expect_pk=self._pk(namespace), attributes=("pk", "sk", "order"))
        records: list[Record] = []
        last_key: dict | None = None
        while True:
            kwargs: dict[str, Any] = {"IndexName": "by-order", "KeyConditionExpression": "pk = :pk",
                                      "ExpressionAttributeValues": {":pk": {"S": self._pk(namespace)}},
                                      "ScanIndexForward": not descending,
                                      # a filter may skip items: read bigger pages (the cursor stays exact,
                                      # it is the key of the last record handed out)
                                      "Limit": limit + 1 if accept is None else max(limit + 1, 100)}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._call("query", **kwargs)
            for item in page.get("Items", []):
                record = self._listed(item)
                if record is None or (accept is not None and not accept(record.doc)):
                    continue
                if len(records) == limit:  # one more admitted record exists: hand out a cursor
                    return records, encode_cursor(last_key)
                records.append(record)
                last_key = {k: item[k] for k in ("pk", "sk", "order")}
            start = page.get("LastEvaluatedKey")
            if not start:
                return records, None

    @staticmethod
    def _drop_blob(item: dict) -> None:
        blob = item.get("blob") if item else None
        if blob:
            # An orphaned blob is garbage, not an error for the caller.
            with contextlib.suppress(Exception):
                delete_blob(blob["S"])


def _held_by(owner: str) -> tuple[str, dict]:
    """The condition "the stored document's `owner` field is `owner`" (leases: an owner is a random
    token, so finding `"owner":"<token>"` in the stored JSON is exact; a record kept in the bucket
    never matches, and leases are tiny)."""
    token = json.dumps({"owner": owner}, separators=(",", ":"))[1:-1]
    return "contains(doc, :owner)", {":owner": {"S": token}}


def _copy(record: Record) -> Record:
    """The record with a deep copy of its document: `mutate` edits in place, the caller's copy stays as read.
    (A number the caller's write claimed stays the caller's.)"""
    return dataclasses.replace(record, doc=copy.deepcopy(record.doc), claimed_seq=None)


BATCH_GET_KEYS = 100  # DynamoDB's limit of keys per BatchGetItem


class Readable(Protocol):
    """What get_together reads: an ObjectStore, or another kind of item of the objects table that
    knows its key and how to read it (shared.store.counters.CounterSet)."""

    def _key(self, namespace: str, name: str) -> dict: ...

    def _record(self, item: dict) -> Any: ...

    def get(self, namespace: str, name: str, *, consistent: bool = True) -> Any: ...


def get_together(*wanted: tuple[Readable, str, str], consistent: bool = True) -> list[Any]:
    """Several records (store, namespace, name) in one BatchGetItem round trip (per 100), in the order
    asked; None for each one absent.

    For views that join records of different kinds (a task, its plan and its usage counters) or read a
    page of records by name (a task's children): one round trip instead of one per record. A record
    whose document was replaced meanwhile is read again on its own.
    """
    keys = [store._key(namespace, name) for store, namespace, name in wanted]
    found: dict[tuple[str, str], dict] = {}
    unique = list({(key["pk"]["S"], key["sk"]["S"]): key for key in keys}.values())
    for start in range(0, len(unique), BATCH_GET_KEYS):
        found.update(_batch_get(unique[start:start + BATCH_GET_KEYS], consistent))
    records: list[Any] = []
    for (store, namespace, name), key in zip(wanted, keys, strict=True):
        item = found.get((key["pk"]["S"], key["sk"]["S"]))
        if item is None:
            records.append(None)
            continue
        try:
            records.append(store._record(item))
        except _BlobGone:
            records.append(store.get(namespace, name, consistent=consistent))
    return records


def _batch_get(keys: list[dict], consistent: bool) -> dict[tuple[str, str], dict]:
    """The items of at most 100 keys of the objects table, by (pk, sk); absent ones are left out.
    Throttled keys (UnprocessedKeys) are asked for again, at most ATTEMPTS calls in all, then
    StoreUnavailable (503): the client retries after Retry-After."""
    table = table_name("objects")
    found: dict[tuple[str, str], dict] = {}
    pending = keys
    for attempt in range(ATTEMPTS):
        if not pending:
            break
        if attempt:
            back_off(attempt - 1)
        answer = client("dynamodb").batch_get_item(
            RequestItems={table: {"Keys": pending, "ConsistentRead": consistent}})
        for item in answer.get("Responses", {}).get(table, []):
            found[(item["pk"]["S"], item["sk"]["S"])] = item
        pending = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
    if pending:
        raise StoreUnavailable()
    return found
