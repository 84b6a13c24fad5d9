"""A session's event stream (the streams table), replayed by `GET …/stream`."""

from __future__ import annotations

import time
from typing import Any

from shared.config import get_settings
from shared.store import streams

TERMINAL_EVENTS = frozenset({"complete", "cancelled", "session_ended"})


def stream_id(session_id: str) -> str:
    return f"incident#{session_id}"


def append(session_id: str, type_: str, turn: int, data: dict[str, Any] | None = None,
           phase: str = "rca") -> int:
    record: dict[str, Any] = {"type": type_, "turn": turn, "phase": phase}
    if data is not None:
        record["data"] = data
    expiry = int(time.time()) + 2 * get_settings().incident_session_ttl_seconds
    return streams.append(stream_id(session_id), record, expiry=expiry)


def read(session_id: str, after: int = 0) -> list[tuple[int, dict[str, Any]]]:
    return streams.read(stream_id(session_id), after=after)
