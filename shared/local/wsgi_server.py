"""A threaded WSGI server that keeps HTTP/1.1 connections open: the local platform's moto and broker.

werkzeug's development server answers every request with `Connection: close`, so each store call of
`make run` (and each event a function emits to the broker) opened a TCP connection, and the server
started a thread for it, then drained the socket for 10 ms with a selector of its own; on moto's side
that and werkzeug's access log were about half of its CPU per call (docs/performance.md).

Here a connection keeps its thread: the thread waiting on a kept-alive connection reads its next
request itself (no hand-off between threads, unlike gunicorn's gthread worker). The request body is
read whole before the application runs, so whatever the application leaves unread can never be taken
for the next request; an answer with a Content-Length goes out as is (its head and first piece in one
send), one without is chunked. A connection idle for `IDLE_SECONDS` is closed (clients' pools dial
again); `shutdown()` then `server_close()` end the server and every connection it holds.

The request line and headers are read here too (HTTP/1.0 and 1.1, http.server's rules): http.server
hands the headers to the email package's parser, about a tenth of moto's CPU per store call and of
the broker's per event (docs/performance.md, "Task creation, session 10").
"""

from __future__ import annotations

import contextlib
import io
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from socketserver import TCPServer, ThreadingMixIn
from typing import Any
from urllib.parse import unquote

MAX_LINE = 65536  # bytes of a header line, as http.client's limit
MAX_HEADERS = 100  # header lines of a request, as http.client's limit
IDLE_SECONDS = 120.0  # then a kept-alive connection is closed; pools see that before reusing it and dial again
MAX_BODY = 1 << 31  # moto's S3 takes uploads in memory; refuse what cannot be meant for it
_NO_BODY = frozenset({204, 304})
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _BadRequest(Exception):
    pass


class _Headers:
    """A request's headers as the handler uses them: `get` (case-insensitive, the first of repeats)
    and `items` (every line, in order)."""

    __slots__ = ("_first", "_items")

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        self._first: dict[str, str] = {}
        for name, value in items:
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: Any = None) -> Any:
        return self._first.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS  # socket timeout: an idle kept-alive connection ends in handle_one_request
    server: KeepAliveServer

    def setup(self) -> None:
        super().setup()
        # Head and body may leave in two sends: without this, Nagle's algorithm holds the second until
        # the client acknowledges the first, which a delayed ACK puts off by up to 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError, TimeoutError):  # the client went away: nothing to answer
            super().handle()

    def parse_request(self) -> bool:
        """The request line and headers of `raw_requestline`; False (after an error answer, if any)
        when the request cannot be served."""
        self.command, self.close_connection = None, True
        self.request_version = self.default_request_version
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if not words:
            return False
        if len(words) != 3 or words[2] not in ("HTTP/1.0", "HTTP/1.1"):
            version_not_supported = len(words) == 3 and words[2].startswith("HTTP/") and words[2][5:6] > "1"
            self._send_simple(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED if version_not_supported
                              else HTTPStatus.BAD_REQUEST, f"Bad request line ({self.requestline[:80]!r})".encode())
            return False
        self.command, self.path, self.request_version = words
        if self.path.startswith("//"):  # as http.server (gh-87389): never taken for a scheme-less URL
            self.path = "/" + self.path.lstrip("/")
        try:
            self.headers = _Headers(self._read_headers())  # type: ignore[assignment]
        except _BadRequest as exc:
            self._send_simple(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE if "too" in str(exc)
                              else HTTPStatus.BAD_REQUEST, str(exc).encode())
            return False
        connection = self.headers.get("Connection", "").lower()
        self.close_connection = connection == "close" or (self.request_version == "HTTP/1.0"
                                                          and connection != "keep-alive")
        if self.headers.get("Expect", "").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def _read_headers(self) -> list[tuple[str, str]]:
        """Header lines up to the blank one, a folded line joined to the one before it."""
        items: list[tuple[str, str]] = []
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise _BadRequest("header line too long")
            if line in (b"\r\n", b"\n", b""):
                return items
            if len(items) >= MAX_HEADERS:
                raise _BadRequest(f"too many headers (over {MAX_HEADERS})")
            text = line.decode("iso-8859-1").rstrip("\r\n")
            if text[:1] in (" ", "\t"):  # obsolete line folding
                if not items:
                    raise _BadRequest("the first header line is a continuation")
                name, value = items[-1]
                items[-1] = (name, f"{value} {text.strip()}")
                continue
            name, colon, value = text.partition(":")
            if not colon or not name or " " in name or "\t" in name:  # a name is a token (RFC 9110)
                raise _BadRequest(f"malformed header line ({text[:40]!r})")
            items.append((name, value.strip()))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method goes to the application
            return self._run
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Quiet: no access log (it cost moto a lock and a formatted line per call), and an idle
        connection timing out is routine. Application errors are printed by `_run`."""

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            from werkzeug.serving import DechunkedInput

            try:
                return DechunkedInput(self.rfile).read()  # type: ignore[arg-type]
            except (ValueError, OSError) as exc:
                if isinstance(exc, ConnectionError | TimeoutError):
                    raise
                raise _BadRequest("the chunked body is malformed") from None
        raw = self.headers.get("Content-Length")
        try:
            length = int(raw) if raw else 0
        except ValueError:
            raise _BadRequest("Content-Length is not a number") from None
        if not 0 <= length <= MAX_BODY:
            raise _BadRequest("Content-Length is out of range")
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise ConnectionResetError("the client sent less than its Content-Length")
        return body

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        if "://" in path:  # an absolute target: keep the path
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False, "wsgi.input_terminated": True,
            "REQUEST_METHOD": self.command, "SCRIPT_NAME": "",
            # PEP 3333: the path as latin-1 decoded bytes, after percent-decoding as UTF-8 bytes
            "PATH_INFO": unquote(path, "latin-1"), "QUERY_STRING": query, "REQUEST_URI": self.path,
            "RAW_URI": self.path, "SERVER_NAME": host, "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version, "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": self.client_address[1], "CONTENT_LENGTH": str(len(body)),
        }
        for key, value in self.headers.items():
            if "_" in key:  # as werkzeug: X_Foo must not pass for X-Foo
                continue
            key = key.upper().replace("-", "_")
            value = value.replace("\r\n", "")
            if key == "CONTENT_LENGTH":
                continue
            if key != "CONTENT_TYPE":
                key = "HTTP_" + key
                if key in environ:
                    value = f"{environ[key]},{value}"
            environ[key] = value
        return environ

    def _run(self) -> None:
        try:
            body = self._body()
        except _BadRequest as exc:
            self.close_connection = True
            self._send_simple(400, str(exc).encode())
            return
        environ = self._environ(body)
        state: dict[str, Any] = {"status": None, "headers": None, "sent": False, "chunked": False, "bodyless": False}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            if exc_info and state["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"], state["headers"] = status, headers
            return write

        def write(data: bytes) -> None:
            if not state["sent"]:
                data = self._head(state, data)
                state["sent"] = True
            elif state["bodyless"]:
                return
            elif state["chunked"] and data:
                data = b"%x\r\n%s\r\n" % (len(data), data)
            if data:
                self.wfile.write(data)

        result = None
        try:
            result = self.server.app(environ, start_response)
            for data in result:
                if data:
                    write(data)
            if not state["sent"]:
                write(b"")
            if state["chunked"]:
                self.wfile.write(b"0\r\n\r\n")
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            self.close_connection = True
            traceback.print_exc()
            if not state["sent"]:
                with contextlib.suppress(OSError):
                    self._send_simple(500, b"Internal Server Error")
        finally:
            if hasattr(result, "close"):
                result.close()  # type: ignore[union-attr]

    def _head(self, state: dict[str, Any], first: bytes) -> bytes:
        """The answer's head for the application's status and headers, with `first` piece of its body."""
        status: str = state["status"]
        code = int(status.split(None, 1)[0])
        names = {name.lower() for name, _ in state["headers"]}
        lines = [f"{self.protocol_version} {status}"]
        lines += [f"{name}: {value}" for name, value in state["headers"]
                  if name.lower() not in ("connection", "transfer-encoding")]
        state["bodyless"] = self.command == "HEAD" or code < 200 or code in _NO_BODY
        if state["bodyless"]:
            first = b""
        elif "content-length" not in names:
            if self.request_version >= "HTTP/1.1":
                state["chunked"] = True
                lines.append("Transfer-Encoding: chunked")
                if first:
                    first = b"%x\r\n%s\r\n" % (len(first), first)
            else:  # an HTTP/1.0 client reads to the end of the connection
                self.close_connection = True
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + first

    def _send_simple(self, code: int, text: bytes) -> None:
        head = (f"{self.protocol_version} {code} {self.responses.get(code, ('',))[0]}\r\n"
                f"Content-Type: text/plain\r\nContent-Length: {len(text)}\r\n"
                + ("Connection: close\r\n" if self.close_connection else "") + "\r\n")
        self.wfile.write(head.encode("latin-1") + text)


class KeepAliveServer(ThreadingMixIn, TCPServer):
    """Serves `app` on the listening socket `sock` (which it takes over), a thread per connection."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, app: WSGIApp, sock: socket.socket) -> None:
        super().__init__(sock.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def track(self, connection: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(connection)

    def server_close(self) -> None:
        """Close the listening socket (after `shutdown()` when serving) and end every open connection:
        their threads see the end and exit."""
        super().server_close()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

