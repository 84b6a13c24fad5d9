"""A tool call with outside effects runs at most once: a lost answer is reported, not repeated."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from werkzeug import Request, Response

from shared.worker.remote_tools import _caller
from shared.workerapi.client import InternalClient
from tests.support.servers import BackgroundServer


class Peer:
    """Answers with `status`; `held`: only once the test sets `released` (a lost answer, however slowly
    the caller's timeout fires on a loaded machine: a 0.5 s sleep could still answer a starved caller
    whose 0.1 s timeout had not fired yet); counts requests."""

    def __init__(self, status: int = 200, held: bool = False) -> None:
        self.status, self.calls = status, 0
        self.released = threading.Event()
        if not held:
            self.released.set()
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        Request(environ).get_data()
        with self._lock:
            self.calls += 1
        self.released.wait(60)
        return Response('{"result": {"success": true}}', status=self.status,
                        content_type="application/json")(environ, start_response)


def settled(peer: Peer, expected: int) -> int:
    """The peer's count once it reached `expected` (or 30 s passed) and a moment more went by."""
    deadline = time.monotonic() + 30
    while peer.calls < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    return peer.calls


def client(url: str) -> InternalClient:
    return InternalClient(url, "token", attempts=3)


def test_a_lost_answer_is_not_repeated_for_an_at_most_once_call():
    peer = Peer(held=True)
    with BackgroundServer(peer) as server:
        try:
            with pytest.raises(httpx.ReadTimeout):
                client(server.url).call("POST", "/x", json={}, at_most_once=True, timeout=0.1)
            assert settled(peer, 1) == 1
            with pytest.raises(httpx.ReadTimeout):  # an ordinary call retries: the peer sees every attempt
                client(server.url).call("GET", "/x", timeout=0.1)
            assert settled(peer, 1 + 3) == 1 + 3
        finally:
            peer.released.set()


@pytest.mark.parametrize(("status", "calls"), [(503, 3), (429, 3), (500, 1), (502, 1), (400, 1)])
def test_at_most_once_repeats_only_what_was_not_handled(status, calls):
    peer = Peer(status=status)
    with BackgroundServer(peer) as server:
        assert client(server.url).call("POST", "/x", json={}, at_most_once=True)[0] == status
    assert peer.calls == calls


def test_a_remote_tool_whose_answer_is_lost_says_so(monkeypatch):
    from shared.config import reset_settings
    from shared.worker import remote_tools

    monkeypatch.setenv("SHOAL_TOOL_TIMEOUT_SECONDS", "0")
    monkeypatch.setattr(remote_tools, "ANSWER_MARGIN_SECONDS", 0.2)
    reset_settings()
    peer = Peer(held=True)  # no answer within the caller's wait (tool timeout + margin)
    with BackgroundServer(peer) as server:
        try:
            result = _caller(client(server.url), "/internal/v1/worker-tools/ns/merge_pull_request/call", "t")({})
            assert settled(peer, 1) == 1
        finally:
            peer.released.set()
    assert result["success"] is False and result["errorType"] == "unknown_outcome"
    assert result["error"].startswith("no answer from the tool call (ReadTimeout)")
