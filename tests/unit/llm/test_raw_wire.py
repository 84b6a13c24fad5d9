"""The same-wire proxy's upstream hop (shared.llm.wire.RawWire): POSTs through the pooled httpx
client's own transport, so it must send what the client sends and keep what the client keeps (the
environment's proxy, timeouts, compressed answers), without the client's cookie jar."""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest

from shared.llm.base import ProviderError
from shared.llm.wire import RawWire, auth_headers
from tests.support.servers import BackgroundServer, refusing_port

BODY = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
ANSWER = {"id": "x", "object": "chat.completion", "choices": []}


class Upstream(BackgroundServer):
    """Answers every POST with ANSWER (gzip-compressed when `gzip_answer`), recording what it got."""

    def __init__(self, *, gzip_answer: bool = False, delay: float = 0.0, cookie: str | None = None) -> None:
        self.seen: list[dict[str, str]] = []
        self.gzip_answer, self.delay, self.cookie = gzip_answer, delay, cookie
        super().__init__(self.wsgi)

    def wsgi(self, environ, start_response):
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.seen.append({"uri": environ["REQUEST_URI"], **{
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")},
            "content-type": environ.get("CONTENT_TYPE", ""), "content-length": environ.get("CONTENT_LENGTH", "")})
        time.sleep(self.delay)
        content = json.dumps(ANSWER).encode()
        headers = [("Content-Type", "application/json")]
        if self.gzip_answer:
            content = gzip.compress(content)
            headers.append(("Content-Encoding", "gzip"))
        if self.cookie:
            headers.append(("Set-Cookie", self.cookie))
        start_response("200 OK", [*headers, ("Content-Length", str(len(content)))])
        return [content]


def test_the_hop_sends_the_headers_the_pooled_client_sends():
    with Upstream() as server:
        base = server.url + "/v1"
        with httpx.Client(base_url=base, headers={**auth_headers("anthropic", "sk-1"),
                                                  "Content-Type": "application/json"}) as client:
            client.post("/messages", content=BODY, headers={"anthropic-version": "2024-01-01"})
        wire = RawWire("anthropic", "anthropic", base, "sk-1", timeout=5)
        assert json.loads(wire.post("/messages", BODY, headers={"anthropic-version": "2024-01-01",
                                                                 "anthropic-beta": ""})) == ANSWER
        wire.close()
    by_client, by_wire = server.seen
    assert by_wire == by_client
    assert by_wire["uri"] == "/v1/messages" and by_wire["x-api-key"] == "sk-1"
    assert by_wire["anthropic-version"] == "2024-01-01"  # the caller's replaces the default
    assert "anthropic-beta" not in by_wire  # an empty value is not sent
    assert by_wire["content-length"] == str(len(BODY))


def test_a_compressed_answer_is_relayed_decompressed():
    with Upstream(gzip_answer=True) as server:
        wire = RawWire("openai", "openai", server.url + "/v1", "sk-1", timeout=5)
        assert json.loads(wire.post("/chat/completions", BODY)) == ANSWER
        wire.close()
    assert "gzip" in server.seen[0]["accept-encoding"]


def test_the_upstream_cookies_are_not_kept_across_calls():
    with Upstream(cookie="session=caller-1; Path=/") as server:
        wire = RawWire("openai", "openai", server.url + "/v1", "sk-1", timeout=5)
        wire.post("/chat/completions", BODY)
        wire.post("/chat/completions", BODY)
        wire.close()
    assert [seen.get("cookie") for seen in server.seen] == [None, None]


def test_the_environments_proxy_carries_the_hop(monkeypatch):
    with Upstream() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        wire = RawWire("openai", "openai", "http://model.invalid/v1", "sk-1", timeout=5)
        assert json.loads(wire.post("/chat/completions", BODY)) == ANSWER
        wire.close()
    [seen] = proxy.seen
    assert seen["uri"] == "http://model.invalid/v1/chat/completions" and seen["host"] == "model.invalid"
    assert seen["authorization"] == "Bearer sk-1"


def test_no_proxy_sends_the_hop_direct(monkeypatch):
    with refusing_port() as port, Upstream() as server:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")  # would refuse the call
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        wire = RawWire("openai", "openai", server.url + "/v1", "sk-1", timeout=5)
        assert json.loads(wire.post("/chat/completions", BODY)) == ANSWER
        wire.close()
    assert server.seen[0]["uri"] == "/v1/chat/completions"


def test_the_read_timeout_applies_to_the_hop(monkeypatch):
    monkeypatch.setattr(RawWire, "_pause", staticmethod(lambda attempt, retry_after: None))
    with Upstream(delay=0.6) as server:
        wire = RawWire("openai", "openai", server.url + "/v1", "sk-1", timeout=0.1)
        with pytest.raises(ProviderError) as raised:
            wire.post("/chat/completions", BODY)
        wire.close()
    assert str(raised.value) == "openai provider error: ReadTimeout"
    assert raised.value.retryable and len(server.seen) == 3  # tried as often as the SDKs try
