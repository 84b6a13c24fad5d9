"""The kept-alive WSGI server of the local platform's moto and broker (shared/local/wsgi_server.py)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from shared.local.serve import listen
from shared.local.wsgi_server import KeepAliveServer


def _app(environ, start_response):
    """Echoes what the server handed the application; paths under /stream answer without a length."""
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/unread":  # answers without reading the body the client sent
        start_response("200 OK", [("Content-Length", "6")])
        return [b"unread"]
    body = environ["wsgi.input"].read()
    text = (f"{environ['REQUEST_METHOD']} {path} q={environ['QUERY_STRING']} len={environ['CONTENT_LENGTH']} "
            f"peer={environ['REMOTE_PORT']} x={environ.get('HTTP_X_THING')} ").encode() + body
    if path.startswith("/stream"):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([text, b"|second", b"", b"|third"])
    start_response("201 Created", [("Content-Type", "text/plain"), ("Content-Length", str(len(text))),
                                   ("Connection", "close")])  # the app's hop-by-hop header is not passed on
    return [text]


@pytest.fixture
def server() -> Iterator[KeepAliveServer]:
    srv = KeepAliveServer(_app, listen())
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def _raw(port: int, data: bytes) -> bytes:
    """Send `data` on one connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(data)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_one_connection_serves_many_requests_with_bodies_paths_and_headers(server):
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as http:
        first = http.post("/a%20b/%C3%A9?x=1&y=2", content=b"hello", headers={"X-Thing": "t"})
        second = http.get("/again")
    assert first.status_code == 201 and second.status_code == 201
    assert first.headers["content-length"] == str(len(first.content)) and "connection" not in first.headers
    peer = first.text.split("peer=")[1].split()[0]
    # PATH_INFO is percent-decoded, as latin-1 text of the UTF-8 bytes (PEP 3333)
    assert first.text == f"POST /a b/Ã© q=x=1&y=2 len=5 peer={peer} x=t hello"
    assert second.text == f"GET /again q= len=0 peer={peer} x=None "  # the same connection (same client port)


def test_an_answer_without_a_length_is_chunked_and_the_connection_stays_usable(server):
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as http:
        streamed = http.put("/stream", content=b"in")
        after = http.get("/after")
    peer = streamed.text.split("peer=")[1].split()[0]
    assert streamed.headers["transfer-encoding"] == "chunked"
    assert streamed.text == f"PUT /stream q= len=2 peer={peer} x=None in|second|third"
    assert after.text == f"GET /after q= len=0 peer={peer} x=None "


def test_a_body_the_application_leaves_unread_is_not_taken_for_the_next_request(server):
    answer = _raw(server.port, b"POST /unread HTTP/1.1\r\nHost: x\r\nContent-Length: 24\r\n\r\n"
                               b"GET /smuggled HTTP/1.1\r\n"
                               b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.count(b"HTTP/1.1 ") == 2 and b"/smuggled" not in answer
    assert answer.endswith(b"GET /next q= len=0 peer=" + answer.split(b"peer=")[1].split(b" ")[0] + b" x=None ")
    assert answer.split(b"\r\n\r\n")[1].startswith(b"unreadHTTP/1.1 201 Created")


def test_a_chunked_request_body_is_read_whole(server):
    answer = _raw(server.port, b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                               b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 201 Created\r\n") and b"Connection: close\r\n" in answer
    assert answer.endswith(b" len=5 peer=" + answer.split(b"peer=")[1].split(b" ")[0] + b" x=None abcde")


def test_a_bad_length_is_400_and_closes_and_an_application_error_is_500_and_closes(server):
    message = b"Content-Length is not a number"
    assert _raw(server.port, b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n") == (
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
        % (len(message), message))
    assert _raw(server.port, b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n") == (
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n"
        b"Connection: close\r\n\r\nInternal Server Error")


def test_closing_the_server_ends_its_kept_alive_connections():
    srv = KeepAliveServer(_app, listen())
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as conn:
        conn.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.recv(65536).startswith(b"HTTP/1.1 201 Created\r\n")
        srv.shutdown()
        srv.server_close()
        assert conn.recv(65536) == b""  # the server ended the idle connection
    thread.join(5)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{srv.port}/a", timeout=2)


def test_a_malformed_chunked_body_is_400_and_closes(server):
    answer = _raw(server.port, b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"Connection: close\r\n" in answer
    assert answer.endswith(b"\r\n\r\nthe chunked body is malformed")


def test_headers_folded_repeated_and_an_http10_request_that_closes(server):
    # a folded line joins the one before it; X-Thing given twice reaches the application as one, comma-joined
    answer = _raw(server.port, b"GET /h HTTP/1.0\r\nHost: x\r\nX-Thing:  one\r\n  more \r\nx-thing: two\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 201 Created\r\n") and b"Connection: close\r\n" in answer
    assert answer.endswith(b" x=one more,two ")


def test_expect_100_continue_is_answered_before_the_body_is_sent(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(b"PUT /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        assert conn.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.sendall(b"ok")
        assert conn.recv(65536).startswith(b"HTTP/1.1 201 Created\r\n")


@pytest.mark.parametrize(("request_head", "status", "says"), [
    (b"GET /a HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", b"400 Bad Request", b"malformed header line"),
    (b"GET /a HTTP/1.1\r\nHost x: y\r\n\r\n", b"400 Bad Request", b"malformed header line"),
    (b"GET /a HTTP/1.1\r\nHost : x\r\n\r\n", b"400 Bad Request", b"malformed header line"),
    (b"GET /a HTTP/1.1\r\n folded first\r\n\r\n", b"400 Bad Request", b"first header line is a continuation"),
    (b"GET /a HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", b"431 Request Header Fields Too Large",
     b"too many headers (over 100)"),
    (b"GET /a HTTP/1.1\r\nX: " + b"y" * 70000 + b"\r\n\r\n", b"431 Request Header Fields Too Large",
     b"header line too long"),
    (b"GET /a HTTP/2.0\r\nHost: x\r\n\r\n", b"505 HTTP Version Not Supported", b"Bad request line"),
    (b"GET /a HTTP/1.1 extra\r\nHost: x\r\n\r\n", b"400 Bad Request", b"Bad request line"),
    (b"GET /a\r\n\r\n", b"400 Bad Request", b"Bad request line"),
])
def test_a_malformed_request_head_is_refused_and_closes(server, request_head, status, says):
    answer = _raw(server.port, request_head)
    assert answer.startswith(b"HTTP/1.1 " + status + b"\r\n") and b"Connection: close\r\n" in answer
    assert says in answer
