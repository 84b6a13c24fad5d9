"""How a function serves HTTP, in the container and under `make run`: gunicorn (its arbiter in the
container, its worker alone locally) with `ConnectionWorker`, functions-framework's app inside.

`python -m shared.http.server --target=NAME --source=PATH` is the container's command (knative/
services.yaml); it is functions-framework's CLI for an HTTP function, with this worker class.

Why not gunicorn's gthread worker (functions-framework's choice): its main thread polls the kept-alive
connections and hands each request to a pool thread, which hands the connection back when done: three
thread wake-ups and two queue hand-offs per request, a third of the function's CPU for `/healthz`
(docs/performance.md, "One GET, one hop"). Here a connection keeps its thread: the thread waits for its
connection's next request itself and runs it (and, once the connection closes, waits for another).
Everything else is gunicorn's own code (ThreadWorker's request handling: parsing and its limits,
keep-alive, draining unread bodies, HTTP/2, error answers, the access log, max_requests), so local and
cluster behave as gunicorn does:
- at most `threads` requests run at once (THREADS, Knative's containerConcurrency); a connection waits
  for a slot once its request's head is read;
- at most `worker_connections` connections are open; beyond that new ones wait in the listen backlog;
- a connection idle for `keepalive` seconds (the first request: `keepalive` + gthread's 5 s) is closed;
- SIGTERM: no new connections; requests in progress finish (up to `graceful_timeout`), an idle
  kept-alive connection stays open for gthread's linger (a request a client was already sending is
  answered, with `Connection: close`), then closes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import select
import threading
import time
from typing import Any

from gunicorn.http import wsgi
from gunicorn.workers import gthread

WORKER_CLASS = "shared.http.server.ConnectionWorker"
POLL_SLICE = 1.0  # an idle connection's thread looks at the worker's state this often (stop, linger)


class HeadWithBody(wsgi.Response):
    """gunicorn's HTTP/1 response, with its head sent together with the first piece of the body (one
    `sendall`, not two). A reader that wakes on the head alone (the local gateway, Knative's
    queue-proxy) would otherwise wake twice and find the answer incomplete the first time: with a
    thread per connection the function answers fast enough that the body is not yet there."""

    _held = b""

    def send_headers(self) -> None:
        if self.headers_sent:
            return
        tosend = self.default_headers()
        tosend.extend(f"{k}: {v}\r\n" for k, v in self.headers)
        self._held = ("".join(tosend) + "\r\n").encode("latin-1")
        self.headers_sent = True  # as far as the WSGI handling is concerned: written at the latest below

    def _flush(self) -> None:
        if self._held:
            head, self._held = self._held, b""
            self.sock.sendall(head)

    def _emit_body(self, data: bytes) -> None:
        if not self._held:
            return super()._emit_body(data)
        head, self._held = self._held, b""
        if self.chunked:
            data = b"%X\r\n%s\r\n" % (len(data), data)
        self.sock.sendall(head + data)

    def sendfile(self, respiter: Any) -> bool:
        self.send_headers()
        self._flush()  # the file goes with sendfile(2): its head on its own, as gunicorn sends it
        return super().sendfile(respiter)

    def close(self) -> None:
        self.send_headers()
        self._flush()  # no body (204, 304, HEAD, an empty one): the head alone
        super().close()


class ConnectionWorker(gthread.ThreadWorker):
    """gunicorn worker: a connection is served by one thread, which reads its next request itself (no
    hand-off per request); threads are kept for the next connection once theirs closes."""

    def init_process(self) -> None:
        self._slots = threading.BoundedSemaphore(max(1, self.cfg.threads))
        self._open = 0  # connections accepted and not closed yet
        self._open_changed = threading.Condition()  # guards _open, _idle and _threads
        self._idle = 0  # threads waiting for a connection (or about to)
        self._threads = 0
        self._handed: queue.SimpleQueue[gthread.TConn | None] = queue.SimpleQueue()
        self._stopped_at: float | None = None
        wsgi.Response = HeadWithBody  # type: ignore[misc]  # what wsgi.create builds for HTTP/1 (this process only)
        base_init = super(gthread.ThreadWorker, self).init_process  # not gthread's: no pool, poller, queue
        base_init()

    # -- the main thread: accept, heartbeat, stop -------------------------------------------------
    def run(self) -> None:
        for listener in self.sockets:
            listener.setblocking(False)
        while self.alive:
            self.notify()
            if not self.is_parent_alive():
                break
            with self._open_changed:
                if self._open >= self.worker_connections:  # full: leave new ones in the backlog
                    self._open_changed.wait(POLL_SLICE)
                    continue
            with contextlib.suppress(InterruptedError):
                ready, _, _ = select.select(self.wait_fds, [], [], POLL_SLICE)
                for fd in ready:
                    if fd is self.PIPE[0]:  # a signal's wake-up byte (signal.set_wakeup_fd)
                        with contextlib.suppress(OSError):
                            os.read(self.PIPE[0], 64)
                    else:
                        self._accept(fd)
        self.alive = False  # also when the parent went away: idle connections linger, then close
        self._stopped_at = time.monotonic()
        for listener in self.sockets:
            with contextlib.suppress(OSError):
                listener.close()
        deadline = self._stopped_at + self.cfg.graceful_timeout
        with self._open_changed:
            while self._open and time.monotonic() < deadline:
                self.notify()
                self._open_changed.wait(min(POLL_SLICE, max(0.0, deadline - time.monotonic())))
            for _ in range(self._threads):
                self._handed.put(None)  # each thread's last hand: exit

    def _accept(self, listener: Any) -> None:
        try:
            sock, client = listener.accept()
        except (BlockingIOError, ConnectionAbortedError, InterruptedError):
            return  # another process took it, or the client gave up
        conn = gthread.TConn(self.cfg, sock, client, listener.getsockname())
        with self._open_changed:
            self._open += 1
            start = not self._idle
            if start:
                self._threads += 1
            else:
                self._idle -= 1
        self._handed.put(conn)
        if start:
            try:
                threading.Thread(target=self._thread, daemon=True, name="connection").start()
            except RuntimeError:  # no thread to be had: the connection waits for one that frees up
                with self._open_changed:
                    self._threads -= 1

    # -- a connection's thread ----------------------------------------------------------------------
    def _thread(self) -> None:
        """Serve connections one after the other, for the worker's life. A thread outlives its
        connections (as gthread's pool threads do): a process started while serving a request with a
        parent-death signal (shared.forking.die_with_parent, e.g. the local executor's fork server) gets
        that signal when the thread that started it exits, not when its connection closes."""
        while (conn := self._handed.get()) is not None:
            try:
                self._serve(conn)
            except Exception:  # a bug here must not end the thread (see above); the connection is closed
                self.log.exception("Error serving a connection")
            with self._open_changed:
                self._idle += 1

    def _serve(self, conn: gthread.TConn) -> None:
        try:
            idle = self.cfg.keepalive + gthread.DEFAULT_WORKER_DATA_TIMEOUT  # before the first request
            while self._wait_request(conn, idle):
                conn.data_ready = True  # gthread's handle() need not wait for it again
                if self.handle(conn) is not True:  # False: close; _DEFER cannot happen (data is ready)
                    break
                idle = self.cfg.keepalive
        finally:
            self._closed(conn)

    def _wait_request(self, conn: gthread.TConn, idle: float) -> bool:
        """Whether the connection's next request has begun to arrive within `idle` seconds (the
        read-ahead of a pipelined request counts); False: close it (idle, or the worker stopped and
        the linger is over)."""
        if conn.parser is not None and conn.parser.unreader.buf.getbuffer().nbytes:
            return True
        poller = select.poll()
        poller.register(conn.sock, select.POLLIN)
        deadline = time.monotonic() + idle
        while True:
            now = time.monotonic()
            if not self.alive:  # stopping: linger from the stop (the main loop notes when; until then, now)
                deadline = min(deadline, (self._stopped_at or now) + gthread.STOP_KEEPALIVE_LINGER)
            if now >= deadline:
                return False
            if poller.poll(min(deadline - now, POLL_SLICE) * 1000):
                return True

    def handle_request(self, req: Any, conn: gthread.TConn) -> bool:
        with self._slots:  # taken once the head is read: a slow head holds no slot
            return super().handle_request(req, conn)

    def _closed(self, conn: gthread.TConn) -> None:
        with contextlib.suppress(OSError):
            conn.close()
        with self._open_changed:
            self._open -= 1
            self._open_changed.notify_all()

    # -- signals: gthread's refer to its pool and queue ------------------------------------------
    def handle_exit(self, sig: int, frame: Any) -> None:
        self.alive = False  # the main loop wakes on the signal's byte in PIPE

    def handle_quit(self, sig: int, frame: Any) -> None:
        super(gthread.ThreadWorker, self).handle_quit(sig, frame)


def gunicorn_options() -> dict[str, Any]:
    """What Shoal sets on top of functions-framework's gunicorn options."""
    return {"worker_class": WORKER_CLASS}


def main(argv: list[str] | None = None) -> None:
    """functions-framework's CLI for an HTTP function (`--target`, `--source`, `--host`, `--port` or
    FUNCTION_TARGET, FUNCTION_SOURCE, HOST, PORT), served by gunicorn with `ConnectionWorker`."""
    from functions_framework import create_app
    from functions_framework._http.gunicorn import GunicornApplication

    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m shared.http.server")
    parser.add_argument("--target", default=env("FUNCTION_TARGET"), required=not env("FUNCTION_TARGET"))
    parser.add_argument("--source", default=env("FUNCTION_SOURCE"))
    parser.add_argument("--host", default=env("HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(env("PORT", "8080")))
    args = parser.parse_args(argv)
    app = create_app(args.target, args.source, "http")
    GunicornApplication(app, args.host, args.port, False, **gunicorn_options()).run()


if __name__ == "__main__":
    main()
