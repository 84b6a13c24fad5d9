"""Chat across replicas: two instances of the chat function share the tables (as two pods would).

The semaphore (429), the session lock (409), DELETE cancelling a turn running on the other
replica, and a client reconnecting with Last-Event-ID to the other replica.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from tests.conftest import AUTH
from tests.support.chat import Event, dispatched, post_json, serve, stream, text_of


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def replicas(function_client):
    with serve(function_client) as a, serve(function_client) as b:
        yield a, b


def _setting(monkeypatch, **values: str) -> None:
    from shared.config import reset_settings

    for key, value in values.items():
        monkeypatch.setenv(key, value)
    reset_settings()


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def _in_background(fn, *args, **kwargs) -> tuple[threading.Thread, dict]:
    out: dict = {}
    thread = threading.Thread(target=lambda: out.update(result=fn(*args, **kwargs)), daemon=True)
    thread.start()
    return thread, out


def _held_slots() -> int:
    from shared.chat.leases import SLOT_NAMESPACE, slots

    return len(slots.list_page(SLOT_NAMESPACE, limit=None)[0])


def test_the_semaphore_counts_chats_on_every_replica(replicas, mock_script, model_gate, monkeypatch):
    _setting(monkeypatch, SHOAL_CHAT_MAX_CONCURRENT="2")
    mock_script([{"delay": 60, "text": "slow answer"}])  # until the gate opens
    a, b = replicas
    running = [_in_background(stream, a.url, {"message": "one"}), _in_background(stream, b.url, {"message": "two"})]
    _wait_for(lambda: _held_slots() == 2)
    for replica in (a, b):
        response = post_json(replica.url, {"message": "three"})
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "5"
        assert response.json() == err(429, "too many concurrent chat requests")
    model_gate.set()
    for thread, out in running:
        thread.join(30)
        assert out["result"][0] == 200 and text_of(out["result"][1]) == "slow answer"
    assert _held_slots() == 0  # released when the turns ended
    assert post_json(b.url, {"message": "four"}).status_code == 200


def test_slots_of_a_dead_replica_expire(replicas, monkeypatch):
    from shared.chat.leases import SLOT_NAMESPACE, slots

    _setting(monkeypatch, SHOAL_CHAT_MAX_CONCURRENT="2")
    for i in range(2):  # held by a replica that died: its lease ran out and nobody renewed it
        slots.create(SLOT_NAMESPACE, f"slot-{i:04d}", {"owner": "dead"}, expiry=int(time.time()) - 1)
    assert post_json(replicas[0].url, {"message": "hi"}).status_code == 200


def test_a_session_with_an_active_turn_is_409_on_any_replica(replicas, mock_script, model_gate):
    mock_script([{"delay": 60, "text": "busy"}])  # until the gate opens
    a, b = replicas
    thread, out = _in_background(stream, a.url, {"message": "one", "sessionId": "busy"})
    from shared.chat.leases import active_lock

    _wait_for(lambda: active_lock("default", "busy") is not None)
    response = post_json(b.url, {"message": "two", "sessionId": "busy"})
    assert response.status_code == 409
    assert response.json() == err(409, "chat session is active or its deleted name is reserved")
    model_gate.set()
    thread.join(30)
    assert out["result"][1][-1].event == "done"


def test_delete_cancels_the_turn_on_the_other_replica_then_deletes_the_session(replicas, mock_script, model_gate,
                                                                               event_sink):
    from shared.chat.leases import active_lock
    from shared.chat.sessions import sessions

    a, b = replicas
    mock_script([{"text": "first"}, {"delay": 120, "text": "never"}])  # held past the delete's client timeout
    assert post_json(a.url, {"message": "one", "sessionId": "doomed"}).status_code == 200
    thread, out = _in_background(stream, a.url, {"message": "two", "sessionId": "doomed"})
    _wait_for(lambda: active_lock("default", "doomed") is not None)
    # The model is held (gate closed, 120 s): a delete that waited for the turn would time out here.
    response = httpx.delete(b.url + "/api/v1/chat/doomed", headers=AUTH, timeout=60)
    assert response.status_code == 204
    thread.join(60)
    events: list[Event] = out["result"][1]
    assert [e.event for e in events][-2:] == ["error", "done"]
    assert events[-2].data["error"] == {"code": "cancelled", "message": "chat session was cancelled"}
    assert sessions.get("default", "doomed") is None and active_lock("default", "doomed") is None
    again = httpx.delete(a.url + "/api/v1/chat/doomed", headers=AUTH, timeout=10)
    assert again.status_code == 404 and again.json() == err(404, "chat session not found")
    _wait_for(lambda: len(event_sink.of_type("dev.shoal.chat.turn.completed")) == 2)  # announced after `done`
    statuses = [e.data["status"] for e in event_sink.of_type("dev.shoal.chat.turn.completed")]
    assert statuses == ["completed", "cancelled"]
    # A cancelled turn hands the stream's next number on too: a new turn under the same id continues it.
    from shared.chat.stream import stream_id
    from shared.store import streams

    status, third = stream(b.url, {"message": "three", "sessionId": "doomed"})
    assert status == 200 and third[-1].event == "done"
    assert int(third[0].id) == int(events[-1].id) + 1
    recorded = [seq for seq, _ in streams.read(stream_id("default", "doomed"), limit=1000)]
    assert recorded == list(range(1, len(recorded) + 1))


def test_reconnecting_with_last_event_id_on_the_other_replica_replays_then_tails(replicas, mock_script):
    a, b = replicas
    mock_script([{"tool_calls": [{"name": "list_tasks", "arguments": {}}]},
                 {"delay": 1.0, "text": "all quiet in the cluster"}])
    seen: list[Event] = []
    with httpx.Client(base_url=a.url, timeout=10) as client, \
            client.stream("POST", "/api/v1/chat", json={"message": "status?", "sessionId": "flaky"},
                          headers=AUTH) as response:
        from httpx_sse import EventSource

        for sse in dispatched(EventSource(response)):
            seen.append(Event(sse.id, sse.event, json.loads(sse.data)))
            if sse.event == "tool_result":
                break  # the connection drops mid-turn
    last = seen[-1].id
    status, rest = stream(b.url, method="GET", path="/api/v1/chat/flaky/stream", headers={"Last-Event-ID": last})
    assert status == 200
    assert [e.event for e in rest][-1] == "done" and "tool_result" not in [e.event for e in rest]
    assert int(rest[0].id) == int(last) + 1
    assert text_of(rest) == "all quiet in the cluster"
    # The reconnect an SSE client makes to the POST URL replays too (no new turn is started).
    status, again = stream(b.url, {"message": "status?", "sessionId": "flaky"}, headers={"Last-Event-ID": "0"})
    assert [e.event for e in again] == [e.event for e in seen] + [e.event for e in rest]
    assert [int(e.id) for e in again] == list(range(1, len(again) + 1))
    unknown = httpx.get(b.url + "/api/v1/chat/nobody/stream", headers=AUTH, timeout=10)
    assert unknown.status_code == 404 and unknown.json() == err(404, "chat session not found")


def test_heartbeats_while_the_model_is_quiet_and_the_deadline_ends_the_turn(replicas, mock_script, monkeypatch):
    _setting(monkeypatch, SHOAL_CHAT_HEARTBEAT_SECONDS="0.2", SHOAL_CHAT_MAX_DURATION="3s")
    mock_script([{"tool_calls": [{"name": "list_tasks", "arguments": {}}]}, {"delay": 6, "text": "too late"}])
    with httpx.Client(base_url=replicas[0].url, timeout=10) as client:
        raw = client.post("/api/v1/chat", json={"message": "hi"}, headers=AUTH).text
    assert ": heartbeat\n\n" in raw
    assert "I ran out of time. Here's what I accomplished so far." in raw
    assert raw.rstrip().split("\n")[-2] == "event: done"
    assert '"usage":{"inputTokens":' in raw and '"llmCalls":1}' in raw  # the call that finished is counted


def test_a_turn_whose_process_died_ends_its_replay_with_an_error_and_done(replicas, mock_script):
    """`make run` stopped mid-turn (or a replica died): the turn's events stop without its `done` and its
    lock lapses. A client that reconnects got the events and then a stream that just ended; `done` is
    always last, so the replay ends with an `internal_error` and a `done` (unrecorded: no `id:` lines, so the
    client's last event id stays the last recorded one, as SSE keeps it)."""
    from shared.chat.stream import RETENTION_SECONDS, stream_id
    from shared.store import streams

    a, b = replicas
    mock_script([{"text": "first answer"}])
    status, first = stream(a.url, {"message": "one", "sessionId": "cut-short"})
    assert status == 200 and first[-1].event == "done"
    done_id = int(first[-1].id)
    expiry = int(time.time()) + RETENTION_SECONDS
    for offset, record in enumerate([{"event": "status", "data": {"sessionId": "cut-short"}},
                                     {"event": "message", "data": {"sessionId": "cut-short", "content": "half"}}], 1):
        assert streams.put_new(stream_id("default", "cut-short"), done_id + offset, record, expiry)

    status, rest = stream(b.url, method="GET", path="/api/v1/chat/cut-short/stream",
                          headers={"Last-Event-ID": str(done_id)})
    assert status == 200
    assert [(e.event, e.id) for e in rest] == [("status", str(done_id + 1)), ("message", str(done_id + 2)),
                                               ("error", str(done_id + 2)), ("done", str(done_id + 2))]
    assert rest[2].data == {"sessionId": "cut-short", "error": {
        "code": "internal_error",
        "message": "the turn stopped before it finished (the process running it went away); send the message again"}}
    # Reconnecting after that turn's last recorded event gets the same ending; after a `done`, nothing.
    status, again = stream(b.url, method="GET", path="/api/v1/chat/cut-short/stream",
                           headers={"Last-Event-ID": str(done_id + 2)})
    assert [e.event for e in again] == ["error", "done"]
    status, finished = stream(a.url, method="GET", path="/api/v1/chat/cut-short/stream",
                              headers={"Last-Event-ID": str(done_id - 1)})
    assert [e.event for e in finished][:1] == ["done"] and [e.event for e in finished][-1] == "done"
