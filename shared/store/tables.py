"""Table and bucket definitions: the single source for the local bootstrap and `infra/`.

Access patterns (all Queries or key lookups, never Scans on a request path):

objects      pk = "<kind>#<namespace>", sk = "<name>"
             - get/create/replace/delete one resource by kind, namespace and name
             - list a kind in a namespace, in name order, paged by LastEvaluatedKey
             - `version` is the optimistic-lock attribute; `doc` holds the JSON document, or
               `blob` the bucket key when the document is larger than the item limit
  by-order   (sparse GSI) pk = "<kind>#<namespace>", sk = `order` (S): only items of kinds whose
             ObjectStore has an `order` function carry the attribute (memories and memory
             proposals: their updatedAt/createdAt plus the id), so "newest first" is one Query
             with ScanIndexForward=false, paged by LastEvaluatedKey
streams      pk = "<stream id>", sk = sequence number (N)
             - append in order (conditional on the sequence being free)
             - read after a sequence number (SSE replay, logs, messages)
             - the stream's next sequence is a counter item in `objects` (kind "seq")
idempotency  pk = "<source>#<id>" of a consumed CloudEvent (or a webhook delivery)
             - one conditional put claims the event; `expiry` (epoch s) is the TTL attribute
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.config import get_settings


@dataclass(frozen=True)
class IndexDef:
    """A global secondary index (projection ALL)."""

    name: str
    hash_key: tuple[str, str]
    range_key: tuple[str, str] | None = None


@dataclass(frozen=True)
class TableDef:
    key: str                     # logical name; the physical name is prefix + key
    hash_key: tuple[str, str]    # (attribute, type)
    range_key: tuple[str, str] | None = None
    ttl_attribute: str | None = None
    purpose: str = ""
    extra_attributes: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    indexes: tuple[IndexDef, ...] = field(default_factory=tuple)


TABLES: tuple[TableDef, ...] = (
    TableDef("objects", ("pk", "S"), ("sk", "S"), ttl_attribute="expiry",
             purpose="every CRUD resource, keyed by kind#namespace and name",
             extra_attributes=(("order", "S"),),
             indexes=(IndexDef("by-order", ("pk", "S"), ("order", "S")),)),
    TableDef("streams", ("pk", "S"), ("sk", "N"), ttl_attribute="expiry",
             purpose="append-only ordered records: SSE events, logs, messages, transcripts"),
    TableDef("idempotency", ("pk", "S"), None, ttl_attribute="expiry",
             purpose="claims of consumed events and deliveries"),
)


def table_name(key: str) -> str:
    """The physical table name for a logical table key."""
    return f"{get_settings().table_prefix}{key}"


def bucket_name() -> str:
    return get_settings().bucket


def create_table_request(table: TableDef) -> dict:
    """The CreateTable request for a definition (on-demand billing)."""
    attrs = [table.hash_key] + ([table.range_key] if table.range_key else []) + list(table.extra_attributes)
    keys = [{"AttributeName": table.hash_key[0], "KeyType": "HASH"}]
    if table.range_key:
        keys.append({"AttributeName": table.range_key[0], "KeyType": "RANGE"})
    request = {
        "TableName": table_name(table.key),
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in attrs],
        "KeySchema": keys,
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [{
            "IndexName": index.name,
            "KeySchema": [{"AttributeName": index.hash_key[0], "KeyType": "HASH"}]
            + ([{"AttributeName": index.range_key[0], "KeyType": "RANGE"}] if index.range_key else []),
            "Projection": {"ProjectionType": "ALL"},
        } for index in table.indexes]
    return request
