"""The local PingSource: reads knative/pingsource.yaml and delivers ticks as CloudEvents to the sink."""

from __future__ import annotations

from werkzeug import Response

from shared.events.envelope import parse
from shared.local.ping import Pinger, ping_sources


def test_the_manifest_names_the_scheduler_as_sink():
    [source] = ping_sources()
    assert source.name == "scheduler-tick" and source.sink == "scheduler"
    assert source.data == {"purpose": "scheduler-tick"}


def test_a_tick_reaches_the_sink_as_a_ping_event(httpserver):
    received = []

    def handler(request):
        received.append(parse(request.headers, request.get_data()))
        return Response(status=200)

    httpserver.expect_request("/", method="POST").respond_with_handler(handler)
    urls = {"scheduler": httpserver.url_for("/").rstrip("/")}
    pinger = Pinger(ping_sources(), urls.get, interval=60)
    pinger.tick()
    Pinger(ping_sources(), {}.get, interval=60).tick()  # a sink that is not running is skipped
    [event] = received
    assert event.type == "dev.knative.sources.ping"
    assert event.source == "/apis/v1/namespaces/shoal/pingsources/scheduler-tick"
    assert event.data == {"purpose": "scheduler-tick"}
