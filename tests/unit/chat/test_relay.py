"""The live SSE relay of a chat turn: frames in order, and the turn told when the first one went out."""

from __future__ import annotations

import queue

from shared.chat.stream import END, relay


def test_sent_is_called_once_after_the_first_frame_was_taken():
    live: queue.Queue = queue.Queue()
    live.put((1, "status", {"sessionId": "s"}))
    live.put((2, "done", {"sessionId": "s"}))
    live.put(END)
    sent: list[int] = []
    frames = relay(live, heartbeat=5.0, sent=lambda: sent.append(1))
    first = next(frames)
    assert first == 'id: 1\nevent: status\ndata: {"sessionId":"s"}\n\n'
    assert sent == []  # not before the server asked for the next frame (the first is written by then)
    rest = list(frames)
    assert rest == ['id: 2\nevent: done\ndata: {"sessionId":"s"}\n\n']
    assert sent == [1]


def test_sent_is_called_when_the_stream_ends_before_any_frame():
    live: queue.Queue = queue.Queue()
    sent: list[int] = []
    live.put(END)  # the turn ended before it emitted anything
    assert list(relay(live, heartbeat=5.0, sent=lambda: sent.append(1))) == []
    assert sent == [1]
