"""A session's SSE events: appended to the streams table (ids = sequence numbers), replayed on reconnect.

Every event of every turn goes to stream `chat/<namespace>/<session>`, so a client that comes back
with `Last-Event-ID` gets what it missed and then the live tail from whichever replica it reaches.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from shared.http.sse import HEARTBEAT, Progress, follow, frame
from shared.store import streams

RETENTION_SECONDS = 7 * 24 * 3600
DIED = "the turn stopped before it finished (the process running it went away); send the message again"
END = object()


class StreamClosed(Exception):
    """The turn already ended (cancelled or timed out); nothing more goes to the stream."""


def stream_id(namespace: str, session_id: str) -> str:
    return f"chat/{namespace}/{session_id}"


class Emitter:
    """Records each event durably first, then hands it to the live response (if one is attached).

    The turn holds the session's lock, so it is the stream's only writer: `next_seq` (what the lock's
    previous holder handed on, see `handoff`) lets it append each event in one write.
    """

    def __init__(self, namespace: str, session_id: str, next_seq: int | None = None) -> None:
        self.stream = stream_id(namespace, session_id)
        self.session_id = session_id
        self.live: queue.Queue = queue.Queue()
        self.last_seq = 0
        self._writer = streams.Writer(self.stream, last=next_seq - 1 if next_seq is not None else None)
        self.closed = False
        self._lock = threading.Lock()  # the turn and a cancellation may emit from two threads

    def emit(self, event: str, data: dict[str, Any]) -> int:
        payload = {"sessionId": self.session_id, **data}
        with self._lock:
            if self.closed:
                raise StreamClosed(event)
            seq = self._writer.append({"event": event, "data": payload}, expiry=int(time.time()) + RETENTION_SECONDS)
            self.last_seq = seq
            self.live.put((seq, event, payload))
            return seq

    def handoff(self, following: int = 0) -> dict[str, Any]:
        """What the session lock hands on to the next turn: the stream's next number, after `following`
        events this turn still sends once the lock is gone (its `done`)."""
        return {"nextSeq": self._writer.last + 1 + following} if self._writer.last else {}

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                self.live.put(END)


def relay(live: queue.Queue, heartbeat: float, sent: Callable[[], None] | None = None) -> Iterator[str]:
    """Frames from an in-process turn as they come, with heartbeat comments while it is quiet.

    `sent` is called once the first frame went out (the server asks for the next frame only after it
    wrote the first), and when the response ends earlier.
    """
    try:
        while True:
            try:
                item = live.get(timeout=heartbeat)
            except queue.Empty:
                yield HEARTBEAT
                continue
            if item is END:
                return
            seq, event, payload = item
            yield frame(payload, event=event, id=seq)
            if sent is not None:
                sent()
                sent = None
    finally:
        if sent is not None:
            sent()


def replay(namespace: str, session_id: str, after: int, *, active: Callable[[], bool], heartbeat: float,
           max_seconds: float, poll: float = 0.2, grace: float = 2.0) -> Iterator[str]:
    """Events after `after`, then the live tail of the active turn (on any replica) up to its `done`.

    A turn releases its lock just before appending `done`, so after the lock goes the tail keeps
    reading for `grace` seconds. A turn whose process died (a replica lost, `make run` stopped) never
    appends its `done`: once its lock has lapsed the tail ends with an `error` (`internal_error`) and a
    `done` of its own, unrecorded (no `id`), so a client still gets the `done` that always comes last.
    """
    stream = stream_id(namespace, session_id)
    # The newest event the client has: the one at `after` (a reconnect after `done` ends at once).
    at = streams.read(stream, after=after - 1, limit=1) if after > 0 else []
    last_event = at[0][1]["event"] if at and at[0][0] == after else None

    def read_new() -> tuple[list[str], Progress]:
        nonlocal after, last_event
        frames = []
        while batch := streams.read(stream, after=after, limit=100):
            for seq, record in batch:
                after, last_event = seq, record["event"]
                frames.append(frame(record["data"], event=record["event"], id=seq))
            if len(batch) < 100:
                break
        if active():
            return frames, "live"
        if last_event == "done" or after == 0:
            return frames, "done"  # the turn's end, or nothing recorded and nothing running
        return frames, "live" if frames else "ending"

    yield from follow(read_new, poll_seconds=poll, max_seconds=max_seconds, grace_seconds=grace,
                      heartbeat_seconds=heartbeat)
    if last_event not in (None, "done") and not active():
        yield frame({"sessionId": session_id, "error": {"code": "internal_error", "message": DIED}}, event="error")
        yield frame({"sessionId": session_id, "usage": None}, event="done")
