"""The local gateway: routes by `infra/httproutes.yaml` to the function processes, relaying HTTP/1.1 as it comes.

It reads a request's line and header fields, chooses the function by the percent-decoded path, and
sends the function the request target exactly as the client wrote it (decoding it would let `%2e%2e`
or `%2f` reach another object than the one named). The answer goes back with the function's own
fields (one `Server`, one `Date`) and its body piece by piece as it arrives: SSE is never buffered.

Why a byte relay and not a WSGI app over an HTTP client: werkzeug and httpx each parse a message
into objects and write it out again, so through them a request cost the gateway about as much as the
function it was going to. Here a request costs a small share of that (tests/bench/gateway_overhead.py).

Every client connection has a thread for as long as it stays open (kept alive between requests);
threads are reused once their connection closes. Kept-alive connections to the functions are shared
in a pool; each one goes back to it only once its answer has been read to the end.
"""

from __future__ import annotations

import functools
import json
import queue
import re
import secrets
import select
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from io import BufferedReader
from urllib.parse import unquote_to_bytes, urlsplit

from shared.local.manifests import RouteMatch, Router
from shared.logs import get_logger

log = get_logger("gateway")

# Fields about one connection, not the message (RFC 9110 7.6.1): each hop writes its own.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization",
                        b"proxy-connection", b"te", b"trailer", b"trailers", b"transfer-encoding", b"upgrade"})
# Request fields the gateway writes itself for the function.
SET_HERE = frozenset({b"host", b"content-length", b"expect", b"x-forwarded-for"})
# Methods that may be sent again when a kept-alive connection turns out closed (RFC 9110 9.2.2).
IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})
BODILESS = frozenset({204, 304})
CONNECT_TIMEOUT = 5.0
CLIENT_TIMEOUT = 75.0  # a client idle that long between requests, or not reading its answer, is let go
MAX_LINE = 1 << 16
MAX_FIELDS = 200
MAX_IDLE = 64  # kept-alive connections per function
BUFFER = 1 << 16

_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A head's field lines are checked, read and filtered by a regular expression each over all of them:
# line by line in Python, reading heads was most of the gateway's own work per request.
_FIELD_LINES = re.compile(rb"(?:%s:[^\x00-\x08\x0a-\x1f\x7f]*\r?\n)*" % _TOKEN.pattern)  # HTAB allowed
_REQUEST_READS = re.compile(rb"^(content-length|transfer-encoding|connection|expect|x-request-id):(.*)", re.M | re.I)
_ANSWER_READS = re.compile(rb"^(content-length|transfer-encoding|connection):(.*)", re.M | re.I)
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@functools.lru_cache(maxsize=64)
def _without(names: frozenset[bytes]) -> re.Pattern[bytes]:
    """Removes the field lines of these names from a head."""
    return re.compile(rb"^(?:%s):.*\n" % b"|".join(re.escape(name) for name in sorted(names)), re.M | re.I)


class BadRequest(Exception):
    """The client sent what the gateway cannot relay; answered 400 with this message."""


class BadAnswer(Exception):
    """The function's answer is not HTTP/1.1 the gateway can relay, or it ended early."""


class NoAnswer(BadAnswer):
    """The function closed the connection before answering: a kept-alive one may have been closed idle."""


@dataclass(slots=True)
class Answer:
    status: int
    reason: bytes
    fields: bytes  # the lines to pass on
    persistent: bool  # the function keeps the connection open after this answer
    chunked: bool
    length: int | None  # of the body, when it says


@dataclass(slots=True)
class Request:
    method: bytes
    target: bytes  # as forwarded: as sent, with bytes outside ASCII percent-encoded
    path: str  # percent-decoded, for choosing the function only
    fields: bytes  # the lines to forward
    keep_alive: bool
    version_11: bool
    has_id: bool  # the client sent its own X-Request-Id
    body: bytes
    framed: bool  # the client sent Content-Length or Transfer-Encoding


class Gateway:
    def __init__(self, table: list[RouteMatch], backend_url: Callable[[str], str | None]) -> None:
        self.router = Router(table)
        self.backend_url = backend_url
        self.pool = _Pool()
        self._addresses: dict[str, tuple[tuple[str, int], bytes]] = {}

    def serve_connection(self, conn: socket.socket, client: tuple[str, int]) -> None:
        """Answer the requests of one client connection until either side closes it."""
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # heads and bodies leave at once
            conn.settimeout(CLIENT_TIMEOUT)
            with conn, conn.makefile("rb", buffering=BUFFER) as reader:
                while self._exchange(conn, reader, client[0].encode()):
                    pass
        except OSError:
            pass  # the client went away, or stayed idle too long
        except Exception:
            log.exception("gateway connection failed")

    def _exchange(self, conn: socket.socket, reader: BufferedReader, client_ip: bytes) -> bool:
        """One request and its answer; whether the connection stays open for another."""
        line = reader.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return True  # an empty line before a request is to be ignored (RFC 9112 2.2)
        if not line:
            return False
        try:
            request = _read_request(line, reader, conn)
        except BadRequest as exc:
            conn.sendall(_error(400, str(exc), keep_alive=False))
            return False
        route = self.router.pick(request.path)
        if route is None:
            return _answer(conn, request, 404, "not found")
        base = self.backend_url(route.backend)
        if base is None:
            return _answer(conn, request, 503, f"function {route.backend} is not running")
        return self._forward(conn, request, route.backend, base, client_ip)

    def _forward(self, conn: socket.socket, request: Request, backend: str, base: str, client_ip: bytes) -> bool:
        address, host = self._address(base)
        lines = [b"%s %s HTTP/1.1\r\nHost: %s\r\n%sX-Forwarded-For: %s" % (
            request.method, request.target, host, request.fields, client_ip)]
        if not request.has_id:  # random like uuid4().hex, without building a UUID
            lines.append(b"X-Request-Id: " + secrets.token_hex(16).encode())
        if request.body or request.framed:
            lines.append(b"Content-Length: %d" % len(request.body))
        message = b"\r\n".join(lines) + b"\r\n\r\n" + request.body
        for retry in (False, True):
            try:
                upstream, reused = self.pool.take(address)
            except OSError as exc:
                return _answer(conn, request, 502, f"function {backend} unreachable: {type(exc).__name__}")
            try:
                upstream.sock.sendall(message)
                answer = _read_answer_head(upstream.reader)
                break
            except (OSError, BadAnswer) as exc:
                upstream.close()
                # A kept-alive connection the function closed while idle: nothing was done, send again.
                if reused and not retry and request.method in IDEMPOTENT \
                        and isinstance(exc, NoAnswer | ConnectionResetError | BrokenPipeError):
                    continue
                return _answer(conn, request, 502, f"function {backend} unreachable: {type(exc).__name__}")
        return self._relay(conn, request, upstream, address, answer)

    def _relay(self, conn: socket.socket, request: Request, upstream: _Upstream, address: tuple[str, int],
               answer: Answer) -> bool:
        """Send the answer on as its body arrives; give the function's connection back once it is read."""
        bodiless = request.method == b"HEAD" or answer.status in BODILESS
        head = b"HTTP/1.1 %d %s\r\n%s" % (answer.status, answer.reason, answer.fields)
        if bodiless:
            body: Iterator[bytes] = iter(())
        elif answer.chunked:
            body = _chunked(upstream.reader, BadAnswer)
        elif answer.length is not None:
            body = _exactly(upstream.reader, answer.length, BadAnswer)
        else:
            body = _until_close(upstream.reader)
        # No length to pass on: chunked for an HTTP/1.1 client, else the end of the connection ends it.
        rechunk = not bodiless and answer.length is None and request.version_11
        if rechunk:
            head += b"Transfer-Encoding: chunked\r\n"
        if not request.keep_alive:
            head += b"Connection: close\r\n"
        head += b"\r\n"
        try:
            _send(conn, head, body, rechunk)
        except (OSError, BadAnswer):
            upstream.close()  # mid-answer (or the client left): neither side can carry on
            return False
        if answer.persistent and (bodiless or answer.chunked or answer.length is not None):
            self.pool.give(address, upstream)
        else:
            upstream.close()
        return request.keep_alive

    def _address(self, base: str) -> tuple[tuple[str, int], bytes]:
        """(host, port) to connect to and the Host field, of a function's base URL."""
        found = self._addresses.get(base)
        if found is None:
            url = urlsplit(base)
            found = self._addresses[base] = ((url.hostname or "127.0.0.1", url.port or 80), url.netloc.encode())
        return found


class GatewayServer(socketserver.BaseServer):
    """Serves a Gateway on a socket already bound and listening (shared.local.serve.listen)."""

    def __init__(self, gateway: Gateway, sock: socket.socket) -> None:
        super().__init__(sock.getsockname()[:2], socketserver.BaseRequestHandler)
        self.socket = sock
        self.gateway = gateway
        self._threads = _Threads(gateway.serve_connection)

    def fileno(self) -> int:
        return self.socket.fileno()

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        return self.socket.accept()

    def process_request(self, request, client_address) -> None:
        self._threads.run(request, client_address)

    def close_request(self, request) -> None:
        request.close()

    def server_close(self) -> None:
        self.socket.close()
        self._threads.close()


class _Threads:
    """A thread per connection, reused: a new one starts only when none is waiting for work.

    Not a fixed-size pool: a stream holds its thread for as long as it lasts, and a fixed pool
    would wedge once that many streams were open.
    """

    def __init__(self, target: Callable[..., None]) -> None:
        self._target = target
        self._work: queue.SimpleQueue[tuple | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._started = 0

    def run(self, *args) -> None:
        self._work.put(args)
        if not self._idle.acquire(blocking=False):
            self._started += 1  # only the accepting thread calls run()
            threading.Thread(target=self._loop, name="gateway-connection", daemon=True).start()

    def close(self) -> None:
        """Let every thread end once it is done with its connection."""
        for _ in range(self._started):
            self._work.put(None)

    def _loop(self) -> None:
        while (args := self._work.get()) is not None:
            self._target(*args)
            self._idle.release()


class _Upstream:
    """A connection to a function."""

    __slots__ = ("sock", "reader", "_readable")

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
        self.sock.settimeout(None)  # a stream may stay quiet for as long as it likes
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb", buffering=BUFFER)
        self._readable = select.poll()  # a poll object: cheaper to ask than a peeking recv that raises
        self._readable.register(self.sock, select.POLLIN)

    def usable(self) -> bool:
        """Whether an idle connection can carry a request: the function has neither closed it nor sent on it."""
        return not self._readable.poll(0)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class _Pool:
    """Idle kept-alive connections per function, last in first out.

    No lock: list.pop and list.append are atomic, and a connection is in the list only while idle.
    """

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[_Upstream]] = {}

    def take(self, address: tuple[str, int]) -> tuple[_Upstream, bool]:
        """An idle connection that is still open, else a new one; and whether it was reused."""
        idle = self._idle.get(address, [])
        while idle:
            try:
                upstream = idle.pop()
            except IndexError:
                break  # another thread took the last one
            if upstream.usable():
                return upstream, True
            upstream.close()
        return _Upstream(address), False

    def give(self, address: tuple[str, int], upstream: _Upstream) -> None:
        idle = self._idle.setdefault(address, [])
        if len(idle) < MAX_IDLE:
            idle.append(upstream)
        else:
            upstream.close()


def _read_request(line: bytes, reader: BufferedReader, conn: socket.socket) -> Request:
    parts = line.rstrip(b"\r\n").split(b" ")
    if len(parts) != 3 or not line.endswith(b"\n"):
        raise BadRequest("request line too long" if len(line) > MAX_LINE else "malformed request line")
    method, target, version = parts
    if not _TOKEN.fullmatch(method):
        raise BadRequest("malformed request method")
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise BadRequest("unsupported HTTP version")
    if not target.startswith(b"/"):
        target = _origin_form(target)
    raw_path, _, query = target.partition(b"?")
    path = unquote_to_bytes(raw_path)
    if _CONTROL.search(path):
        raise BadRequest("control character in the request path")
    if _CONTROL.search(query):
        raise BadRequest("control character in the query")
    if not target.isascii():  # not HTTP; the percent-encoding is what any server decodes it to
        target = _NON_ASCII.sub(lambda byte: b"%%%02X" % byte[0][0], target)

    fields = _read_fields(reader, BadRequest)
    coding, lengths, tokens, expect, has_id = [], set(), frozenset(), False, False
    for name, value in _REQUEST_READS.findall(fields):
        name, value = name.lower(), value.strip()
        if name == b"transfer-encoding":
            coding.append(value.lower())
        elif name == b"content-length":
            lengths.add(value)
        elif name == b"connection":
            tokens |= {token.strip().lower() for token in value.split(b",")}
        elif name == b"expect":
            expect = value.lower() == b"100-continue"
        else:
            has_id = True
    if coding and (coding != [b"chunked"] or lengths):
        raise BadRequest("unsupported Transfer-Encoding")
    length = _length(lengths, BadRequest) if lengths else 0
    version_11 = version == b"HTTP/1.1"
    if version_11 and expect and (coding or length):
        conn.sendall(_CONTINUE)  # the body is read here whatever the function will say, so ask for it now
    if coding:
        body = b"".join(_chunked(reader, BadRequest))
    else:
        body = reader.read(length) if length else b""
        if len(body) < length:
            raise BadRequest("the body ended early")
    return Request(method=method, target=target, path=path.decode("utf-8", "replace"),
                   fields=_without(HOP_BY_HOP | SET_HERE | tokens).sub(b"", fields),
                   keep_alive=version_11 and b"close" not in tokens, version_11=version_11, has_id=has_id,
                   body=body, framed=bool(coding or lengths))


def _origin_form(target: bytes) -> bytes:
    """The path and query of an absolute-form target (`http://host/path`), which a server must accept."""
    url = urlsplit(target)
    if url.scheme not in (b"http", b"https") or not url.netloc:
        raise BadRequest("malformed request target")
    return (url.path or b"/") + (b"?" + url.query if url.query else b"")


def _read_answer_head(reader: BufferedReader) -> Answer:
    """The function's final answer's head (1xx ones are skipped)."""
    while True:
        line = reader.readline(MAX_LINE + 1)
        if not line:
            raise NoAnswer("the function closed the connection without answering")
        parts = line.rstrip(b"\r\n").split(b" ", 2)
        if len(parts) < 2 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0") or not _is_status(parts[1]):
            raise BadAnswer("malformed status line")
        status = int(parts[1])
        fields = _read_fields(reader, BadAnswer)
        if status == 101:
            raise BadAnswer("switching protocols is not relayed")
        if status >= 200:
            break
    chunked, lengths, tokens = False, set(), frozenset()
    for name, value in _ANSWER_READS.findall(fields):
        name, value = name.lower(), value.strip()
        if name == b"transfer-encoding":
            chunked = True
        elif name == b"content-length":
            lengths.add(value)
        else:
            tokens |= {token.strip().lower() for token in value.split(b",")}
    dropped = HOP_BY_HOP | tokens | ({b"content-length"} if chunked else set())  # beside chunked, a length is wrong
    return Answer(status=status, reason=parts[2] if len(parts) == 3 else b"",
                  fields=_without(dropped).sub(b"", fields),
                  persistent=parts[0] == b"HTTP/1.1" and b"close" not in tokens, chunked=chunked,
                  length=_length(lengths, BadAnswer) if lengths and not chunked else None)


def _is_status(code: bytes) -> bool:
    return len(code) == 3 and code.isdigit()


def _read_fields(reader: BufferedReader, fail: type[Exception]) -> bytes:
    """A head's field lines, up to the empty line that ends it; checked, and each ended by CRLF."""
    lines = []
    while (line := reader.readline(MAX_LINE + 1)) not in (b"\r\n", b"\n"):
        if not line.endswith(b"\n"):
            raise fail("header field too long" if len(line) > MAX_LINE else "the head ended early")
        if len(lines) == MAX_FIELDS:
            raise fail("too many header fields")
        lines.append(line)
    fields = b"".join(lines)
    if _FIELD_LINES.fullmatch(fields) is None:  # a space before a colon, a folded line, a control character
        raise fail("malformed header field")
    if fields.count(b"\r\n") != len(lines):  # bare LF line ends are to be accepted, but not passed on
        fields = b"".join(line.rstrip(b"\r\n") + b"\r\n" for line in lines)
    return fields


def _length(values: set[bytes], fail: type[Exception]) -> int:
    value = next(iter(values))
    if len(values) != 1 or not value.isdigit():
        raise fail("malformed Content-Length")
    return int(value)


def _chunked(reader: BufferedReader, fail: type[Exception]) -> Iterator[bytes]:
    """The data of a chunked body, piece by piece as it arrives (trailer fields are dropped)."""
    while True:
        line = reader.readline(MAX_LINE + 1)
        size = line.split(b";", 1)[0].strip()
        if not line.endswith(b"\n") or not _CHUNK_SIZE.fullmatch(size):
            raise fail("malformed chunked body")
        if size.strip(b"0") == b"":
            _read_fields(reader, fail)
            return
        yield from _exactly(reader, int(size, 16), fail)
        if reader.readline(3) not in (b"\r\n", b"\n"):
            raise fail("malformed chunked body")


def _exactly(reader: BufferedReader, size: int, fail: type[Exception]) -> Iterator[bytes]:
    while size:
        data = reader.read1(min(size, BUFFER))  # what has arrived, without waiting for the rest
        if not data:
            raise fail("the body ended early")
        size -= len(data)
        yield data


def _until_close(reader: BufferedReader) -> Iterator[bytes]:
    while data := reader.read1(BUFFER):
        yield data


def _send(conn: socket.socket, head: bytes, body: Iterator[bytes], rechunk: bool) -> None:
    """The head with the first piece of body (one packet for most answers), then each piece as it comes."""
    pending = head
    for data in body:
        if rechunk:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        conn.sendall(pending + data if pending else data)
        pending = b""
    if rechunk:
        pending += b"0\r\n\r\n"
    if pending:
        conn.sendall(pending)


def _answer(conn: socket.socket, request: Request, status: int, message: str) -> bool:
    """The gateway's own answer to a request it read to the end; whether the connection stays open."""
    conn.sendall(_error(status, message, keep_alive=request.keep_alive, bodiless=request.method == b"HEAD"))
    return request.keep_alive


def _error(status: int, message: str, *, keep_alive: bool, bodiless: bool = False) -> bytes:
    """An answer in Orka's error dialect: {"error": {"code": …, "message": …}}."""
    body = json.dumps({"error": {"code": status, "message": message}}).encode()
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Date: {formatdate(usegmt=True)}",
            "Content-Type: application/json", f"Content-Length: {len(body)}"]
    if not keep_alive:
        head.append("Connection: close")
    return "\r\n".join(head).encode() + b"\r\n\r\n" + (b"" if bodiless else body)
