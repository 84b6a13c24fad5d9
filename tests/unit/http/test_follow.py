"""The one follow loop of the SSE routes (task logs and events, job logs, chat replay, incident stream)."""

from __future__ import annotations

import threading

from shared.http.sse import HEARTBEAT, IDLE, follow, sse_response


def script(*rounds):
    """A poll that answers the given rounds in turn and counts its calls."""
    answers = list(rounds)
    calls = []

    def poll():
        calls.append(1)
        return answers.pop(0)
    return poll, calls


def test_frames_until_done_and_nothing_after():
    poll, calls = script((["a"], "live"), ([], "live"), (["b", "c"], "done"), (["never"], "live"))
    assert list(follow(poll, poll_seconds=0, max_seconds=60)) == ["a", IDLE, "b", "c"]
    assert len(calls) == 3


def test_ending_lasts_the_grace_and_a_live_poll_restarts_it():
    poll, calls = script((["a"], "ending"), (["b"], "live"), ([], "ending"), (["never"], "live"))
    assert list(follow(poll, poll_seconds=0, max_seconds=60, grace_seconds=0)) == ["a"]
    poll, calls = script(([], "ending"), (["b"], "live"), ([], "ending"), ([], "ending"), (["c"], "done"))
    assert [f for f in follow(poll, poll_seconds=0.01, max_seconds=60, grace_seconds=30) if f] == ["b", "c"]
    assert len(calls) == 5


def test_heartbeats_only_when_asked():
    poll, _ = script(([], "live"), (["a"], "live"), ([], "done"))
    assert list(follow(poll, poll_seconds=0, max_seconds=60, heartbeat_seconds=0)) == [HEARTBEAT, "a", HEARTBEAT]
    poll, _ = script(([], "live"), ([], "done"))
    assert list(follow(poll, poll_seconds=0, max_seconds=60)) == [IDLE]


def test_no_poll_after_the_time_is_up():
    poll, calls = script((["a"], "live"))
    assert list(follow(poll, poll_seconds=0, max_seconds=0)) == []
    assert calls == []


def test_a_client_that_leaves_stops_a_quiet_follow():
    """Nothing to send for a long time: the relay still notices the closed response and ends the
    polling (it used to poll until max_seconds, 30 minutes for a task)."""
    closed = threading.Event()

    def frames():
        try:
            yield from follow(lambda: ([], "live"), poll_seconds=0.01, max_seconds=600)
        finally:
            closed.set()

    body = sse_response(frames(), heartbeat_seconds=0.05).response
    assert next(body) == HEARTBEAT  # IDLE is never sent
    body.close()  # what the server does when the client has gone
    assert closed.wait(timeout=30)
