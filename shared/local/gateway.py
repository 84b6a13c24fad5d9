"""The local gateway: routes by `infra/httproutes.yaml` to the function processes, relaying HTTP/1.1 as it comes.

It reads a request's line and header fields, chooses the function by the percent-decoded path, and
sends the function the request target exactly as the client wrote it (decoding it would let `%2e%2e`
or `%2f` reach another object than the one named). The answer goes back with the function's own
fields (one `Server`, one `Date`) and its body piece by piece as it arrives: SSE is never buffered.

Why a byte relay and not a WSGI app over an HTTP client: werkzeug and httpx each parse a message
into objects and write it out again, so through them a request cost the gateway about as much as the
function it was going to. Here a request costs a small share of that (tests/bench/gateway_overhead.py).

What keeps it cheap (each was measured, docs/performance.md). Between two requests of a connection
the client and the function run, so the gateway meets its caches cold: each step on its path costs
microseconds, not the tenth of one it costs in a loop, and the common case takes few steps.
- A client's request repeated on its connection (the same head, no body) is not read or routed again:
  the bytes are compared with the last request's, and what was written for the function is reused
  (only the function's address is asked for again: a restarted function has another). Field lines
  repeated with another request line are read once as well (`_Stream.memo`).
- The usual answer (gunicorn's: its Connection field, then the function's fields with a length, the
  body arrived with the head) is checked by one match and passed on as it came, less its Connection
  field, in one send (`_plain_answer`); anything else is read field by field (`_careful_answer`).
- A GET is sent on a kept-alive connection without asking the kernel first whether the function has
  closed it: if no answer comes, it is sent again on a new connection (it may be, RFC 9110 9.2.2).
  Other methods ask, and take only a connection idle for less than REUSE_IDLE.
- `make run`'s functions listen on a Unix socket beside their port, and the gateway goes there, and
  waits for the answer in `poll`, not in `recv`: asleep in a Unix socket's `recv`, a thread is woken
  for nothing when the function reads the request (`_Upstream.wait`).
- The client's idle limit is the kernel's (SO_RCVTIMEO), so a read is one system call; request ids
  are drawn without one, a batch at a time (`_request_id`).

Every client connection has a thread for as long as it stays open (kept alive between requests);
threads are reused once their connection closes. Kept-alive connections to the functions are shared
in a pool; each one goes back to it only once its answer has been read to the end. (A thread per
connection and not an event loop: a loop adds a wait on its selector to every exchange, and the
context switches per request are already the two waits a relay cannot avoid, docs/performance.md.)
"""

from __future__ import annotations

import functools
import json
import queue
import random
import re
import select
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
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
CLIENT_TIMEOUT = 75  # seconds a client may stay idle between requests, or not read its answer, before it is let go
MAX_LINE = 1 << 16  # a request line, a header field line, a chunk-size line
MAX_FIELDS = 200
MAX_HEAD = 1 << 20  # a whole head
MAX_IDLE = 64  # kept-alive connections per function
# A request that may not be sent twice goes only on a connection idle for less than this: gunicorn closes
# one after 2 s idle, and a request sent just as it does is lost (reset) with nothing to tell whether
# the function began it.
REUSE_IDLE = 1.0
BUFFER = 1 << 16

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEAD_END = re.compile(rb"\n\r?\n")
_BLANK_LINES = re.compile(rb"(?:\r?\n)*")  # before a request line, to be ignored (RFC 9112 2.2)
_LINE_END = re.compile(rb"\r?\n")
# A head's field lines are checked by one regular expression over all of them: line by line in
# Python, reading heads was most of the gateway's own work per request.
_FIELD_LINES = re.compile(rb"(?:%s:[^\x00-\x08\x0a-\x1f\x7f]*\r?\n)*" % _TOKEN.pattern)  # HTAB allowed
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")
_UNSAFE = re.compile(rb"[\x00-\x1f\x7f-\xff]")
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# The usual request line, taken by one match: an origin-form target of printable ASCII without `%`
# (nothing to decode, nothing further to check). Any other line is read by _request_line.
_PLAIN_LINE = re.compile(rb"(%s) (/[!-$&-~]*) (HTTP/1\.[01])\r\n" % _TOKEN.pattern)
_STATUS_LINE = re.compile(rb"(HTTP/1\.[01]) ([0-9]{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?\r?\n")
# The client's idle limit, kept by the kernel: a blocking read or write past it fails (EAGAIN).
_CLIENT_TIMEVAL = struct.pack("@ll", CLIENT_TIMEOUT, 0)
_Address = tuple[str, int] | str  # a function's (host, port), or its Unix socket's path


def _special_lines(names: frozenset[bytes]) -> re.Pattern[bytes]:
    """Finds the field lines of these names, in a lowercased copy of the fields with CRLF put in front.

    Searched for from their line's CRLF, a literal the regular expression engine skips ahead to:
    several times cheaper than a case-insensitive search from every line start.
    """
    return re.compile(rb"\r\n(%s):([^\r]*)" % b"|".join(re.escape(name) for name in sorted(names)))


@functools.lru_cache(maxsize=64)
def _without(names: frozenset[bytes]) -> re.Pattern[bytes]:
    """Removes the field lines of these names from a head."""
    return re.compile(rb"^(?:%s):.*\n" % b"|".join(re.escape(name) for name in sorted(names)), re.M | re.I)


@functools.lru_cache(maxsize=64)
def _tokens(value: bytes) -> frozenset[bytes]:
    """The options of a Connection field (`keep-alive`, `close`, names of fields to drop)."""
    return frozenset(token.strip().lower() for token in value.split(b","))


# The fields the gateway reads: of a request, what frames its body, Connection, Expect, X-Request-Id
# and the fields it drops; of an answer, what frames its body and the hop-by-hop ones.
_REQUEST_LINES = _special_lines(HOP_BY_HOP | SET_HERE | {b"x-request-id"})
_ANSWER_LINES = _special_lines(HOP_BY_HOP | {b"content-length"})
# The usual answer (gunicorn's order: its Connection field, then the function's, a length among them
# or none) is checked and read by this one match; any other takes the careful path (_careful_answer),
# which reads it the same way. With the caches cold from the client and the function running in
# between, each further step on this path costs microseconds (docs/performance.md).
def _any_case(names: frozenset[bytes]) -> bytes:
    """Alternatives matching these names in any case, spelled `[Cc][Oo]…` and grouped by first letter: each
    alternative then begins with a set the engine checks before trying it, so a line is ruled out in a
    few steps (with `(?i:…)` it tried every name: half the cost of matching an answer)."""
    def spelled(rest: bytes) -> bytes:
        return b"".join(b"[%c%c]" % (c, c ^ 32) if 97 <= c <= 122 else re.escape(bytes([c])) for c in rest)
    first = sorted({name[0] for name in names})
    return b"|".join(b"[%c%c](?:%s)" % (c ^ 32, c, b"|".join(spelled(n[1:]) for n in sorted(names) if n[0] == c))
                     for c in first)


_PLAIN_LINE_RX = rb"(?!(?:%s):)%s:[^\x00-\x08\x0a-\x1f\x7f]*\r\n" % (
    _any_case(HOP_BY_HOP | {b"content-length"}), _TOKEN.pattern)
_PLAIN_ANSWER = re.compile(rb"HTTP/1\.1 ([2-5][0-9][0-9]) ([^\x00-\x08\x0a-\x1f\x7f]*)\r\n((?:%(plain)s)*)"
                           rb"Connection: (keep-alive|close)\r\n((?:%(plain)s)*)"
                           rb"(?:Content-Length: ([0-9]{1,15})\r\n(?:%(plain)s)*)?\r\n" % {b"plain": _PLAIN_LINE_RX})
# What _plain_answer passes on whole: the same, kept alive, with a length and a body (not 204 or 304).
# Every condition is in the match, so that taking the answer is one call (docs/performance.md).
# Each run of other fields is bounded so that the three hold no more than MAX_FIELDS with these two.
_USUAL_ANSWER = re.compile(rb"HTTP/1\.1 (?!204 |304 )[2-5][0-9][0-9] [^\x00-\x08\x0a-\x1f\x7f]*\r\n(?:%(plain)s)%(run)s"
                           rb"(Connection: keep-alive\r\n)(?:%(plain)s)%(run)s"
                           rb"Content-Length: ([0-9]{1,15})\r\n(?:%(plain)s)%(run)s\r\n"
                           % {b"plain": _PLAIN_LINE_RX, b"run": b"{0,%d}" % ((MAX_FIELDS - 2) // 3)})
_PLAIN_HEAD = 8192
_KEEP_FORWARDED = frozenset({b"x-request-id"})
_KEEP_ANSWERED = frozenset({b"content-length"})
_CONTENT_LENGTH_ONLY = frozenset({b"content-length"})


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


@dataclass(slots=True)
class _Last:
    """A client's last request without a body, as read, routed and written for the function."""
    head: bytes
    request: Request
    backend: str
    base: str  # the function's URL when it was routed (a restarted function has another)
    address: _Address
    lines: bytes  # the head's lines for the function, without X-Request-Id and the empty line


class _Stream:
    """A socket read through a buffer of its own: what arrived past one message stays for the next."""

    __slots__ = ("sock", "buffer", "memo", "last")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.memo: tuple[bytes, _RequestFields] | None = None  # a client's last fields, read (_read_request)
        self.last: _Last | None = None  # a client's last request without a body, read and routed (Gateway)

    def _more(self) -> bool:
        data = self.sock.recv(BUFFER)
        self.buffer += data
        return bool(data)

    def head(self, fail: type[Exception], *, skip_blank: bool = False) -> bytes | None:
        """The next head, up to and with the empty line that ends it; None when the peer closed before one."""
        buffer = self.buffer or self.sock.recv(BUFFER)
        if (end := _HEAD_END.search(buffer)) is not None and buffer[0] not in (10, 13):  # the usual: one read
            self.buffer = buffer[end.end():]
            return buffer[:end.end()]
        self.buffer = buffer
        return self._head(fail, skip_blank)

    def _head(self, fail: type[Exception], skip_blank: bool) -> bytes | None:
        searched = 0
        while True:
            if skip_blank and self.buffer[:1] in (b"\r", b"\n"):
                self.buffer, searched = self.buffer[_BLANK_LINES.match(self.buffer).end():], 0
            if (end := _HEAD_END.search(self.buffer, searched)) is not None:
                head, self.buffer = self.buffer[:end.end()], self.buffer[end.end():]
                return head
            searched = max(0, len(self.buffer) - 2)
            if len(self.buffer) > MAX_HEAD:
                raise fail("header fields too long")
            if b"\n" not in self.buffer and len(self.buffer) > MAX_LINE:
                raise fail("request line too long" if fail is BadRequest else "status line too long")
            if not self._more():
                if self.buffer.strip(b"\r\n"):
                    raise fail("the head ended early")
                return None

    def line(self, fail: type[Exception]) -> bytes:
        """One line with its end (a chunk's size, a trailer field)."""
        while (end := self.buffer.find(b"\n")) < 0:
            if len(self.buffer) > MAX_LINE or not self._more():
                raise fail("malformed chunked body")
        line, self.buffer = self.buffer[:end + 1], self.buffer[end + 1:]
        return line

    def some(self, size: int) -> bytes:
        """Up to `size` bytes: those already here, else what the next read brings (b"" at the end)."""
        if not self.buffer:
            return self.sock.recv(min(size, BUFFER))
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def exactly(self, size: int, fail: type[Exception]) -> bytes:
        """`size` bytes, waiting for them all."""
        while len(self.buffer) < size:
            if not self._more():
                raise fail("the body ended early")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


class Gateway:
    def __init__(self, table: list[RouteMatch], backend_url: Callable[[str], str | None]) -> None:
        self.router = Router(table)
        self.backend_url = backend_url
        self.pool = _Pool()
        self._addresses: dict[str, tuple[_Address, bytes]] = {}

    def serve_connection(self, conn: socket.socket, client: tuple[str, int]) -> None:
        """Answer the requests of one client connection until either side closes it."""
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # heads and bodies leave at once
            _limit_idle(conn)
            with conn:
                stream = _Stream(conn)
                client_ip = client[0].encode()
                while self._exchange(conn, stream, client_ip):
                    pass
        except OSError:
            pass  # the client went away, or stayed idle too long
        except Exception:
            log.exception("gateway connection failed")

    def _exchange(self, conn: socket.socket, stream: _Stream, client_ip: bytes) -> bool:
        """One request and its answer; whether the connection stays open for another."""
        last = stream.last
        if last is not None and not stream.buffer:
            head = stream.buffer = conn.recv(BUFFER)
            # The same request again, alone in its read: it was read, routed and written for the function.
            if head == last.head and self.backend_url(last.backend) == last.base:
                stream.buffer = b""
                return self._forward(conn, last.request, last.backend, last.address, last.lines, b"\r\n")
            if not head:
                return False
        try:
            head = stream.head(BadRequest, skip_blank=True)
            if head is None:
                return False
            request = _read_request(head, stream, conn)
        except BadRequest as exc:
            conn.sendall(_error(400, str(exc), keep_alive=False))
            return False
        route = self.router.pick(request.path)
        if route is None:
            return _answer(conn, request, 404, "not found")
        base = self.backend_url(route.backend)
        if base is None:
            return _answer(conn, request, 503, f"function {route.backend} is not running")
        address, host = self._address(base)
        lines = b"%s %s HTTP/1.1\r\nHost: %s\r\n%sX-Forwarded-For: %s\r\n" % (
            request.method, request.target, host, request.fields, client_ip)
        if request.framed:
            return self._forward(conn, request, route.backend, address, lines,
                                 b"Content-Length: %d\r\n\r\n%s" % (len(request.body), request.body))
        # No body: the whole request is its head, which a client often sends again on the connection.
        stream.last = _Last(head, request, route.backend, base, address, lines)
        return self._forward(conn, request, route.backend, address, lines, b"\r\n")

    def _forward(self, conn: socket.socket, request: Request, backend: str, address: _Address,
                 lines: bytes, rest: bytes) -> bool:
        """Send the request (its head's `lines`, and the `rest`: the empty line and the body) and relay the answer."""
        message = lines + (b"" if request.has_id else _request_id()) + rest
        # An idle connection the function closed (or is about to) is found by asking first, unless the
        # request may simply be sent again on a new connection when no answer comes (idempotent).
        idempotent = request.method in IDEMPOTENT
        for retry in (False, True):
            try:
                upstream, reused = self.pool.take(address, ask=not idempotent, fresh=retry)
            except OSError as exc:
                return _answer(conn, request, 502, f"function {backend} unreachable: {type(exc).__name__}")
            try:
                upstream.sock.sendall(message)
                upstream.wait()
                whole = _plain_answer(upstream.stream) if request.keep_alive and request.method != b"HEAD" else None
                if whole is None:
                    answer = _read_answer_head(upstream.stream)
                break
            except (OSError, BadAnswer) as exc:
                upstream.close()
                # A kept-alive connection the function closed while idle: nothing was done, send again.
                if reused and not retry and idempotent \
                        and isinstance(exc, NoAnswer | ConnectionResetError | BrokenPipeError):
                    continue
                return _answer(conn, request, 502, f"function {backend} unreachable: {type(exc).__name__}")
        if whole is None:
            return self._relay(conn, request, upstream, address, answer)
        # Read whole: the function's idle clock (REUSE_IDLE) starts now, not once the client has it.
        self.pool.give(address, upstream)
        try:
            conn.sendall(whole)
        except OSError:
            return False
        return True

    def _relay(self, conn: socket.socket, request: Request, upstream: _Upstream, address: _Address,
               answer: Answer) -> bool:
        """Send the answer on as its body arrives; give the function's connection back once it is read."""
        bodiless = request.method == b"HEAD" or answer.status in BODILESS
        head = b"HTTP/1.1 %d %s\r\n%s" % (answer.status, answer.reason, answer.fields)
        # No length to pass on: chunked for an HTTP/1.1 client, else the end of the connection ends it.
        rechunk = not bodiless and answer.length is None and request.version_11
        if rechunk:
            head += b"Transfer-Encoding: chunked\r\n"
        if not request.keep_alive:
            head += b"Connection: close\r\n"
        head += b"\r\n"
        stream = upstream.stream
        try:
            if bodiless or (answer.length is not None and answer.length <= BUFFER):  # the common answer: one send
                whole = head if bodiless else head + stream.exactly(answer.length, BadAnswer)
                self._done_with(address, upstream, answer, bodiless)  # read whole: its idle clock starts now
                try:
                    conn.sendall(whole)
                except OSError:
                    return False
                return request.keep_alive
            if answer.chunked:
                body: Iterator[bytes] = _chunked(stream, BadAnswer)
            elif answer.length is not None:
                body = _exactly(stream, answer.length, BadAnswer)
            else:
                body = _until_close(stream)
            _send(conn, head, body, rechunk)
        except (OSError, BadAnswer):
            upstream.close()  # mid-answer (or the client left): neither side can carry on
            return False
        self._done_with(address, upstream, answer, bodiless)
        return request.keep_alive

    def _done_with(self, address: _Address, upstream: _Upstream, answer: Answer, bodiless: bool) -> None:
        """The answer was read to its end: keep the connection when the function keeps it open."""
        if answer.persistent and (bodiless or answer.chunked or answer.length is not None):
            self.pool.give(address, upstream)
        else:
            upstream.close()

    def _address(self, base: str) -> tuple[_Address, bytes]:
        """(host, port) or a Unix socket's path to connect to, and the Host field, of a function's base URL
        (`http://host:port`, or `unix:/path`: make run's functions listen on one too, cheaper than TCP)."""
        found = self._addresses.get(base)
        if found is None and base.startswith("unix:"):
            found = self._addresses[base] = (base.removeprefix("unix:"), b"localhost")
        if found is None:
            url = urlsplit(base)
            found = self._addresses[base] = ((url.hostname or "127.0.0.1", url.port or 80), url.netloc.encode())
        return found


def _limit_idle(conn: socket.socket) -> None:
    """Let a client go after CLIENT_TIMEOUT idle. The kernel keeps the limit where it can, so each read
    and write stays one system call; a timeout of Python's own would poll before every one."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _CLIENT_TIMEVAL)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _CLIENT_TIMEVAL)
    except OSError:
        conn.settimeout(CLIENT_TIMEOUT)


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

    __slots__ = ("sock", "stream", "idle_since", "_readable", "wait")

    def __init__(self, address: _Address) -> None:
        unix = isinstance(address, str)  # a Unix socket's path
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.settimeout(CONNECT_TIMEOUT)
                self.sock.connect(address)
            except BaseException:
                self.sock.close()
                raise
        else:
            self.sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(None)  # a stream may stay quiet for as long as it likes
        self.stream = _Stream(self.sock)
        self.idle_since = 0.0  # when it went back to the pool
        self._readable = select.poll()  # a poll object: cheaper to ask than a peeking recv that raises
        self._readable.register(self.sock, select.POLLIN)
        # Waits, once a request is sent, until the answer begins to arrive (or the function closed the
        # connection). On a Unix socket in poll, not in recv: once the function has read the request, the
        # kernel wakes every thread asleep on the sending socket (unix_write_space: there is room to write
        # again), and a thread asleep in recv wakes, finds nothing and sleeps again; a wait in poll is woken
        # only for input. That was half a context switch per request (docs/performance.md). Over TCP the
        # kernel wakes writers only when the send buffer was full: recv waits alone, one system call fewer.
        self.wait: Callable[[], object] = self._readable.poll if unix else _nothing

    def open(self) -> bool:
        """Whether the function has neither closed this idle connection nor sent on it, nor is about to
        close it for being idle (REUSE_IDLE)."""
        return time.monotonic() - self.idle_since < REUSE_IDLE and not self._readable.poll(0)

    def close(self) -> None:
        self.sock.close()


_ids: list[bytes] = []


def _request_id() -> bytes:
    """An X-Request-Id field line with a new id, random like uuid4().hex (not a secret, so no system call
    for it). Made by the hundred: formatting one per request was a tenth of the exchange's own time."""
    try:
        return _ids.pop()  # atomic: threads share the list without a lock
    except IndexError:
        _ids.extend([b"X-Request-Id: %032x\r\n" % random.getrandbits(128) for _ in range(256)])
        return _ids.pop()


def _nothing() -> None:
    pass


class _Pool:
    """Idle kept-alive connections per function, last in first out.

    No lock: list.pop and list.append are atomic, and a connection is in the list only while idle.
    """

    def __init__(self) -> None:
        self._idle: dict[_Address, list[_Upstream]] = {}

    def take(self, address: _Address, *, ask: bool = True, fresh: bool = False) -> tuple[_Upstream, bool]:
        """An idle connection, else a new one; and whether it was reused. `ask`: only one idle for less than
        REUSE_IDLE that the kernel says is still open (a system call); `fresh`: a new one."""
        idle = self._idle.get(address) if not fresh else None
        while idle:
            try:
                upstream = idle.pop()
            except IndexError:
                break  # another thread took the last one
            if not upstream.stream.buffer and (not ask or upstream.open()):
                return upstream, True
            upstream.close()
        return _Upstream(address), False

    def give(self, address: _Address, upstream: _Upstream) -> None:
        idle = self._idle.setdefault(address, [])
        if len(idle) < MAX_IDLE:
            upstream.idle_since = time.monotonic()
            idle.append(upstream)
        else:
            upstream.close()


def _read_request(head: bytes, stream: _Stream, conn: socket.socket) -> Request:
    if (plain := _PLAIN_LINE.match(head)) is not None and plain.end() <= MAX_LINE:
        method, target, version = plain.groups()
        path = target.partition(b"?")[0].decode()
        rest = head[plain.end():]
    else:
        method, target, version, raw_path, rest = _request_line(head)
        path = raw_path.decode("utf-8", "replace")
    # A client sends the same fields request after request on a connection: read once, reused as long
    # as they are the same bytes.
    if stream.memo is not None and stream.memo[0] == rest:
        fields = stream.memo[1]
    else:
        fields = _request_fields(rest)
        stream.memo = (rest, fields)
    version_11 = version == b"HTTP/1.1"
    if version_11 and fields.expect and (fields.chunked or fields.length):
        conn.sendall(_CONTINUE)  # the body is read here whatever the function will say, so ask for it now
    if fields.chunked:
        body = b"".join(_chunked(stream, BadRequest))
    else:
        body = stream.exactly(fields.length, BadRequest) if fields.length else b""
    return Request(method, target, path, fields.lines, version_11 and not fields.close, version_11, fields.has_id,
                   body, fields.framed)


@dataclass(slots=True)
class _RequestFields:
    lines: bytes  # to forward
    close: bool  # Connection: close
    expect: bool  # Expect: 100-continue
    has_id: bool  # the client sent its own X-Request-Id
    chunked: bool
    length: int  # of the body when not chunked (0: none)
    framed: bool  # Content-Length or Transfer-Encoding was sent


def _request_fields(rest: bytes) -> _RequestFields:
    """A request's field lines (`rest`: the head after its request line), checked and read."""
    lines, found = _special(_fields(rest, BadRequest), _REQUEST_LINES, _KEEP_FORWARDED)
    coding, lengths, tokens, expect, has_id = [], set(), frozenset(), False, False
    for name, value in found:
        if name == b"transfer-encoding":
            coding.append(value)
        elif name == b"content-length":
            lengths.add(value)
        elif name == b"connection":
            tokens |= _tokens(value)
        elif name == b"expect":
            expect = value == b"100-continue"
        elif name == b"x-request-id":
            has_id = True
    if coding and (coding != [b"chunked"] or lengths):
        raise BadRequest("unsupported Transfer-Encoding")
    length = _length(lengths, BadRequest) if lengths else 0
    if not tokens <= HOP_BY_HOP:  # Connection names more fields, of this hop only
        lines = _without(tokens - HOP_BY_HOP).sub(b"", lines)
    return _RequestFields(lines, b"close" in tokens, expect, has_id, bool(coding), length, bool(coding or lengths))


def _special(fields: bytes, pattern: re.Pattern[bytes], keep: frozenset[bytes]) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The field lines without those `pattern` finds (but those named in `keep`), and (name, value) of each
    found, both lowercased. `fields`: checked lines, each ended by CRLF (_fields)."""
    block = b"\r\n" + fields  # so that every line has CRLF in front, the first too
    found, parts, kept = [], [], 0
    for match in pattern.finditer(block.lower()):
        name = match[1]
        found.append((name, match[2].strip()))
        if name not in keep:  # the line's CRLF in front and the line go; the CRLF after it ends the one before
            parts.append(block[kept:match.start()])
            kept = match.end()
    if not parts:
        return fields, found
    parts.append(block[kept:])
    return b"".join(parts)[2:], found


def _request_line(head: bytes) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """A request line that is not plain (_PLAIN_LINE), checked piece by piece:
    (method, target as forwarded, version, path decoded, the rest of the head)."""
    line, _, rest = head.partition(b"\n")
    if len(line) > MAX_LINE:
        raise BadRequest("request line too long")
    parts = line.rstrip(b"\r").split(b" ")
    if len(parts) != 3:
        raise BadRequest("malformed request line")
    method, target, version = parts
    if not _TOKEN.fullmatch(method):
        raise BadRequest("malformed request method")
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise BadRequest("unsupported HTTP version")
    if not target.startswith(b"/"):
        target = _origin_form(target)
    raw_path, _, query = target.partition(b"?")
    path = unquote_to_bytes(raw_path)
    # Raw non-ASCII or control bytes are not HTTP; their percent-encoding is what any server decodes
    # them to. A control character (raw or encoded) is then the function's to refuse: its pipeline
    # answers 400 naming the path parameter, in the route's own error dialect, which the gateway
    # cannot know (it answered Orka's shape on labrats and console routes).
    if _UNSAFE.search(target):
        target = _UNSAFE.sub(lambda byte: b"%%%02X" % byte[0][0], target)
    return method, target, version, path, rest


def _origin_form(target: bytes) -> bytes:
    """The path and query of an absolute-form target (`http://host/path`), which a server must accept."""
    url = urlsplit(target)
    if url.scheme not in (b"http", b"https") or not url.netloc:
        raise BadRequest("malformed request target")
    return (url.path or b"/") + (b"?" + url.query if url.query else b"")


def _plain_answer(stream: _Stream) -> bytes | None:
    """The usual answer (_USUAL_ANSWER) as the client gets it, when it arrived whole with its head: it is
    passed on as it came but for its Connection field. Else None, and the stream holds what was read."""
    buffer = stream.buffer or stream.sock.recv(BUFFER)
    if (plain := _USUAL_ANSWER.match(buffer)) is not None:
        head = plain.end()
        end = head + int(plain[2])
        if end <= len(buffer) and head < _PLAIN_HEAD:
            stream.buffer = buffer[end:]
            return buffer[:plain.start(1)] + buffer[plain.end(1):end]  # without "Connection: keep-alive\r\n"
    stream.buffer = buffer
    return None


def _read_answer_head(stream: _Stream) -> Answer:
    """The function's final answer's head (1xx ones are skipped)."""
    head = stream.head(BadAnswer)
    if head is not None and len(head) < _PLAIN_HEAD and (plain := _PLAIN_ANSWER.fullmatch(head)) is not None \
            and head.count(b"\n") < MAX_FIELDS:
        length = plain[6]
        return Answer(int(plain[1]), plain[2], plain[3] + head[plain.start(5):-2], plain[4] == b"keep-alive",
                      False, None if length is None else int(length))
    return _careful_answer(head, stream)


def _careful_answer(head: bytes | None, stream: _Stream) -> Answer:
    """The function's final answer's head, from its first head (`head`) on, whatever its form."""
    while True:
        if head is None:
            raise NoAnswer("the function closed the connection without answering")
        if (line := _STATUS_LINE.match(head)) is None:
            raise BadAnswer("malformed status line")
        version, status, reason = line.groups()
        status = int(status)
        fields = _fields(head[line.end():], BadAnswer)
        if status == 101:
            raise BadAnswer("switching protocols is not relayed")
        if status >= 200:
            break
        head = stream.head(BadAnswer)
    fields, found = _special(fields, _ANSWER_LINES, _KEEP_ANSWERED)
    chunked, lengths, tokens = False, set(), frozenset()
    for name, value in found:
        if name == b"content-length":
            lengths.add(value)
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"connection":
            tokens |= _tokens(value)
    if chunked and lengths:  # beside chunked, a length is wrong
        fields = _without(_CONTENT_LENGTH_ONLY).sub(b"", fields)
    if not tokens <= HOP_BY_HOP:  # Connection names more fields, of this hop only
        fields = _without(tokens - HOP_BY_HOP).sub(b"", fields)
    return Answer(status, reason or b"", fields, version == b"HTTP/1.1" and b"close" not in tokens, chunked,
                  _length(lengths, BadAnswer) if lengths and not chunked else None)


def _fields(rest: bytes, fail: type[Exception]) -> bytes:
    """The field lines of a head (`rest`: after its first line, with the empty line that ends it);
    checked, and each ended by CRLF."""
    fields = rest[:-2] if rest.endswith(b"\r\n") else rest[:-1]
    count = fields.count(b"\n")
    if count > MAX_FIELDS:
        raise fail("too many header fields")
    if len(fields) > MAX_LINE and any(len(line) > MAX_LINE for line in fields.split(b"\n")):
        raise fail("header field too long")
    if _FIELD_LINES.fullmatch(fields) is None:  # a space before a colon, a folded line, a control character
        raise fail("malformed header field")
    if fields.count(b"\r\n") != count:  # bare LF line ends are to be accepted, but not passed on
        fields = _LINE_END.sub(b"\r\n", fields)
    return fields


def _length(values: set[bytes], fail: type[Exception]) -> int:
    value = next(iter(values))
    if len(values) != 1 or not value.isdigit():
        raise fail("malformed Content-Length")
    return int(value)


def _chunked(stream: _Stream, fail: type[Exception]) -> Iterator[bytes]:
    """The data of a chunked body, piece by piece as it arrives (trailer fields are dropped)."""
    while True:
        line = stream.line(fail)
        size = line.split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size):
            raise fail("malformed chunked body")
        if size.strip(b"0") == b"":
            trailers = []
            while (line := stream.line(fail)) not in (b"\r\n", b"\n"):
                if len(trailers) == MAX_FIELDS:
                    raise fail("too many header fields")
                trailers.append(line)
            return
        yield from _exactly(stream, int(size, 16), fail)
        if stream.line(fail) not in (b"\r\n", b"\n"):
            raise fail("malformed chunked body")


def _exactly(stream: _Stream, size: int, fail: type[Exception]) -> Iterator[bytes]:
    while size:
        data = stream.some(size)  # what has arrived, without waiting for the rest
        if not data:
            raise fail("the body ended early")
        size -= len(data)
        yield data


def _until_close(stream: _Stream) -> Iterator[bytes]:
    while data := stream.some(BUFFER):
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
