"""The local broker follows Knative's delivery rules; the gateway's routes follow Gateway API precedence.

The gateway's relaying is in test_gateway.py.
"""

from __future__ import annotations

import time

import httpx
from werkzeug import Request, Response

from shared.events.envelope import build, to_http
from shared.local.broker import Broker
from shared.local.manifests import Delivery, RouteMatch, TriggerDef, pick_route
from tests.support.servers import BackgroundServer


class Subscriber(BackgroundServer):
    """Answers each delivery with the next scripted status; records what it got."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.received = list(statuses), []
        super().__init__(self._app)

    def _app(self, environ, start_response):
        request = Request(environ)
        self.received.append({k.lower(): v for k, v in request.headers.items()})
        status = self.statuses.pop(0) if self.statuses else 200
        return Response(status=status)(environ, start_response)


def deliver(statuses, *, dead_letter=True, retry=3):
    with Subscriber(statuses) as sub, Subscriber([]) as dls:
        urls = {"sub": sub.url, "dls": dls.url}
        trigger = TriggerDef("t", {"type": "dev.shoal.task.created"}, "sub",
                             Delivery(retry=retry, backoff_delay=0.01, dead_letter="dls" if dead_letter else None))
        other = TriggerDef("o", {"type": "dev.shoal.other"}, "dls")
        broker = Broker([trigger, other], urls.get)
        with BackgroundServer(broker) as ingress:
            headers, body = to_http(build("dev.shoal.task.created", {"k": 1}, source="/test"))
            assert httpx.post(ingress.url, headers=headers, content=body).status_code == 202
            deadline = time.monotonic() + 30  # retries and dead letters, on a loaded machine
            while not broker.idle():
                assert time.monotonic() < deadline, "the broker never settled"
                time.sleep(0.01)
        return sub.received, dls.received


def test_delivered_once_in_binary_mode_on_success():
    received, dead = deliver([200])
    assert len(received) == 1 and received[0]["ce-type"] == "dev.shoal.task.created"
    assert received[0]["content-type"] == "application/json" and dead == []


def test_5xx_and_409_are_retried_until_success():
    received, dead = deliver([500, 409, 200])
    assert len(received) == 3 and dead == []


def test_400_is_not_retried_and_goes_to_the_dead_letter_sink_with_error_extensions():
    received, dead = deliver([400])
    assert len(received) == 1
    [dl] = dead
    assert dl["ce-knativeerrorcode"] == "400" and dl["ce-knativeerrordest"] == "sub"


def test_retries_exhausted_dead_letter_after_retry_plus_one_attempts():
    received, dead = deliver([503] * 10, retry=2)
    assert len(received) == 3 and len(dead) == 1


def test_backoff_delays_follow_the_policy():
    assert [Delivery(backoff_delay=0.2).delay(n) for n in (1, 2, 3)] == [0.2, 0.4, 0.8]
    assert [Delivery(backoff_policy="linear", backoff_delay=0.2).delay(n) for n in (1, 2)] == [0.2, 0.4]


def test_route_precedence_exact_then_longest_prefix_on_path_segments():
    table = [RouteMatch("PathPrefix", "/api", "a"), RouteMatch("PathPrefix", "/api/v1/tasks", "tasks"),
             RouteMatch("Exact", "/api/v1/tasks/special", "exact")]
    assert pick_route(table, "/api/v1/tasks/x").backend == "tasks"
    assert pick_route(table, "/api/v1/tasks/special").backend == "exact"
    assert pick_route(table, "/api/v1/tasksx").backend == "a"
    assert pick_route(table, "/other") is None
    rooted = [RouteMatch("PathPrefix", "/", "root"), RouteMatch("PathPrefix", "/api/", "api")]
    assert pick_route(rooted, "/api").backend == "api" and pick_route(rooted, "/api/x/y").backend == "api"
    assert pick_route(rooted, "/").backend == "root" and pick_route(rooted, "/apix").backend == "root"
