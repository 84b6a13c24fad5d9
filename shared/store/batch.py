"""New items of several tables put in one BatchWriteItem round trip (per 25 items).

For writes that need no condition because nothing can be at their keys yet, or because writing the
same item again changes nothing (a task's live-index entry and its feed's first record:
shared.tasks.service). A batch cannot be conditional: anything that must not overwrite uses a
conditional PutItem instead.
"""

from __future__ import annotations

import random
import time
from typing import Any

from shared.store.clients import client
from shared.store.outages import StoreUnavailable
from shared.store.tables import table_name

BATCH_WRITE_ITEMS = 25  # DynamoDB's limit per BatchWriteItem
ATTEMPTS = 8  # calls per batch (BatchWriteItem here, BatchGetItem in objects.get_together) before a 503


def back_off(attempt: int) -> None:
    """Wait before asking again for what a batch call left unprocessed (throttled): jittered exponential
    backoff, as the SDK guidance says for UnprocessedItems/UnprocessedKeys."""
    time.sleep(min(1.0, 0.05 * 2 ** attempt) * random.random())


def put_items(items: list[tuple[str, dict[str, Any]]]) -> None:
    """Put (table, item) pairs, `table` as `table_name` knows it, retrying what the store leaves
    unprocessed (throttling) with jittered backoff; StoreUnavailable (503) when some are still left."""
    for start in range(0, len(items), BATCH_WRITE_ITEMS):
        pending: dict[str, list[dict]] = {}
        for table, item in items[start:start + BATCH_WRITE_ITEMS]:
            pending.setdefault(table_name(table), []).append({"PutRequest": {"Item": item}})
        for attempt in range(ATTEMPTS):
            pending = client("dynamodb").batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            back_off(attempt)
        if pending:
            raise StoreUnavailable()  # still throttled: the client retries after Retry-After
