"""Run a WSGI app on a free loopback port in a background thread (for fake peers in tests)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections while the block runs: bound, never listening. A port
    bound and closed at once (the older way) was free again: another test's server, or a client's own
    source port (a TCP self-connect), could take it before the test connected."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


class BackgroundServer:
    """`keep_alive=True`: the local platform's HTTP/1.1 server (shared.local.wsgi_server) instead of
    werkzeug's. It closes every answer it passed on, as gunicorn does; werkzeug's does not when the
    client resets the connection while it drains the socket (an SDK that stops reading at a stream's
    `[DONE]` and closes), so what an app runs on close (a task token's usage) may never run there."""

    def __init__(self, app, *, keep_alive: bool = False) -> None:
        if keep_alive:
            from shared.local.serve import listen
            from shared.local.wsgi_server import KeepAliveServer

            self._server = KeepAliveServer(app, listen())
            self.port = self._server.port
        else:
            self._server = make_server("127.0.0.1", 0, app, threaded=True)
            self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        # A short poll interval: shutdown() waits for it, and every fake server is stopped per test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
