"""The local gateway: routes like Gateway API, relays bytes as they come, never wedges, forwards paths as sent."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug import Request, Response
from werkzeug.serving import make_server

from shared.local import gateway as gateway_module
from shared.local.gateway import (
    BadAnswer,
    Gateway,
    GatewayServer,
    _careful_answer,
    _plain_answer,
    _request_id,
    _Stream,
)
from shared.local.manifests import RouteMatch
from shared.local.serve import listen
from tests.support.servers import BackgroundServer

ROUTES = [RouteMatch("PathPrefix", "/s", "fn")]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def ok(request_line: bytes) -> bytes:
    return OK


@contextmanager
def gateway(backends: dict[str, str], table: list[RouteMatch] = ROUTES) -> Iterator[str]:
    """The gateway as `make run` serves it, on a free port; yields its URL."""
    server = GatewayServer(Gateway(table, backends.get), listen())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def upstream(app) -> Iterator[str]:
    """A WSGI app as the function behind the gateway's `/s` route; yields the gateway's URL."""
    with BackgroundServer(app) as fn, gateway({"fn": fn.url}) as url:
        yield url


@dataclass
class Answer:
    status: int
    headers: dict[str, list[str]]
    body: bytes
    interim: list[int]  # the 1xx answers before this one


def exchange(url: str, request: bytes) -> Answer:
    """Send exact bytes (no client normalises them) and read the answer up to the connection's close."""
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    interim = []
    while True:
        head, _, received = received.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        if status >= 200:
            break
        interim.append(status)
    headers: dict[str, list[str]] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    if headers.get("transfer-encoding") == ["chunked"]:
        received = dechunk(received)
    return Answer(status, headers, received, interim)


def dechunk(body: bytes) -> bytes:
    data = b""
    while True:
        line, _, body = body.partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        if not size:
            return data
        data, body = data + body[:size], body[size + 2:]


class Scripted:
    """A function speaking raw HTTP/1.1: answers each request (without a body) with `answer(request line)`.

    It keeps connections open; `close`: it closes each one after an answer, without saying so, as
    gunicorn does to an idle one.
    """

    def __init__(self, answer: Callable[[bytes], bytes], *, close: bool = False, unix: str | None = None) -> None:
        self.answer, self.close, self.connections = answer, close, 0
        self.closed = threading.Semaphore(0)  # released as it closes a connection
        if unix is None:
            self._sock = listen()
            self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        else:  # on a Unix socket, as make run's functions
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.bind(unix)
            self._sock.listen(16)
            self.url = "unix:" + unix

    def __enter__(self) -> Scripted:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed: the test is over
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            while line := reader.readline().strip():
                while reader.readline().strip():
                    pass
                conn.sendall(self.answer(line))
                if self.close:
                    break
        self.closed.release()


def echo(environ, start_response):
    """Tells what it was sent: the request target as received, headers, body."""
    request = Request(environ)
    return Response(json.dumps({"target": environ["RAW_URI"], "method": request.method,
                                "headers": {k.lower(): v for k, v in request.headers.items()},
                                "body": request.get_data(as_text=True)}),
                    content_type="application/json")(environ, start_response)


def test_streams_without_buffering_and_keeps_query_and_status():
    gate = threading.Event()

    def app(environ, start_response):
        request = Request(environ)

        def body():
            yield b"data: one\n\n"
            gate.wait(5)
            yield b"data: two\n\n"

        return Response(body(), status=207, content_type="text/event-stream",
                        headers={"X-Query": request.query_string.decode()})(environ, start_response)

    with upstream(app) as url, httpx.stream("GET", url + "/s/x?a=1&b=2", timeout=5) as response:
        assert response.status_code == 207 and response.headers["x-query"] == "a=1&b=2"
        chunks = response.iter_raw()
        assert next(chunks) == b"data: one\n\n"  # arrived before the upstream finished
        gate.set()
        assert b"".join(chunks) == b"data: two\n\n"


def test_answers_404_for_unrouted_paths_and_503_for_a_stopped_function():
    with gateway({}) as url:
        missing = httpx.get(url + "/nowhere")
        assert missing.status_code == 404
        assert missing.json() == {"error": {"code": 404, "message": "not found"}}
        stopped = httpx.get(url + "/s")
        assert stopped.status_code == 503
        assert stopped.json() == {"error": {"code": 503, "message": "function fn is not running"}}


def test_answers_502_when_the_function_does_not_answer():
    with listen() as closed:
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    with gateway({"fn": dead}) as url:
        response = httpx.get(url + "/s/x")
    assert response.status_code == 502
    assert response.json()["error"]["message"].startswith("function fn unreachable: ")


def test_bodiless_answers_give_their_connection_back_to_the_pool():
    """HEAD, 204 and 304 answers have no body to read to the end; each must still free its connection."""

    def answer(request_line: bytes) -> bytes:
        if request_line.startswith(b"HEAD"):
            return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"  # the length GET would have
        return b"HTTP/1.1 %s\r\n\r\n" % (b"204 No Content" if b"/s/none" in request_line else b"304 Not Modified")

    with Scripted(answer) as fn, gateway({"fn": fn.url}) as url, httpx.Client(base_url=url, timeout=15) as client:
        for _ in range(334):
            assert client.head("/s/x").status_code == 200
            assert client.get("/s/none").status_code == 204
            assert client.get("/s/same").status_code == 304
        fn.answer = ok
        assert client.get("/s/x").status_code == 200
    assert fn.connections == 1  # every answer gave the one connection back


def test_one_server_and_one_date_header_the_functions():
    answer = b"HTTP/1.1 200 OK\r\nServer: function\r\nDate: Mon, 07 Dec 2026 00:00:00 GMT\r\nContent-Length: 2\r\n\r\nok"
    with Scripted(lambda _: answer) as fn, gateway({"fn": fn.url}) as url:
        headers = exchange(url, b"GET /s/x HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n").headers
    assert headers["server"] == ["function"]
    assert headers["date"] == ["Mon, 07 Dec 2026 00:00:00 GMT"]


def test_the_function_gets_the_path_as_sent_and_routing_uses_it_decoded():
    table = [RouteMatch("PathPrefix", "/s", "fn"), RouteMatch("PathPrefix", "/", "other")]
    with BackgroundServer(echo) as fn, gateway({"fn": fn.url}, table) as url:
        for target in (b"/s/%2e%2e/x%2Fy;z?q=%2F&r=a+b%26c", b"/%73/x", b"/s/../x"):
            answer = exchange(url, b"GET %s HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n" % target)
            assert answer.status == 200 and json.loads(answer.body)["target"] == target.decode()
        # Raw non-ASCII is not HTTP; its percent-encoding is what every server decodes it to anyway.
        answer = exchange(url, b"GET /s/caf\xc3\xa9 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        assert json.loads(answer.body)["target"] == "/s/caf%C3%A9"
        # The absolute form a server must accept too: the function gets the path and query.
        answer = exchange(url, b"GET http://gw/s/%2e%2e?q=1 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        assert json.loads(answer.body)["target"] == "/s/%2e%2e?q=1"


def test_control_characters_reach_the_function_percent_encoded():
    """The function refuses them (400 naming the path parameter, in the route's own dialect: a labrats or
    console route's shape is not Orka's, which the gateway answered); a raw one is encoded on the way."""
    forwarded = {b"/s/%00": "/s/%00", b"/s/a%0ab": "/s/a%0ab", b"/s/a%0D%0Ab": "/s/a%0D%0Ab", b"/s/%7f": "/s/%7f",
                 b"/s/\x01": "/s/%01", b"/s/a\tb?q=\x02": "/s/a%09b?q=%02"}
    with BackgroundServer(echo) as fn, gateway({"fn": fn.url}) as url:
        for target, expected in forwarded.items():
            answer = exchange(url, b"GET %s HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n" % target)
            assert answer.status == 200 and json.loads(answer.body)["target"] == expected, target


def test_requests_the_gateway_cannot_relay_faithfully_answer_400_and_close():
    cases = {b"GET /s/x HTTP/1.1\r\nBad Name: x\r\n\r\n": "malformed header field",
             b"GET /s/x HTTP/1.1\r\nX: a\rb\r\n\r\n": "malformed header field",
             b"GET /s/x HTTP/1.1\r\nX: a\r\n folded\r\n\r\n": "malformed header field",
             b"GET /s/x HTTP/2.0\r\n\r\n": "unsupported HTTP version",
             b"GET /s/x\r\n\r\n": "malformed request line",
             b"POST /s/x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n":
                 "unsupported Transfer-Encoding",
             b"POST /s/x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd": "malformed Content-Length"}
    with BackgroundServer(echo) as fn, gateway({"fn": fn.url}) as url:
        for request, message in cases.items():
            answer = exchange(url, request)  # reads to the close: the gateway did not wait for more
            assert (answer.status, json.loads(answer.body)["error"]["message"]) == (400, message), request


def test_forwards_bodies_and_headers_and_drops_hop_by_hop_ones():
    with BackgroundServer(echo) as fn, gateway({"fn": fn.url}) as url:
        sent = httpx.post(url + "/s/x", content=b'{"a": 1}', headers={
            "X-Custom": "kept", "Connection": "X-Hop, close", "X-Hop": "dropped", "Keep-Alive": "timeout=5",
            "X-Forwarded-For": "6.6.6.6", "X-Request-Id": "given"}).json()
        assert sent["method"] == "POST" and sent["body"] == '{"a": 1}'
        headers = sent["headers"]
        assert headers["x-custom"] == "kept" and headers["x-request-id"] == "given"
        assert headers["x-forwarded-for"] == "127.0.0.1" and headers["content-length"] == "8"
        assert not {"x-hop", "keep-alive"} & set(headers)
        assert len(httpx.get(url + "/s/x").json()["headers"]["x-request-id"]) == 32  # one is made up when missing

        chunked = b"POST /s/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n" \
                  b"Connection: close\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
        answer = exchange(url, chunked)
        assert answer.interim == [100] and answer.status == 200  # Expect was answered before the body came
        final = json.loads(answer.body)
        assert final["body"] == "abcde" and final["headers"]["content-length"] == "5"
        assert "transfer-encoding" not in final["headers"] and "expect" not in final["headers"]


def test_connections_to_the_function_are_kept_alive_and_reused():
    with Scripted(ok) as fn, gateway({"fn": fn.url}) as url:
        with httpx.Client(base_url=url) as client:
            for _ in range(20):
                assert client.get("/s/x").text == "ok"
        for _ in range(20):
            assert httpx.get(url + "/s/x").text == "ok"  # a new client connection each time
    assert fn.connections == 1


def test_a_connection_the_function_closed_while_idle_is_not_reused():
    """A function may close a kept-alive connection without saying so (gunicorn does after 2 s idle)."""
    with Scripted(ok, close=True) as fn, gateway({"fn": fn.url}) as url, httpx.Client(base_url=url) as client:
        for send in (client.get, client.post, client.get):
            assert send("/s/x").text == "ok"
            assert fn.closed.acquire(timeout=5)  # closed before the next request comes
    assert fn.connections == 3


def test_a_client_that_leaves_a_stream_releases_the_function():
    closed = threading.Event()

    def app(environ, start_response):
        def body():
            try:
                while True:
                    yield b"data: tick\n\n"
                    closed.wait(0.02)
            finally:
                closed.set()

        return Response(body(), content_type="text/event-stream")(environ, start_response)

    with upstream(app) as url:
        with httpx.stream("GET", url + "/s/events", timeout=5) as response:
            assert next(response.iter_raw()).startswith(b"data: tick")
        assert closed.wait(5)  # the function's stream was closed: the gateway let go of its connection


def test_http_1_0_clients_get_a_whole_answer_then_the_connection_closes():
    def app(environ, start_response):
        return Response(iter([b"one ", b"two"]))(environ, start_response)  # no length: chunked upstream

    with upstream(app) as url:
        answer = exchange(url, b"GET /s/x HTTP/1.0\r\n\r\n")
    assert answer.status == 200 and answer.body == b"one two" and answer.headers["connection"] == ["close"]
    assert "transfer-encoding" not in answer.headers


def test_a_request_sent_again_on_a_connection_follows_a_restarted_function():
    """The same request again on one connection skips reading and routing, but not the function's address."""
    backends: dict[str, str] = {}
    with Scripted(lambda _: b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none") as first, \
            Scripted(lambda _: b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo") as second, \
            gateway(backends) as url, httpx.Client(base_url=url) as client:
        backends["fn"] = first.url
        assert [client.get("/s/x").text for _ in range(3)] == ["one"] * 3
        backends["fn"] = second.url  # restarted: a new port
        assert client.get("/s/x").text == "two"
        del backends["fn"]  # stopped
        assert client.get("/s/x").status_code == 503
    assert first.connections == 1 and second.connections == 1


def test_requests_with_the_same_head_each_carry_their_own_body():
    with BackgroundServer(echo) as fn, gateway({"fn": fn.url}) as url, httpx.Client(base_url=url) as client:
        bodies = [client.post("/s/x", content=body).json()["body"] for body in (b"abc", b"xyz", b"abc")]
    assert bodies == ["abc", "xyz", "abc"]


def test_a_get_finding_every_idle_connection_closed_is_sent_on_a_new_one():
    """A GET is sent without asking first whether its kept-alive connection is still open; when it was
    closed, it goes again on a new connection, not on the next idle one (closed as well)."""
    arrived, release = threading.Semaphore(0), threading.Event()

    def answer(request_line: bytes) -> bytes:
        if b"/s/slow" in request_line:
            arrived.release()
            release.wait(5)
        return OK

    with Scripted(answer, close=True) as fn, gateway({"fn": fn.url}) as url:
        with ThreadPoolExecutor(2) as pool:  # two connections at once: both go back to the pool
            slow = [pool.submit(httpx.get, url + "/s/slow", timeout=5) for _ in range(2)]
            assert arrived.acquire(timeout=5) and arrived.acquire(timeout=5)
            release.set()
            assert [future.result().text for future in slow] == ["ok", "ok"]
        assert fn.closed.acquire(timeout=5) and fn.closed.acquire(timeout=5)  # the function closed both
        assert httpx.get(url + "/s/x", timeout=5).text == "ok"
    assert fn.connections == 3


ANSWERS = {  # what the function sends → what the client gets
    "gunicorn's usual": (b"HTTP/1.1 200 OK\r\nServer: gunicorn\r\nDate: D\r\nConnection: keep-alive\r\n"
                         b"Content-Type: text/plain\r\nContent-Length: 2\r\nX-Request-Id: r\r\n\r\nok",
                         b"HTTP/1.1 200 OK\r\nServer: gunicorn\r\nDate: D\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 2\r\nX-Request-Id: r\r\n\r\nok"),
    "length first": (b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nconnection: Keep-Alive\r\nKeep-Alive: timeout=5\r\n\r\nok",
                     b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"),
    "connection names a field": (b"HTTP/1.1 404 Not Found\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
                                 b"Content-Length: 2\r\n\r\nno",
                                 b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno"),
    "no length": (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbye",
                  b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nbye\r\n0\r\n\r\n"),
    "chunked": (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
}


def test_answers_reach_the_client_the_same_whichever_way_they_are_read():
    """The usual answer is passed on whole by one match; the others field by field. Either way the
    client gets the function's own status line and fields, without those of the hop."""
    for case, (sent, expected) in ANSWERS.items():
        with Scripted(lambda _, sent=sent: sent, close=True) as fn, gateway({"fn": fn.url}) as url, \
                socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5) as sock:
            sock.sendall(b"GET /s/x HTTP/1.1\r\nHost: gw\r\n\r\n")
            received = b""
            while not received.endswith(expected[-5:]) and (chunk := sock.recv(65536)):
                received += chunk
        assert received == expected, case


_NAMES = ["Server", "Content-Type", "X-Request-Id", "Content-Length", "content-length", "Connection", "connection",
          "Keep-Alive", "Transfer-Encoding", "TE", "Upgrade", "Trailer", "Proxy-Connection", "X-Hop",
          # hop-by-hop names in any case, and names that only begin like one
          "kEEP-aLIVE", "tRAILERS", "te", "UPGRADE", "Proxy-Authorization", "proxy-AUTHENTICATE", "CONTENT-length",
          "Tea", "Connections", "Content-Lengths", "Upgraded"]
_VALUES = ["2", "0", "10", "keep-alive", "close", "chunked", "x", "keep-alive, X-Hop", "a b\tc"]


_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=12).map(str.strip)


@st.composite
def answers(draw) -> tuple[bytes, bytes]:
    """Half of them heads like gunicorn's (its Connection field, then the function's fields and a length),
    half varied: other fields, another order, another Connection, a wrong length, another status."""
    body = draw(st.binary(max_size=12))
    extra = draw(st.lists(st.one_of(st.tuples(st.sampled_from(["Content-Type", "X-Request-Id", "Vary"]), _VALUE),
                                    st.tuples(st.sampled_from(_NAMES), st.sampled_from(_VALUES))), max_size=3))
    fields = [("Server", "gunicorn"), ("Date", draw(_VALUE))]
    if draw(st.booleans()):  # gunicorn's
        status = draw(st.sampled_from([b"200 OK", b"201 Created", b"404 Not Found", b"500 Oops"]))
        fields += [("Connection", "keep-alive"), *extra, ("Content-Length", str(len(body))),
                   *draw(st.lists(st.tuples(st.just("X-After"), _VALUE), max_size=1))]
    else:
        status = draw(st.sampled_from([b"200 OK", b"204 No Content", b"304 Not Modified", b"100 Continue", b"999 X"]))
        fields += [(draw(st.sampled_from(["Connection", "connection"])),
                    draw(st.sampled_from(["keep-alive", "close", "Keep-Alive", "x, X-Hop"]))), *extra]
        if (length := draw(st.sampled_from([str(len(body)), None, "3", "0x2", "00"]))) is not None:
            fields.append(("Content-Length", length))
        fields += draw(st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(_VALUES)), max_size=3))
        if draw(st.booleans()):
            fields = draw(st.permutations(fields))
    head = b"HTTP/1.1 %s\r\n%s\r\n" % (status, b"".join(b"%s: %s\r\n" % (n.encode(), v.encode()) for n, v in fields))
    return head, body


@settings(max_examples=300, deadline=None)
@given(answer=answers())
def test_an_answer_passed_on_whole_is_the_one_read_field_by_field(answer):
    """Property: whenever the usual-answer match takes an answer whole, the careful reading of the same
    bytes gives the same status, fields and body; and it never takes one the careful reading refuses."""
    head, body = answer

    def stream() -> tuple[_Stream, socket.socket]:
        ours, theirs = socket.socketpair()
        theirs.sendall(head + body)
        theirs.close()
        return _Stream(ours), ours

    fast, sock = stream()
    with sock:
        whole = _plain_answer(fast)
    careful, sock = stream()
    with sock:
        try:
            read = _careful_answer(careful.head(BadAnswer), careful)
            rest = careful.exactly(read.length, BadAnswer) if read.length is not None else None
        except BadAnswer:
            assert whole is None
            return
    if whole is not None:
        assert read.persistent and not read.chunked and read.status not in (204, 304)
        assert whole == b"HTTP/1.1 %d %s\r\n%s\r\n%s" % (read.status, read.reason, read.fields, rest)


def test_a_function_on_a_unix_socket_is_reached_there(tmp_path):
    """`unix:/path` backends (make run's functions listen on one beside their port)."""
    path = str(tmp_path / "fn.sock")
    server = make_server("unix://" + path, 0, echo, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with gateway({"fn": "unix:" + path}) as url, httpx.Client(base_url=url) as client:
            for body in (b"one", b"two"):  # the second on the kept-alive connection
                sent = client.post("/s/x?q=1", content=body).json()
                assert (sent["target"], sent["body"]) == ("/s/x?q=1", body.decode())
                assert sent["headers"]["host"] == "localhost" and sent["headers"]["x-forwarded-for"] == "127.0.0.1"
    finally:
        server.shutdown()
        server.server_close()


def test_a_function_on_a_unix_socket_closing_idle_connections_is_reached_again(tmp_path):
    """On a Unix socket the gateway waits for the answer in poll (not in recv): a kept-alive connection the
    function has closed is found there too, and a GET goes again on a new connection."""
    with Scripted(ok, close=True, unix=str(tmp_path / "fn.sock")) as fn, gateway({"fn": fn.url}) as url, \
            httpx.Client(base_url=url, timeout=5) as client:
        for _ in range(3):
            assert client.get("/s/x").text == "ok"
            assert fn.closed.acquire(timeout=5)  # closed before the next GET is sent on it
    assert fn.connections == 3


def test_a_post_goes_only_on_a_connection_idle_for_less_than_the_reuse_limit(monkeypatch):
    """gunicorn closes a connection after 2 s idle; a POST sent just then would be lost with nothing to
    tell whether it was begun. So a POST takes a fresh connection past REUSE_IDLE; a GET may be sent again."""
    now = [1000.0]  # the gateway's clock, moved by the test: no stall of the machine can age a connection
    monkeypatch.setattr(gateway_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    with Scripted(ok) as fn, gateway({"fn": fn.url}) as url, httpx.Client(base_url=url) as client:
        assert client.post("/s/x").text == "ok" and client.post("/s/x").text == "ok"
        assert fn.connections == 1  # reused at once
        now[0] += gateway_module.REUSE_IDLE + 0.1
        assert client.get("/s/x").text == "ok"
        assert fn.connections == 1  # a GET does not ask
        now[0] += gateway_module.REUSE_IDLE + 0.1
        assert client.post("/s/x").text == "ok"
        assert fn.connections == 2


def test_request_ids_made_in_bulk_are_each_new():
    """The ids the gateway adds are drawn by the hundred; each request still gets one of its own."""
    lines = [_request_id() for _ in range(1000)]  # several batches
    assert len(set(lines)) == 1000
    assert all(re.fullmatch(rb"X-Request-Id: [0-9a-f]{32}\r\n", line) for line in lines)
