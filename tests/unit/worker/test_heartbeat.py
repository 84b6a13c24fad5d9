"""The worker's heartbeat: renews its lease, stops the worker when the attempt is over or cannot be renewed."""

from __future__ import annotations

import threading

from werkzeug import Request, Response

from shared.worker.heartbeat import Heartbeat
from shared.workerapi.client import InternalClient
from tests.support.servers import BackgroundServer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Platform:
    """The worker API's heartbeat route, answering from a script; records what it was sent."""

    def __init__(self, *answers: int) -> None:
        self.answers, self.seen = list(answers), []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.seen.append((request.path, request.get_json(), request.headers.get("X-Shoal-Task-Attempt")))
        status = self.answers.pop(0) if self.answers else 204
        body = '{"error": {"code": 409, "message": "stale attempt"}}' if status == 409 else ""
        return Response(body, status=status, content_type="application/json")(environ, start_response)


def make(platform: Platform, server: BackgroundServer, clock: Clock, lost: list[str]) -> Heartbeat:
    client = InternalClient(server.url, "t", task_attempt=3)
    return Heartbeat(client, "default", "job", 3, 9.0, on_lost=lost.append, clock=clock)


def test_beats_carry_the_attempt_and_a_refusal_ends_the_worker():
    platform, clock, lost = Platform(204, 409), Clock(), []
    with BackgroundServer(platform) as server:
        heartbeat = make(platform, server, clock, lost)
        assert heartbeat.interval == 3.0  # lease / 3
        assert heartbeat.beat() is True and lost == []
        assert heartbeat.beat() is False
    assert platform.seen[0] == ("/internal/v1/heartbeat/default/job", {"attempt": 3}, "3")
    assert lost == ["heartbeat refused (HTTP 409): the attempt was reclaimed, cancelled or deleted"]


def test_a_refusal_after_the_worker_reported_its_end_is_not_a_loss():
    platform, clock, lost = Platform(409), Clock(), []
    with BackgroundServer(platform) as server:
        heartbeat = make(platform, server, clock, lost)
        heartbeat.client.final_reported.set()  # post_status(Succeeded|Failed) sets it before sending
        assert heartbeat.beat() is False
    assert lost == []


def test_an_unreachable_platform_is_retried_until_a_whole_lease_passed():
    """A function restarting is survived; a worker that could not renew for a lease assumes it was reclaimed."""
    platform, clock, lost = Platform(503, 503, 204, 502), Clock(), []
    with BackgroundServer(platform) as server:
        heartbeat = make(platform, server, clock, lost)
        clock.now = 3.0
        assert heartbeat.beat() is True  # 503: try again at the next beat
        clock.now = 6.0
        assert heartbeat.beat() is True
        clock.now = 7.0
        assert heartbeat.beat() is True and heartbeat.last_renewed == 7.0  # renewed
        clock.now = 16.5  # more than a lease (9 s) since the last renewal
        assert heartbeat.beat() is False
    assert lost == ["no heartbeat renewed for 9s (last: HTTP 502)"]


def test_connection_errors_count_as_failed_beats():
    clock, lost = Clock(), []
    client = InternalClient("http://127.0.0.1:9", "t", task_attempt=1)  # nothing listens there
    heartbeat = Heartbeat(client, "default", "job", 1, 3.0, on_lost=lost.append, clock=clock)
    assert heartbeat.beat() is True and lost == []
    clock.now = 3.5
    assert heartbeat.beat() is False and lost == ["no heartbeat renewed for 3s (last: ConnectError)"]


def test_the_thread_beats_until_stopped():
    platform, lost = Platform(), []
    beaten = threading.Event()

    def app(environ, start_response):
        answer = platform(environ, start_response)  # recorded before the test is woken
        beaten.set()
        return answer

    with BackgroundServer(app) as server:
        client = InternalClient(server.url, "t", task_attempt=1)
        heartbeat = Heartbeat(client, "default", "job", 1, 0.6, on_lost=lost.append).start()
        assert beaten.wait(30)
        heartbeat.stop()
    assert lost == [] and platform.seen


def test_the_client_sends_its_attempt_on_every_call(monkeypatch):
    monkeypatch.setenv("SHOAL_TASK_ATTEMPT", "4")
    seen = []

    def app(environ, start_response):
        seen.append(Request(environ).headers.get("X-Shoal-Task-Attempt"))
        return Response("{}", status=200, content_type="application/json")(environ, start_response)

    with BackgroundServer(app) as server:
        client = InternalClient(server.url, "t")
        client.call("GET", "/internal/v1/tasks/default/job/spec")
        client.post_event("default", "job", "log", {})
    monkeypatch.setenv("SHOAL_TASK_ATTEMPT", "")
    assert seen == ["4", "4"] and InternalClient("http://x", "t").task_attempt is None


def test_a_slow_answer_within_the_lease_still_renews_it():
    """A platform slower than the beat interval under load: the beat waits for its answer (up to what is
    left of the lease) instead of giving up at the interval, and the worker keeps its attempt."""
    import time

    def slow(environ, start_response):
        # Longer than the interval (0.6 s), a second short of the lease (1.8 s): 0.5 s of a 0.6 s lease
        # left 0.1 s for the loopback round trip, which a loaded machine could overrun.
        time.sleep(0.8)
        return Response("", status=204)(environ, start_response)

    lost: list[str] = []
    with BackgroundServer(slow) as server:
        client = InternalClient(server.url, "t", task_attempt=1)
        heartbeat = Heartbeat(client, "default", "job", 1, 1.8, on_lost=lost.append)
        for _ in range(2):
            before = time.monotonic()
            assert heartbeat.beat() is True and heartbeat.last_renewed >= before + 0.8
    assert lost == []


def test_a_beat_that_outlasts_the_lease_loses_it():
    # The answer is held until the beat gave up (a 1.5 s sleep could still answer a beat whose 0.6 s
    # timeout fired late on a loaded machine).
    released = threading.Event()

    def hung(environ, start_response):
        released.wait(30)
        return Response("", status=204)(environ, start_response)

    lost: list[str] = []
    with BackgroundServer(hung) as server:
        client = InternalClient(server.url, "t", task_attempt=1)
        heartbeat = Heartbeat(client, "default", "job", 1, 0.6, on_lost=lost.append)
        try:
            assert heartbeat.beat() is False
        finally:
            released.set()
    assert lost == ["no heartbeat renewed for 1s (last: ReadTimeout)"]


def test_beats_go_an_interval_apart_however_long_each_took():
    clock, waits = Clock(), []
    heartbeat = Heartbeat(InternalClient("http://127.0.0.1:9", "t", task_attempt=1), "default", "job", 1, 3.0,
                          clock=clock)
    took = iter([0.25, 2.0, 0.5])

    def beat() -> bool:
        clock.now += next(took)
        return len(waits) < 2

    heartbeat.beat = beat
    heartbeat._stop.wait = waits.append  # records how long the thread would wait before the next beat
    heartbeat._run()
    assert waits == [0.75, 0.0]  # interval 1 s: the rest of it after a fast answer, none after a slow one
