"""State-backend outages for tests: a port nobody listens on, and a moto server that can be stopped
and started again on the same port (its state lives in this process, so it survives the restart)."""

from __future__ import annotations

import socket
import threading

from werkzeug.serving import make_server


def closed_port_url() -> str:
    """An http URL on loopback that refuses connections (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class RestartableMoto:
    """moto's server app in a thread; `stop()` closes the port (connections refused), `start()` reopens it."""

    def __init__(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app

        from shared.local.moto_atomic import make_writes_atomic

        make_writes_atomic()
        self._app = DomainDispatcherApplication(create_backend_app)
        self.port = 0
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RestartableMoto:
        self._server = make_server("127.0.0.1", self.port, self._app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None
