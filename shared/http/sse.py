"""The SSE writer: frames, and a streaming response that sends heartbeats while idle."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response

_END = object()


def frame(data: Any, *, event: str | None = None, id: str | int | None = None) -> str:
    """One SSE frame; `data` that is not a string is sent as compact JSON."""
    lines = []
    if id is not None:
        lines.append(f"id: {id}")
    if event is not None:
        lines.append(f"event: {event}")
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), default=str)
    lines.extend(f"data: {part}" for part in text.split("\n"))
    return "\n".join(lines) + "\n\n"


def _with_heartbeats(frames: Iterable[str], interval: float) -> Iterator[str]:
    """Relay frames from a producer thread; emit a comment line whenever it is quiet for `interval`.

    When the client goes away the server closes this generator; the producer then stops at its next
    frame and closes `frames`, so a disconnected stream does not keep polling the store for ever.
    """
    pipe: queue.Queue = queue.Queue(maxsize=256)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                pipe.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(frames)
        try:
            for item in iterator:
                if not offer(item):
                    break
        except Exception as exc:  # surfaced to the consumer, which logs and ends the stream
            offer(exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            offer(_END)

    threading.Thread(target=produce, daemon=True).start()
    try:
        while True:
            try:
                item = pipe.get(timeout=interval)
            except queue.Empty:
                yield ": heartbeat\n\n"
                continue
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()


def sse_response(frames: Iterable[str], *, heartbeat_seconds: float | None = 15.0, status: int = 200) -> Response:
    """A text/event-stream response that is never buffered by proxies."""
    body = _with_heartbeats(frames, heartbeat_seconds) if heartbeat_seconds else iter(frames)
    return Response(body, status=status, content_type="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
