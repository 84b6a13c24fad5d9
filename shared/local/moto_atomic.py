"""Make moto's DynamoDB item writes atomic, as DynamoDB's are.

moto evaluates a ConditionExpression and then applies the write without holding a lock, so two
threads can both pass `version = :v` and both write: a lost update DynamoDB itself never allows.
Every optimistic-locking guarantee of the store would then be untestable (and `make run` with
several replicas of a function would lose updates). Serializing moto's write operations closes that
window. Applied by the local platform's moto server and by the tests.

Reads take the same lock: moto applies a TransactWriteItems one item after the other (and undoes the
items written when a later item fails: shared.local.moto_transactions), so a read between two of its items saw half a
transaction, which DynamoDB never shows a GetItem or Query. A claim stored with its companion run
(shared/monitors/runs.py) was then read without the run, taken for finished and claimed again: two
runs admitted where one may be (session 7's `test_monitor_run_admission[8]`).

With moto's recorder on (`MOTO_ENABLE_RECORDING`, how `make run` keeps its state: see
docs/local-platform.md), a mutating request is recorded and applied under the same lock, so the
recording's order is the order the writes took effect and a replay reaches the same state even where
two conditional writes raced; reads are not recorded (a replay has no use for them).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from shared.local import moto_queries, moto_transactions

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
# Writes after which every cached partition may be stale: a table created, changed (an index added or
# dropped) or deleted; PartiQL statements, which moto applies to its tables directly (Shoal uses none).
WRITES_OF_ANYTHING = ("create_table", "update_table", "delete_table", "execute_statement", "execute_transaction",
                      "batch_execute_statement")
# The backend's item reads (BatchGetItem and TransactGetItems read through get_item).
READS = ("get_item", "query", "scan")
# DynamoDB operations that change nothing; every other X-Amz-Target is recorded.
DYNAMODB_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "DescribeTable",
                            "ListTables", "DescribeTimeToLive", "ListTagsOfResource", "DescribeContinuousBackups",
                            "DescribeEndpoints", "DescribeLimits"})
_lock = threading.RLock()


def make_writes_atomic() -> None:
    """Wrap moto's DynamoDB write operations in one process-wide lock (idempotent); each write, once
    applied, invalidates the partitions of moto_queries' cache it touched, whose Query patch this also installs.
    Reads take the lock too, so none sees a transaction half applied. TransactWriteItems is first
    replaced by moto_transactions' (undoes the items it wrote, not a copy of the whole table).

    An UpdateItem's answer is built under the lock too: moto's handler applies the update, then
    serialises the stored item, which it updated in place, for `ReturnValues`; a concurrent write in
    between changed that answer, and two ADDs could each be told the other's number (a sequence number
    handed out twice). SerialWrites already holds the lock over a whole request when recording; this
    covers moto in process and moto's server without it."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    moto_queries.read_partitions_only()
    moto_transactions.install()
    _under_lock(DynamoHandler, "update_item")  # the backend's update_item below invalidates what it wrote
    for name in READS:
        _under_lock(DynamoDBBackend, name)
    for name in WRITES:
        _under_lock(DynamoDBBackend, name, write=True)
    for name in WRITES_OF_ANYTHING:
        _under_lock(DynamoDBBackend, name, write=True, anything=True)


def _under_lock(cls: type, name: str, *, write: bool = False, anything: bool = False) -> None:
    """Run cls.<name> under the lock (re-entrant: a transaction reads its items through get_item under
    it, a handler calls the backend under it); a backend write then invalidates the partitions of
    moto_queries' cache it touched (all of them: `anything`)."""
    original = getattr(cls, name)
    if getattr(original, "_atomic", False):
        return

    @functools.wraps(original)
    def locked(self, *args, **kwargs):
        with _lock:
            try:
                return original(self, *args, **kwargs)
            finally:
                if anything:
                    moto_queries.bump()
                elif write:  # after the write (or its failure): a later read of what it touched rebuilds
                    moto_queries.written(self, name, args, kwargs)

    locked._atomic = True  # type: ignore[attr-defined]
    setattr(cls, name, locked)


def is_write(method: str, path: str, target: str | None) -> bool:
    """Whether a request to moto's server may change state (moto's own /moto-api/ never counts:
    a replay request must not hold the lock its replayed writes need)."""
    if path.startswith("/moto-api"):
        return False
    if target:
        return target.rsplit(".", 1)[-1] not in DYNAMODB_READS
    return method not in ("GET", "HEAD", "OPTIONS")


def record_writes_only() -> None:
    """Keep moto's recorder to the requests that change state (idempotent)."""
    from moto.moto_api._internal.recorder.models import Recorder

    original = Recorder._record_request
    if getattr(original, "_writes_only", False):
        return

    @functools.wraps(original)
    def record(self, request: Any, body: bytes | None = None) -> None:
        path = getattr(request, "path", None) or ""
        if is_write(request.method, path, request.headers.get("X-Amz-Target")):
            original(self, request, body)

    record._writes_only = True  # type: ignore[attr-defined]
    Recorder._record_request = record  # type: ignore[method-assign]


class SerialWrites:
    """WSGI middleware: a mutating request is recorded and applied under the write lock."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not is_write(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("HTTP_X_AMZ_TARGET")):
            return self.app(environ, start_response)
        with _lock:
            return list(self.app(environ, start_response))
