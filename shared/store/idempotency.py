"""Claims on consumed events and deliveries, after the Powertools idempotency pattern."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

from shared.store.clients import client, error_code
from shared.store.tables import table_name


class Claim(Enum):
    CLAIMED = "claimed"          # this caller should process it
    COMPLETED = "completed"      # processed before: acknowledge without processing
    IN_PROGRESS = "in_progress"  # another replica is processing it right now: retry later


def claim(key: str, *, ttl_seconds: int = 7 * 24 * 3600, lease_seconds: int = 300) -> Claim:
    """Claim `key` with one conditional put; say who owns it when the claim fails."""
    now = int(time.time())
    item = {"pk": {"S": key}, "status": {"S": "INPROGRESS"}, "expiry": {"N": str(now + ttl_seconds)},
            "lease": {"N": str(now + lease_seconds)}}
    try:
        # Free, or its TTL passed (lazy deletion), or an in-progress claim whose lease ran out
        # because the replica that held it died.
        client("dynamodb").put_item(
            TableName=table_name("idempotency"), Item=item,
            ConditionExpression="attribute_not_exists(pk) OR expiry < :now OR (#s = :inprogress AND lease < :now)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":now": {"N": str(now)}, ":inprogress": {"S": "INPROGRESS"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except Exception as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        old = getattr(exc, "response", {}).get("Item") or {}
        status = old.get("status", {}).get("S")
        return Claim.COMPLETED if status == "COMPLETED" else Claim.IN_PROGRESS
    return Claim.CLAIMED


def complete(key: str) -> None:
    client("dynamodb").update_item(
        TableName=table_name("idempotency"), Key={"pk": {"S": key}},
        UpdateExpression="SET #s = :done", ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":done": {"S": "COMPLETED"}})


def release(key: str) -> None:
    """Forget a claim after a failed attempt, so a redelivery runs again."""
    client("dynamodb").delete_item(TableName=table_name("idempotency"), Key={"pk": {"S": key}})


@contextmanager
def held(key: str) -> Iterator[None]:
    """The work of a key this caller CLAIMED: released when the block raises (a redelivery runs it
    again), completed when it ends."""
    try:
        yield
    except Exception:
        release(key)
        raise
    complete(key)
