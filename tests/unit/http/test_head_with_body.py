"""A function's answer leaves in one send, head and body together (shared.http.server.HeadWithBody):
a reader woken by the head alone (the local gateway, Knative's queue-proxy) would wake twice."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from shared.http.server import HeadWithBody


class _Socket:
    def __init__(self) -> None:
        self.sends: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.sends.append(bytes(data))


def _response(method: str = "GET") -> tuple[HeadWithBody, _Socket]:
    request = SimpleNamespace(method=method, version=(1, 1), should_close=lambda: False, headers=[])
    sock = _Socket()
    return HeadWithBody(request, sock, Config()), sock


def test_a_sized_answer_is_one_send():
    response, sock = _response()
    response.start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "11")])
    response.write(b'{"ok":true}')
    response.close()
    [sent] = sock.sends
    head, body = sent.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nContent-Length: 11" in head
    assert body == b'{"ok":true}'


def test_a_chunked_answer_sends_its_head_with_the_first_chunk_then_the_rest():
    response, sock = _response()
    response.start_response("200 OK", [("Content-Type", "text/event-stream")])
    response.write(b"data: 1\n\n")
    response.write(b"data: 2\n\n")
    response.close()
    first, second, end = sock.sends
    assert b"Transfer-Encoding: chunked" in first and first.endswith(b"\r\n\r\n9\r\ndata: 1\n\n\r\n")
    assert (second, end) == (b"9\r\ndata: 2\n\n\r\n", b"0\r\n\r\n")


@pytest.mark.parametrize("method,status", [("GET", "204 No Content"), ("HEAD", "200 OK")])
def test_an_answer_without_a_body_sends_its_head_at_close(method, status):
    response, sock = _response(method)
    response.start_response(status, [("Content-Length", "0")] if method == "HEAD" else [])
    assert sock.sends == [] and not response.should_close()
    response.close()
    [sent] = sock.sends
    assert sent.startswith(f"HTTP/1.1 {status}\r\n".encode()) and sent.endswith(b"\r\n\r\n")
