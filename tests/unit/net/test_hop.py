"""The transport-level hop (shared.net.hop) and the events hop built on it: what goes out must be what
the pooled client's `post` sent (headers, body, proxy choice, timeouts), minus its cookie jar, and emit
must fail as it failed through the client. RawWire's use of the hop: tests/unit/llm/test_raw_wire.py."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from shared.events import Event
from shared.events.envelope import EmitError, _events_client, emit, to_http
from shared.net import hop as hops
from shared.net import pool
from shared.net.hop import TransportHop, pooled_hop
from tests.support.servers import BackgroundServer, refusing_port

EVENT = Event(type="dev.shoal.task.created", source="/shoal/tasks", id="e-1", subject="t-1",
              time="2026-12-07T18:00:00Z", data={"name": "t-1", "phase": "Pending"},
              extensions={"taskphase": "Pending", "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"})


class Recorder(BackgroundServer):
    """Answers every POST with `status`, recording the request line's target, headers and body."""

    def __init__(self, *, status: str = "202 Accepted", delay: float = 0.0, cookie: str | None = None) -> None:
        self.seen: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        self.status, self.delay, self.cookie = status, delay, cookie
        super().__init__(self.wsgi)

    def wsgi(self, environ, start_response):
        self.bodies.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        self.seen.append({"uri": environ["REQUEST_URI"], **{
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")},
            "content-type": environ.get("CONTENT_TYPE", ""), "content-length": environ.get("CONTENT_LENGTH", "")})
        time.sleep(self.delay)
        headers = [("Content-Length", "0")] + ([("Set-Cookie", self.cookie)] if self.cookie else [])
        if self.status.startswith("302"):
            headers.append(("Location", "/elsewhere"))
        start_response(self.status, headers)
        return [b""]


@pytest.fixture(autouse=True)
def fresh_pool(monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    pool.close_all()  # the events client reads the proxy settings when it is made
    yield
    pool.close_all()


def test_an_event_goes_out_as_to_http_makes_it_and_as_the_client_sent_it():
    headers, body = to_http(EVENT)
    with Recorder() as sink:
        with _events_client() as client:  # the hop's predecessor: the pooled client's own `post`
            assert client.post(sink.url + "/ns/default", headers=headers, content=body).status_code == 202
        emit(EVENT, sink=sink.url + "/ns/default")
    by_client, by_hop = sink.seen
    assert by_hop == by_client
    assert by_hop["uri"] == "/ns/default"
    assert {key: by_hop[key.lower()] for key in headers} == headers  # every ce-* header and the content type
    assert by_hop["ce-traceparent"] == EVENT.extensions["traceparent"]
    assert sink.bodies == [body, body]


def test_the_events_hop_goes_through_the_environments_proxy(monkeypatch):
    with Recorder() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        emit(EVENT, sink="http://broker.invalid/ns/default")
    [seen] = proxy.seen
    assert seen["uri"] == "http://broker.invalid/ns/default" and seen["host"] == "broker.invalid"
    assert seen["ce-id"] == "e-1" and seen["ce-type"] == "dev.shoal.task.created"


def test_no_proxy_sends_the_events_hop_direct(monkeypatch):
    with refusing_port() as port, Recorder() as sink:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")  # would refuse the event
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        emit(EVENT, sink=sink.url + "/")
    assert sink.seen[0]["uri"] == "/" and sink.seen[0]["ce-id"] == "e-1"


@pytest.mark.parametrize("status", ["503 Service Unavailable", "302 Found", "400 Bad Request"])
def test_a_refusing_sink_is_an_emit_error_and_a_redirect_is_not_followed(status):
    with Recorder(status=status) as sink, pytest.raises(EmitError) as raised:
        emit(EVENT, sink=sink.url + "/")
    assert str(raised.value) == f"event sink answered {status[:3]}"
    assert [seen["uri"] for seen in sink.seen] == ["/"]


def test_an_unreachable_sink_is_an_emit_error():
    with refusing_port() as port, pytest.raises(EmitError) as raised:
        emit(EVENT, sink=f"http://127.0.0.1:{port}/")
    assert str(raised.value) == "event sink unreachable: ConnectError"


def test_a_sink_without_a_scheme_is_an_emit_error_as_through_the_client():
    with pytest.raises(EmitError) as raised:
        emit(EVENT, sink="broker:8080")
    assert str(raised.value) == "event sink unreachable: UnsupportedProtocol"


def test_one_hop_per_target_remade_with_the_pools_client(monkeypatch):
    first = pooled_hop("events", _events_client, "http://a.invalid/")
    assert pooled_hop("events", _events_client, "http://a.invalid/") is first
    assert first.client is pool.pooled("events", _events_client)
    other = pooled_hop("events", _events_client, "http://b.invalid/")
    assert other is not first and other.client is first.client  # one pool, one hop per sink
    monkeypatch.setattr(pool, "_owner", os.getpid() + 1)  # as a forked worker sees its parent's pool
    forked = pooled_hop("events", _events_client, "http://a.invalid/")
    assert forked is not first and forked.client is not first.client
    pool.close_all()
    assert pooled_hop("events", _events_client, "http://a.invalid/").client is not forked.client


def test_the_hops_are_bounded(monkeypatch):
    monkeypatch.setattr(hops, "_hops", {})
    for n in range(hops.MAX_HOPS + 5):
        pooled_hop("events", _events_client, f"http://sink-{n}.invalid/")
    assert 0 < len(hops._hops) <= hops.MAX_HOPS
    assert ("events", f"http://sink-{hops.MAX_HOPS + 4}.invalid/") in hops._hops


def test_the_hop_keeps_no_cookies_and_merges_headers_as_the_client_does():
    with Recorder(cookie="session=one; Path=/") as server:
        client = httpx.Client(headers={"X-Default": "d", "User-Agent": "shoal-test"})
        hop = TransportHop(client, server.url)
        hop.post("/a", b"1", {"X-Default": "replaced"})
        hop.post("/a", b"2")
        client.close()
    first, second = server.seen
    assert (first["uri"], first["x-default"], first["user-agent"]) == ("/a", "replaced", "shoal-test")
    assert second["x-default"] == "d" and "cookie" not in second
    assert server.bodies == [b"1", b"2"]


def test_the_clients_read_timeout_applies_to_the_hop():
    with Recorder(delay=0.4) as server:
        client = httpx.Client(timeout=0.1)
        with pytest.raises(httpx.ReadTimeout):
            TransportHop(client, server.url).post("/", b"")
        client.close()
