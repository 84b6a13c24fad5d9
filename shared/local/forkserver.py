"""`make run`'s functions, forked from one process that imported what they share (the local platform only).

Each function started as its own interpreter imported Flask, pydantic, the shared packages and boto3's
service models for itself: about 50 MB of each function's memory was the same pages, held twenty
times (docs/performance.md). This process imports all of that once and forks a process per function,
which shares those pages with it and its siblings until it writes to them (the garbage collector's
objects are frozen first, so collecting does not write to them).

Each function is still a process of its own, as in the cluster: killed, it dies alone, and the
platform restarts it (shared.local.supervisor) through `ForkServer.spawn`. The forked process serves
with `shared.local.serve.serve_function`, as a function started on its own does.

The mechanism is shared.forking's; a request here is `{"name", "source", "host", "port", "env"}` with
the function's listening socket attached, and `"unix"` (a path) with its listening Unix socket as well
when it has one (the local gateway's way in). The fork server dies with the platform, and its
functions with it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path
from typing import Any

from shared.forking import Forked, die_with_parent, freeze, run
from shared.forking import ForkServer as _ForkServer

COMM_PREFIX = "fn:"  # a forked function's process name (/proc/<pid>/comm): "fn:" and the function, cut to 15


class ForkServer(_ForkServer):
    """The platform's end: starts the fork server and asks it for function processes."""

    def __init__(self, env: dict[str, str], *, preload: bool = True) -> None:
        """`preload=False`: import nothing ahead (tests of the mechanism, which need no sharing)."""
        super().__init__(env, "shared.local.forkserver", () if preload else ("--no-preload",))

    def spawn(self, name: str, source: Path, env: dict[str, str], sock: socket.socket, host: str = "127.0.0.1",
              timeout: float = 60.0, unix: socket.socket | None = None) -> Forked:
        """A process serving function `name` on the listening `sock`, and on the listening Unix socket `unix`
        when given (the caller may then close both)."""
        request = {"name": name, "source": str(source), "host": host, "port": sock.getsockname()[1], "env": env}
        if unix is not None:
            request["unix"] = unix.getsockname()
        return self.ask(request, sock.fileno(), name, timeout, more=() if unix is None else (unix.fileno(),))


# -- the fork server itself ------------------------------------------------------------------------
def preload() -> None:
    """Import what every function imports, so that the forked functions share it.

    Every function's routes and the models they name, its event handlers (importing them imports their
    packages), and boto3 with the store's two service models loaded into the one session's cache
    (shared.store.clients keeps the session; the clients themselves are made again in each function,
    after the fork). Nothing here
    starts a thread or opens a connection: a fork keeps only the thread that forks.
    """
    import functions_framework  # noqa: F401
    import gunicorn.sock  # noqa: F401
    import gunicorn.workers.gthread  # noqa: F401

    import shared.http.server  # noqa: F401  (the worker class)
    from shared.events.handler_table import FUNCTION_HANDLERS, build_handlers
    from shared.http.models import resolve
    from shared.http.route_table import FUNCTION_ROUTERS, build_api
    from shared.store.clients import client, reset_clients

    for name in FUNCTION_ROUTERS:
        for route in build_api(name).routes:  # and the models its routes name (loaded at first use otherwise)
            for model in route.models():
                if isinstance(model, str) and model.startswith("shared."):
                    resolve(model)
    for name in FUNCTION_HANDLERS:
        build_handlers(name)
    client("dynamodb"), client("s3")
    reset_clients()
    freeze()


def _child(request: dict[str, Any], fd: int, parent: int) -> None:
    """In the forked process: become function `request["name"]` and serve it."""
    from shared.config import reset_settings
    from shared.local.serve import serve_function
    from shared.store.clients import reset_clients

    os.setsid()  # a process group of its own, as a function started on its own has
    die_with_parent(parent)
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text((COMM_PREFIX + request["name"])[:15])
    os.environ.clear()
    os.environ.update(request["env"])
    reset_settings()
    reset_clients()
    serve_function(request["name"], request["source"], request["host"], request["port"], fd,
                   (request["unix"], request["fds"][0]) if "unix" in request else None)


def main() -> None:
    run(None if "--no-preload" in sys.argv[1:] else preload, _child)


if __name__ == "__main__":
    main()
