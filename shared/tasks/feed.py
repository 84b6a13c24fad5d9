"""A task's event feed: every task event (and worker progress) appended to one ordered stream.

`GET /api/v1/tasks/{id}/stream` replays and follows it from any replica; sequence numbers are
the SSE `id:` lines, so a client resumes with `Last-Event-ID`.
"""

from __future__ import annotations

from typing import Any

from shared.clock import now_rfc3339
from shared.store import streams


def feed_stream(namespace: str, name: str) -> str:
    return f"task#{namespace}/{name}"


def append_feed(namespace: str, name: str, kind: str, data: dict[str, Any]) -> int:
    return streams.append(feed_stream(namespace, name), {"event": kind, "data": data, "time": now_rfc3339()})


def read_feed(namespace: str, name: str, after: int = 0, limit: int = 100) -> list[tuple[int, dict[str, Any]]]:
    return streams.read(feed_stream(namespace, name), after=after, limit=limit)
