"""Count the DynamoDB calls a piece of code makes: botocore's own event hooks on the store's client.

Round trips, not timing: `with store_calls() as calls: ...` then `calls == ["BatchGetItem"]`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def store_calls() -> Iterator[list[str]]:
    """The operation names (GetItem, PutItem, …) of every DynamoDB call made inside the block, in order."""
    from shared.store.clients import client

    calls: list[str] = []

    def record(model, **_):
        calls.append(model.name)

    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb", record, unique_id="store-calls")
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", unique_id="store-calls")
