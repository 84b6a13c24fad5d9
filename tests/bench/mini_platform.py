"""A trimmed `make run` for the task benches: moto's server, the broker, and only the functions a
task's creation and start touch (tasks, dispatcher, internal), each started as `make run` starts it
(shared.local.serve: gunicorn, one worker, 16 threads, its own process). Not a bench itself.

`BENCH_TASKS_PROCESSES=N` (default 1) serves the tasks function with N processes on one listening
socket, as gunicorn's WORKERS=N would (the kernel hands each connection to one of them): to evaluate a
second worker for the tasks function (docs/performance.md, "Task creation, session 11").
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TOKEN = "bench"
FUNCTIONS = ("tasks", "dispatcher", "internal")
TASKS_PROCESSES = int(os.environ.get("BENCH_TASKS_PROCESSES", "1"))


def spawn_copies(target: str, env: dict[str, str], copies: int, **popen) -> tuple[list[subprocess.Popen], str]:
    """`copies` processes serving `target` on one listening socket, each started as spawn_function starts one."""
    from shared.forking import PARENT_ENV
    from shared.local.serve import LISTEN_FD_ENV, listen

    with listen() as sock:
        port = sock.getsockname()[1]
        command = [sys.executable, "-m", "shared.local.serve", "--target", target,
                   "--source", str(ROOT / "functions" / target / "main.py"), "--host", "127.0.0.1", "--port", str(port)]
        child_env = {**env, LISTEN_FD_ENV: str(sock.fileno()), PARENT_ENV: str(os.getpid())}
        procs = [subprocess.Popen(command, env=child_env, pass_fds=(sock.fileno(),), cwd=ROOT, **popen)
                 for _ in range(copies)]
    return procs, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def mini_platform(functions: tuple[str, ...] = FUNCTIONS, extra: dict[str, Path] | None = None
                  ) -> Iterator[dict[str, object]]:
    """{"urls": {function: url}, "pids": {name: pid}} of a running trimmed platform. `extra`: more
    functions (target → source file, e.g. a bench's reference app), started the same way, with no triggers."""
    from shared.config import reset_settings
    from shared.local.broker import Broker
    from shared.local.manifests import triggers
    from shared.local.serve import listen, spawn_function, spawn_moto, wait_http
    from shared.local.wsgi_server import KeepAliveServer
    from shared.store.bootstrap import ensure_state
    from shared.store.clients import reset_clients

    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    state = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    moto, endpoint = spawn_moto({**os.environ, **state}, **quiet)
    processes = {"moto": moto}
    servers = []
    try:
        wait_http(endpoint + "/moto-api/", process=moto)
        os.environ.update({**state, "AWS_ENDPOINT_URL": endpoint})
        reset_settings()
        reset_clients()
        ensure_state()
        urls: dict[str, str] = {}
        # Only the triggers of the started functions: the others would be retried, then dead-lettered.
        broker = Broker([t for t in triggers() if t.subscriber in functions], lambda name: urls.get(name))
        server = KeepAliveServer(broker, listen())
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        env = {**os.environ, "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": TOKEN, "SHOAL_EXECUTOR": "local",
               "K_SINK": f"http://127.0.0.1:{server.port}/",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               "WORKERS": "1", "THREADS": "16", "PYTHONUNBUFFERED": "1"}
        # internal first: the workers (and the others) reach it at SHOAL_INTERNAL_URL
        for name in sorted(functions, key=lambda n: n != "internal"):
            runtime = tempfile.mkdtemp(prefix=f"bench-{name}-")
            fn_env = {**env, "SHOAL_EVENT_SOURCE": name, "XDG_RUNTIME_DIR": runtime}
            if name == "tasks" and TASKS_PROCESSES > 1:
                procs, url = spawn_copies(name, fn_env, TASKS_PROCESSES, **quiet)
                processes.update({name if i == 0 else f"{name}{i + 1}": proc for i, proc in enumerate(procs)})
            else:
                processes[name], url = spawn_function(name, fn_env, **quiet)
            urls[name] = url
            if name == "internal":
                env["SHOAL_INTERNAL_URL"] = url
        for name, source in (extra or {}).items():
            runtime = tempfile.mkdtemp(prefix=f"bench-{name}-")
            processes[name], urls[name] = spawn_function(name, {**env, "XDG_RUNTIME_DIR": runtime}, source=source,
                                                         **quiet)
        for name in [*functions, *(extra or {})]:
            wait_http(urls[name] + "/healthz", process=processes[name])
        yield {"urls": urls, "pids": {name: proc.pid for name, proc in processes.items()}, "broker": broker}
    finally:
        for server in servers:
            server.shutdown()
        for proc in processes.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, 15)
        for proc in processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()


@contextlib.contextmanager
def served_store() -> Iterator[tuple[subprocess.Popen, str]]:
    """moto's server alone, as `make run` starts it (no recording: reads never pass through the recorder),
    this process's store clients pointed at it and its tables made: (the moto process, its URL)."""
    from shared.config import reset_settings
    from shared.local.serve import spawn_moto, wait_http
    from shared.store.bootstrap import ensure_state
    from shared.store.clients import reset_clients

    moto, endpoint = spawn_moto(dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        wait_http(endpoint + "/moto-api/", process=moto)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        reset_settings()
        reset_clients()
        ensure_state()
        yield moto, endpoint
    finally:
        reset_clients()
        moto.kill()
        moto.wait()


def wait_idle(broker, timeout: float = 30.0) -> None:
    """Until the broker has delivered every event it accepted."""
    deadline = time.monotonic() + timeout
    while not broker.idle() and time.monotonic() < deadline:
        time.sleep(0.05)
