"""Events that must not be lost when the sink is down: park them, deliver them on the next tick.

`publish` emits as `emit` does; if the broker cannot take the event (unreachable, 5xx), the event is
parked in the store and the scheduler's tick (`drain`) delivers it later, in parking order, with its
original id, so idempotent consumers see one event however often it is tried. The state change it
announces is never undone by a delivery failure.

Parked events are spread over a few shards (one partition each, listed by Query) so no partition
gets hot; a record's name starts with the parking time, so a shard lists oldest first.

`staged` + `deliver` close the gap `publish` leaves: a process that dies between its state write and
the publish loses the event. A staged event is parked *in the same transaction* as the state change
it announces (a store `Companion`), then delivered and unparked after the commit; if the process
dies first, the tick delivers it. So the event exists exactly when the change does.
"""

from __future__ import annotations

import time
import zlib
from contextlib import suppress
from dataclasses import asdict
from typing import Any

from shared.errors import NotFound
from shared.events.envelope import EmitError, Event, NoSink, emit
from shared.logs import get_logger
from shared.store import Companion, ObjectStore, Record

SHARDS = 4
DRAIN_BATCH = 100  # events per shard per tick: a long backlog drains over several ticks
RETENTION_SECONDS = 7 * 24 * 3600  # a sink broken for a week is a configuration problem: stop keeping them
log = get_logger("events")
parked = ObjectStore("outbox")


def _shard(event: Event) -> str:
    return f"s{zlib.crc32(event.id.encode()) % SHARDS}"


def _parked_record(event: Event, reason: str, attempts: int) -> Companion:
    # Nanoseconds, zero-padded: the name order is the parking order, within one second too.
    return Companion(parked, _shard(event), f"{time.time_ns():020d}#{event.id}",
                     {"event": asdict(event) | {"extensions": dict(event.extensions)}, "reason": reason,
                      "attempts": attempts}, expiry=int(time.time()) + RETENTION_SECONDS)


def publish(event: Event) -> None:
    """Emit `event`; when the sink cannot take it, park it for the scheduler (never raises)."""
    try:
        emit(event)
        return
    except NoSink as exc:  # configuration, not an outage: nothing to retry
        log.error("event not delivered", extra={"fields": {"type": event.type, "error": str(exc)}})
        return
    except EmitError as exc:
        reason = str(exc)
    except Exception as exc:
        reason = type(exc).__name__
    try:
        record = _parked_record(event, reason, 1)
        parked.create(record.namespace, record.name, record.doc, expiry=record.expiry)
        log.warning("event parked for redelivery", extra={"fields": {"type": event.type, "id": event.id,
                                                                     "error": reason}})
    except Exception:
        log.exception("event lost: not delivered and not parked", extra={"fields": {"type": event.type,
                                                                                     "id": event.id}})


def staged(event: Event) -> Companion:
    """`event` as a record to write with the state change it announces (pass it as a companion)."""
    return _parked_record(event, "staged with its state change", 0)


def deliver_staged(record: Record) -> None:
    """After a write: deliver the staged events it committed (none when it wrote nothing)."""
    for companion in record.companions:
        if companion.store is parked:
            deliver(companion)


def deliver(record: Companion) -> None:
    """After the commit: send a staged event and unpark it; if the sink can't take it now, it stays
    parked for the scheduler's tick (never raises)."""
    event = _event(record.doc["event"])
    try:
        emit(event)
    except NoSink as exc:  # configuration, not an outage: nothing to keep for a tick
        log.error("event not delivered", extra={"fields": {"type": event.type, "error": str(exc)}})
    except Exception as exc:
        log.warning("event parked for redelivery", extra={"fields": {"type": event.type, "id": event.id,
                                                                     "error": str(exc) or type(exc).__name__}})
        return
    with suppress(Exception):  # a record left behind is delivered again (same id): consumers dedupe
        parked.delete(record.namespace, record.name)


def on_tick(event: Event | None = None) -> None:
    """The scheduler's tick: deliver what the broker could not take earlier."""
    drain()


def drain(batch: int = DRAIN_BATCH) -> int:
    """Deliver parked events, oldest first per shard; stop a shard at its first failure (the sink is
    still down: keep the order and try again next tick). Returns how many were delivered."""
    delivered = 0
    for shard in (f"s{i}" for i in range(SHARDS)):
        records, _ = parked.list_page(shard, limit=batch)
        for record in records:
            event = _event(record.doc["event"])
            try:
                emit(event)
            except Exception as exc:
                with suppress(NotFound):  # another replica's drain delivered it meanwhile
                    parked.update(shard, record.name, lambda doc, e=exc: _count_attempt(doc, e))
                log.warning("parked event still not delivered", extra={"fields": {"id": event.id, "error": str(exc)}})
                break
            parked.delete(shard, record.name)
            delivered += 1
    if delivered:
        log.info("parked events delivered", extra={"fields": {"count": delivered}})
    return delivered


def _count_attempt(doc: dict[str, Any], exc: Exception) -> bool:
    doc["attempts"] = int(doc.get("attempts", 0)) + 1
    doc["reason"] = str(exc) or type(exc).__name__
    return True


def _event(doc: dict[str, Any]) -> Event:
    return Event(**doc)
