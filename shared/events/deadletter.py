"""Events that exhausted their retries are kept in the `deadletter` stream, never dropped."""

from __future__ import annotations

from shared.events.envelope import Event
from shared.logs import get_logger
from shared.store import streams

log = get_logger("deadletter")
STREAM = "deadletter"


def keep(event: Event) -> None:
    record = {"type": event.type, "source": event.source, "id": event.id, "subject": event.subject,
              "time": event.time, "data": event.data, "extensions": dict(event.extensions)}
    seq = streams.append(STREAM, record)
    log.warning("dead letter kept", extra={"fields": {"seq": seq, "type": event.type, "id": event.id,
                                                       "code": event.extensions.get("knativeerrorcode"),
                                                       "dest": event.extensions.get("knativeerrordest")}})
