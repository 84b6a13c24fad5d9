"""The SSE writer: frames, a streaming response that sends heartbeats while idle, and `follow`, the one
loop that tails a stored source (a stream, a job's output) until it ends."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from flask import Response

_END = object()
HEARTBEAT = ": heartbeat\n\n"
# What `follow` yields after a round with nothing to send: never written to the client (sse_response
# drops it), but it gives the relay thread a chance to see that the client left and stop polling.
IDLE = ""

# What one look at a followed source found: it goes on ("live"), it has ended but what it wrote last
# may still be on its way ("ending": keep looking for up to `grace_seconds`), or it is over ("done").
Progress = Literal["live", "ending", "done"]
Poll = Callable[[], tuple[list[str], Progress]]


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


def follow(poll: Poll, *, poll_seconds: float, max_seconds: float, grace_seconds: float = 0.0,
           heartbeat_seconds: float | None = None) -> Iterator[str]:
    """The frames of a source followed until it ends, polled every `poll_seconds` for at most `max_seconds`.

    `poll()` reads what is new (the route keeps its own cursor) and says whether the source goes on.
    A poll should read the source's state *before* its new records, so that nothing written before the
    end is missed. "ending" lasts at most `grace_seconds` (counted from the first "ending" poll, reset by
    a "live" one). With `heartbeat_seconds`, a comment frame is sent after that long without a frame
    (for a response that does not send its own heartbeats: `sse_response(heartbeat_seconds=None)`).
    A round that sends nothing yields IDLE, so a client that left stops the polling within a round.
    """
    started = last_sent = time.monotonic()
    ending_since: float | None = None
    while time.monotonic() - started < max_seconds:
        frames, progress = poll()
        yield from frames
        now = time.monotonic()
        if frames:
            last_sent = now
        if progress == "done":
            return
        if progress == "ending":
            ending_since = ending_since if ending_since is not None else now
            if now - ending_since >= grace_seconds:
                return
        else:
            ending_since = None
        if heartbeat_seconds is not None and now - last_sent >= heartbeat_seconds:
            last_sent = now
            yield HEARTBEAT
        elif not frames:
            yield IDLE
        time.sleep(poll_seconds)


def _with_heartbeats(frames: Iterable[str], interval: float) -> Iterator[str]:
    """Relay frames from a producer thread; emit a comment line whenever it is quiet for `interval`.

    When the client goes away the server closes this generator; the producer then stops at its next
    frame (or IDLE) and closes `frames`, so a disconnected stream does not keep polling the store.
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
                if item == IDLE:  # nothing to send: only look whether the client is still there
                    if stop.is_set():
                        break
                    continue
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
                yield HEARTBEAT
                continue
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()


class _WithoutIdle:
    """`frames` without IDLE markers. Not a generator: closing the response must reach the source at once,
    even before the first frame (a relay holding an upstream connection), and an unstarted generator's
    close() runs nothing."""

    def __init__(self, frames: Iterable[str]) -> None:
        self._frames = frames
        self._iterator = iter(frames)

    def __iter__(self) -> _WithoutIdle:
        return self

    def __next__(self) -> str:
        while True:
            item = next(self._iterator)
            if item != IDLE:
                return item

    def close(self) -> None:
        close = getattr(self._frames, "close", None) or getattr(self._iterator, "close", None)
        if close is not None:
            close()


def sse_response(frames: Iterable[str], *, heartbeat_seconds: float | None = 15.0, status: int = 200) -> Response:
    """A text/event-stream response that is never buffered by proxies."""
    body = _with_heartbeats(frames, heartbeat_seconds) if heartbeat_seconds else _WithoutIdle(frames)
    return Response(body, status=status, content_type="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
