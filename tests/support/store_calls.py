"""Count the DynamoDB calls a piece of code makes: botocore's own event hooks on the store's client.

Round trips, not timing: `with store_calls() as calls: ...` then `calls == ["BatchGetItem"]`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def store_calls(*, skip_thread: str | None = None) -> Iterator[list[str]]:
    """The operation names (GetItem, PutItem, …) of every DynamoDB call made inside the block, in order;
    none from the thread named `skip_thread` (e.g. "chat-keeper", whose polls depend on the clock)."""
    from shared.store.clients import client

    calls: list[str] = []

    def record(model, **_):
        if skip_thread is None or threading.current_thread().name != skip_thread:
            calls.append(model.name)

    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb", record, unique_id="store-calls")
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", unique_id="store-calls")
