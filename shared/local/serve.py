"""Serve a function (or moto) on a listening socket the parent process already holds.

"Find a free port, then start a server on it" leaves seconds in which another process can take the
port; the gateway then routes a function's requests to whatever took it. Here the parent binds and
listens first and hands the socket down, so the port is never free between choosing and serving it.

`python -m shared.local.serve --target NAME --source PATH --host H --port P` with `SHOAL_LISTEN_FD`
set serves one function on that socket with the gunicorn worker that serves it in the container
(shared.http.server: WORKERS=1, THREADS), but without gunicorn's master process: locally the platform is the
master (it restarts a function that exits), and a master per function held ~37 MB each for nothing
(docs/performance.md). `make run` forks its functions from one preloaded process instead
(shared.local.forkserver), which calls `serve_function` the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shared.forking import PARENT_ENV, die_with_parent

ROOT = Path(__file__).resolve().parents[2]
LISTEN_FD_ENV = "SHOAL_LISTEN_FD"


def listen(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A bound, listening, inheritable TCP socket (`port=0`: the kernel picks an unused one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


def spawn(module_args: list[str], env: dict[str, str], *, host: str = "127.0.0.1", port_flag: str = "--port",
          **popen: Any) -> tuple[subprocess.Popen, int]:
    """Start `python -m <module_args…> <port_flag> <port>` with a fresh listening socket in SHOAL_LISTEN_FD.

    The port is on the command line for logs and `ps`; the server serves the socket it was handed.
    The parent's copy of the socket is closed once the child has it, so a child that exits leaves
    the port refusing connections rather than queueing them.
    """
    sock = listen(host)
    port = sock.getsockname()[1]
    try:
        proc = subprocess.Popen([sys.executable, "-m", *module_args, port_flag, str(port)],
                                env={**env, LISTEN_FD_ENV: str(sock.fileno()), PARENT_ENV: str(os.getpid())},
                                pass_fds=(sock.fileno(),),
                                cwd=popen.pop("cwd", ROOT), **popen)
    finally:
        sock.close()
    return proc, port


def spawn_function(target: str, env: dict[str, str], *, source: Path | None = None, host: str = "127.0.0.1",
                   **popen: Any) -> tuple[subprocess.Popen, str]:
    """One function of `functions/` under functions-framework (gunicorn) on its own held socket."""
    source = source or ROOT / "functions" / target / "main.py"
    proc, port = spawn(["shared.local.serve", "--target", target, "--source", str(source), "--host", host],
                       env, host=host, **popen)
    return proc, f"http://{host}:{port}"


def spawn_moto(env: dict[str, str] | None = None, **popen: Any) -> tuple[subprocess.Popen, str]:
    """moto's server as the platform runs it (shared.local.moto_server) on its own held socket; (process, url)."""
    proc, port = spawn(["shared.local.moto_server", "-H", "127.0.0.1"], dict(os.environ) if env is None else env,
                       port_flag="-p", **popen)
    return proc, f"http://127.0.0.1:{port}"


def wait_http(url: str, *, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def inherited_fd() -> int | None:
    """The listening socket this process was handed, if any (and forget it, so children don't see it)."""
    raw = os.environ.pop(LISTEN_FD_ENV, None)
    return int(raw) if raw else None


def serve_function(target: str, source: str, host: str, port: int, fd: int,
                   unix: tuple[str, int] | None = None) -> None:
    """Serve `target` of `source` on the listening socket `fd` until SIGTERM, SIGINT or the parent's exit;
    also on the listening Unix socket `unix` (path, fd) when given (make run's gateway comes that way).

    gunicorn's worker with the container's settings (functions-framework's, with Shoal's worker class:
    shared.http.server), run in this process: the request handling of the container, without the
    arbiter that would fork it (see the module docstring).
    """
    from functions_framework import create_app

    serve_wsgi(create_app(target, source, "http"), host, port, fd, unix)


def serve_wsgi(app: Any, host: str, port: int, fd: int, unix: tuple[str, int] | None = None) -> None:
    """Serve the WSGI `app` as `serve_function` serves a function (its gunicorn worker and settings)."""
    from functions_framework._http.gunicorn import GunicornApplication
    from gunicorn.sock import TCPSocket, UnixSocket

    from shared.http.server import gunicorn_options

    application = GunicornApplication(app, host, port, False, **gunicorn_options())
    cfg = application.cfg
    logger = cfg.logger_class(cfg)
    listeners = [TCPSocket((host, port), cfg, logger, fd=fd)]
    if unix is not None:
        listeners.append(UnixSocket(unix[0], cfg, logger, fd=unix[1]))
    worker = cfg.worker_class(1, os.getppid(), listeners, application, cfg.timeout / 2.0, cfg, logger)
    worker.init_process()  # returns when the worker stops; exits the process itself on some signals


def _options(args: list[str]) -> dict[str, str]:
    """`--name value` pairs of the command line."""
    return {name.removeprefix("--"): value for name, value in zip(args[::2], args[1::2], strict=False)}


def main(argv: list[str] | None = None) -> None:
    options = _options(list(sys.argv[1:] if argv is None else argv))
    die_with_parent()
    fd = inherited_fd()
    if fd is None:
        raise SystemExit(f"{LISTEN_FD_ENV} is not set: start this through shared.local.serve.spawn_function")
    serve_function(options["target"], options["source"], options.get("host", "127.0.0.1"), int(options["port"]), fd)


if __name__ == "__main__":
    main()
