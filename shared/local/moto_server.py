"""moto's server as the local platform runs it: `python -m shared.local.moto_server -H host -p port`.

The state backend of `make run`, of the benches and of the tests that need a server. What moto's own
server (`moto.server`) does, with these differences, each because moto's one process is what every
function's store calls queue on (docs/performance.md):
- atomic conditional writes and partition-only queries (shared.local.moto_atomic, moto_queries);
- kept-alive HTTP/1.1 connections (shared.local.wsgi_server) instead of werkzeug's server, which
  closes each connection after one request; a restart's replay sends the recording over one of them
  (shared.local.moto_replay);
- moto's per-request work that cannot change its answers is done once (shared.local.moto_fast);
- no CORS headers (flask-cors on every answer): only the platform's processes call this server, never
  a browser;
- the service of a request is found once per Host header, not per request: moto matches every
  request's host against each of its ~250 module directories (a listdir and an isdir each) and then
  its URL patterns, under one lock.
Started through `shared.local.serve.spawn_moto` it serves the listening socket it was handed instead
of binding `-p` itself (no window in which another process can take the port).
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

from shared.forking import die_with_parent
from shared.local import moto_fast, moto_replay
from shared.local.moto_atomic import SerialWrites, make_writes_atomic, record_writes_only
from shared.local.serve import inherited_fd


def dispatcher() -> Any:
    """moto's DomainDispatcherApplication, remembering which backend serves which host."""
    from moto.server import DomainDispatcherApplication, create_backend_app

    class CachedDispatch(DomainDispatcherApplication):
        def __init__(self) -> None:
            super().__init__(create_backend_app)
            self._backends: dict[str | None, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            # Called under moto's lock; the answer depends on the host only (moto's modules and URL
            # patterns do not change while it runs).
            if host not in self._backends:
                self._backends[host] = super().get_backend_for_host(host)
            return self._backends[host]

    return CachedDispatch()


def main(argv: list[str] | None = None) -> None:
    die_with_parent()
    os.environ.setdefault("MOTO_DISABLE_GLOBAL_CORS", "true")  # read when moto's settings are imported
    make_writes_atomic()
    moto_fast.install()
    recording = bool(os.environ.get("MOTO_ENABLE_RECORDING"))
    if recording:
        record_writes_only()
        moto_replay.replay_over_one_connection()
    fd = inherited_fd()
    if fd is None:
        from moto.server import main as moto_main

        moto_main(argv if argv is not None else sys.argv[1:])
        return
    from shared.local.wsgi_server import KeepAliveServer

    sock = socket.socket(fileno=fd)
    os.environ.setdefault("MOTO_PORT", str(sock.getsockname()[1]))
    app: Any = dispatcher()
    if recording:
        app = SerialWrites(app)
    KeepAliveServer(app, sock).serve_forever()


if __name__ == "__main__":
    main()
