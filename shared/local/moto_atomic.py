"""Make moto's DynamoDB item writes atomic, as DynamoDB's are.

moto evaluates a ConditionExpression and then applies the write without holding a lock, so two
threads can both pass `version = :v` and both write: a lost update DynamoDB itself never allows.
Every optimistic-locking guarantee of the store would then be untestable (and `make run` with
several replicas of a function would lose updates). Serializing moto's write operations closes that
window; reads stay concurrent. Applied by the local platform's moto server and by the tests.
"""

from __future__ import annotations

import functools
import sys
import threading

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_lock = threading.RLock()


def make_writes_atomic() -> None:
    """Wrap moto's DynamoDB write operations in one process-wide lock (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_atomic", False):
            continue

        @functools.wraps(original)
        def locked(self, *args, _original=original, **kwargs):
            with _lock:
                return _original(self, *args, **kwargs)

        locked._atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)


def main(argv: list[str] | None = None) -> None:
    """`python -m shared.local.moto_atomic -H host -p port`: moto's server with atomic writes."""
    from moto.server import main as moto_main

    make_writes_atomic()
    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
