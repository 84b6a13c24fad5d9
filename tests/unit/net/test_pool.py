"""Pooled clients: one per purpose and process, and events reuse theirs across emits."""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from shared.events import Event
from shared.events.envelope import emit
from shared.net import pool


@pytest.fixture(autouse=True)
def fresh_pool():
    pool.close_all()
    yield
    pool.close_all()


def test_one_client_per_purpose():
    made = []

    def factory():
        made.append(httpx.Client())
        return made[-1]

    assert pool.pooled("a", factory) is pool.pooled("a", factory)
    assert pool.pooled("b", factory) is not pool.pooled("a", factory)
    assert len(made) == 2


def test_a_forked_process_makes_its_own(monkeypatch):
    parent = pool.pooled("a", httpx.Client)
    monkeypatch.setattr(pool, "_owner", os.getpid() + 1)  # as a gunicorn worker sees its parent's map
    child = pool.pooled("a", httpx.Client)
    assert child is not parent
    assert not parent.is_closed  # the parent's client is left alone, not closed under it
    parent.close()


def test_events_reuse_one_connection(monkeypatch):
    peers: list[tuple[str, int]] = []

    class Sink(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            peers.append(self.client_address)
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sink = f"http://127.0.0.1:{server.server_port}/"
        for n in range(3):
            emit(Event(type="dev.shoal.test", source="/test", id=f"e{n}", data={"n": n}), sink=sink)
    finally:
        server.shutdown()
        server.server_close()
    assert len(peers) == 3
    assert len(set(peers)) == 1  # one keep-alive connection, not a client (and TLS context) per event
