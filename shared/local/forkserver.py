"""`make run`'s functions, forked from one process that imported what they share (the local platform only).

Each function started as its own interpreter imported Flask, pydantic, the shared packages and boto3's
service models for itself: about 50 MB of each function's memory was the same pages, held twenty
times (docs/performance.md). This process imports all of that once and forks a process per function,
which shares those pages with it and its siblings until it writes to them (the garbage collector's
objects are frozen first, so collecting does not write to them).

Each function is still a process of its own, as in the cluster: killed, it dies alone, and the
platform restarts it (shared.local.supervisor) through `ForkServer.spawn`. The forked process serves
with `shared.local.serve.serve_function`, as a function started on its own does.

Protocol, over a Unix socket pair (SOCK_SEQPACKET: a message per send): the platform sends
`{"name", "source", "host", "port", "env"}` with the function's listening socket attached; this
process forks and answers `{"pid"}`, and later `{"exited": pid, "code": n}` when it reaps it (the
functions are its children, not the platform's). It dies with the platform, and its children with it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from shared.local.serve import PARENT_ENV, ROOT, die_with_parent

CHANNEL_ENV = "SHOAL_FORKSERVER_FD"
MAX_MESSAGE = 1 << 20
COMM_PREFIX = "fn:"  # a forked function's process name (/proc/<pid>/comm): "fn:" and the function, cut to 15


class Forked:
    """A function process forked by the fork server: what the platform asks of a subprocess.Popen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._exited = threading.Event()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"function process {self.pid}", timeout or 0)
        return self.returncode  # type: ignore[return-value]

    def _exit(self, code: int) -> None:
        self.returncode = code
        self._exited.set()


class ForkServer:
    """The platform's end: starts the fork server and asks it for function processes."""

    def __init__(self, env: dict[str, str], *, preload: bool = True) -> None:
        """`preload=False`: import nothing ahead (tests of the mechanism, which need no sharing)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shared.local.forkserver", *([] if preload else ["--no-preload"])],
                cwd=ROOT, pass_fds=(theirs.fileno(),),
                env={**env, CHANNEL_ENV: str(theirs.fileno()), PARENT_ENV: str(os.getpid())},
                start_new_session=True)
        finally:
            theirs.close()
        self._channel = ours
        self._children: dict[int, Forked] = {}
        self._answers: list[dict[str, Any]] = []
        self._answered = threading.Condition()
        self._spawning = threading.Lock()
        threading.Thread(target=self._read, name="forkserver", daemon=True).start()

    def spawn(self, name: str, source: Path, env: dict[str, str], sock: socket.socket, host: str = "127.0.0.1",
              timeout: float = 60.0) -> Forked:
        """A process serving function `name` on the listening `sock` (which the caller may then close)."""
        request = {"name": name, "source": str(source), "host": host, "port": sock.getsockname()[1], "env": env}
        with self._spawning:
            socket.send_fds(self._channel, [json.dumps(request).encode()], [sock.fileno()])
            with self._answered:
                if not self._answered.wait_for(lambda: self._answers or self.process.poll() is not None, timeout):
                    raise RuntimeError(f"the fork server did not start {name} within {timeout:.0f}s")
                if not self._answers:
                    raise RuntimeError(f"the fork server exited with code {self.process.returncode}")
                answer = self._answers.pop(0)
        if "error" in answer:
            raise RuntimeError(f"the fork server could not start {name}: {answer['error']}")
        return answer["forked"]

    def _read(self) -> None:
        while True:
            try:
                message = self._channel.recv(MAX_MESSAGE)
            except OSError:
                message = b""
            if not message:  # the fork server is gone, and every function with it
                for child in list(self._children.values()):
                    if child.returncode is None:
                        child._exit(-signal.SIGKILL)
                with self._answered:
                    self._answered.notify_all()
                return
            doc = json.loads(message)
            if "exited" in doc:
                self._children.setdefault(doc["exited"], Forked(doc["exited"]))._exit(doc["code"])
                self._children.pop(doc["exited"], None)
            else:
                if "pid" in doc:  # registered before its exit can be read (it may die at once)
                    doc["forked"] = self._children.setdefault(doc["pid"], Forked(doc["pid"]))
                with self._answered:
                    self._answers.append(doc)
                    self._answered.notify_all()

    def stop(self, timeout: float = 10.0) -> None:
        # The fork server exits when its channel closes. shutdown first: the reader thread blocked in
        # recv holds the socket, so a close alone sent no EOF and every stop waited out the timeout
        # (Ctrl-C of make run took 10 s, then killed the fork server).
        with contextlib.suppress(OSError):
            self._channel.shutdown(socket.SHUT_RDWR)
        self._channel.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- the fork server itself ------------------------------------------------------------------------
def preload() -> None:
    """Import what every function imports, so that the forked functions share it.

    Every function's routes and event handlers (importing them imports their packages), and boto3 with
    the store's two service models loaded into the one session's cache (shared.store.clients keeps the
    session; the clients themselves are made again in each function, after the fork). Nothing here
    starts a thread or opens a connection: a fork keeps only the thread that forks.
    """
    import functions_framework  # noqa: F401
    import gunicorn.sock  # noqa: F401
    import gunicorn.workers.gthread  # noqa: F401

    from shared.events.handler_table import FUNCTION_HANDLERS, build_handlers
    from shared.http.route_table import FUNCTION_ROUTERS, build_api
    from shared.store.clients import client, reset_clients

    for name in FUNCTION_ROUTERS:
        build_api(name)
    for name in FUNCTION_HANDLERS:
        build_handlers(name)
    client("dynamodb"), client("s3")
    reset_clients()
    gc.collect()
    gc.freeze()  # the collector would otherwise write to every shared object it visits, copying its page


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
    serve_function(request["name"], request["source"], request["host"], request["port"], fd)


def _fork(channel: socket.socket, wakeup: int, request: dict[str, Any], fd: int) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        os.close(fd)
        return pid
    code = 0
    try:
        channel.close()
        signal.set_wakeup_fd(-1)
        os.close(wakeup)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _child(request, fd, parent)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reap(channel: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        channel.send(json.dumps({"exited": pid, "code": os.waitstatus_to_exitcode(status)}).encode())


def main() -> None:
    die_with_parent()
    channel = socket.socket(fileno=int(os.environ.pop(CHANNEL_ENV)))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the platform's to handle
    if "--no-preload" not in sys.argv[1:]:
        preload()
    wakeup_read, wakeup = os.pipe()
    os.set_blocking(wakeup, False)
    signal.set_wakeup_fd(wakeup)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the select below
    while True:
        readable, _, _ = select.select([channel, wakeup_read], [], [], 1.0)
        if wakeup_read in readable:
            os.read(wakeup_read, 512)
        _reap(channel)
        if channel in readable:
            message, fds, _, _ = socket.recv_fds(channel, MAX_MESSAGE, 1)
            if not message:
                return  # the platform closed the channel: stop (the functions die with this process)
            try:
                pid = _fork(channel, wakeup, json.loads(message), fds[0])
            except OSError as exc:
                channel.send(json.dumps({"error": str(exc)}).encode())
            else:
                channel.send(json.dumps({"pid": pid}).encode())


if __name__ == "__main__":
    main()
