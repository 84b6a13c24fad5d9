"""Fork servers: a process that imported what its children share, and forks a child per request.

A child forked from a process that has already imported Flask, pydantic, boto3 or the agent loop starts
in milliseconds and shares those pages with its siblings, where a fresh interpreter per child pays the
imports again (CPU) and holds its own copy of them (memory). Used by the local platform for its
functions (shared/local/forkserver.py) and by the local executor for task workers
(shared/worker/forkserver.py); each says what to import ahead and what a child becomes.

The process a request forks is a process of its own (its own session, environment and descriptors),
killed alone. Protocol, over a Unix socket pair (SOCK_SEQPACKET: a message per send): the requester
sends a JSON request with one file descriptor attached (a listening socket, an output file), and maybe
a few more, which the child finds in the request's `"fds"`; the fork server forks, the child runs
`child(request, fd, fork_server_pid)`, and the fork server answers
`{"pid", "detached"}`, and later `{"exited": pid, "code": n}` when it reaps the child (children are
the fork server's, not the requester's). The fork server dies with its requester. A child asked for
with `"detached": true` does not die with the fork server, so its exit may go unseen (`Forked.lost`).

This package imports nothing of `shared`: the executor and the local platform both use it.
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
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHANNEL_ENV = "SHOAL_FORKSERVER_FD"
PARENT_ENV = "SHOAL_PARENT_PID"
PR_SET_PDEATHSIG = 1
MAX_MESSAGE = 1 << 20
MORE_FDS = 2  # descriptors a request may carry beside its first (a function's Unix socket)
Child = Callable[[dict[str, Any], int, int], None]


def die_with_parent(parent: int | None = None) -> None:
    """Have the kernel kill this process when the one that spawned it (`parent`, else the one named in
    SHOAL_PARENT_PID) dies, even by `kill -9`.

    Otherwise a crashed `make run` leaves its moto and functions running: still serving, still
    appending to the state recording a restart replays (Linux only; elsewhere a no-op).
    """
    parent = parent or os.environ.pop(PARENT_ENV, None)
    if not parent or not sys.platform.startswith("linux"):
        return
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != int(parent):  # it died before the request took effect
        os._exit(1)


class Forked:
    """A process forked by a fork server: what its requester asks of a subprocess.Popen."""

    def __init__(self, pid: int, *, detached: bool = False) -> None:
        self.pid = pid
        self.detached = detached  # it outlives the fork server (a task worker)
        self.lost = False  # the fork server died first: the exit of a detached process is not known
        self.returncode: int | None = None
        self._exited = threading.Event()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code; None for a detached process whose fork server died before it (`lost`)."""
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"forked process {self.pid}", timeout or 0)
        return self.returncode

    def terminate(self) -> None:
        """SIGTERM, unless its exit was already reported (its pid may then be another process's)."""
        if self.returncode is None and not self.lost:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)

    def _exit(self, code: int) -> None:
        self.returncode = code
        self._exited.set()

    def _lose(self) -> None:
        self.lost = True
        self._exited.set()


class ForkServer:
    """The requester's end: starts the fork server `python -m <module> <args>` and asks it for children."""

    def __init__(self, env: dict[str, str], module: str, args: tuple[str, ...] = ()) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, *args],
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

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, request: dict[str, Any], fd: int, what: str, timeout: float = 60.0, *,
            more: tuple[int, ...] = ()) -> Forked:
        """Fork a child for `request` with `fd` attached, and the descriptors `more` (up to MORE_FDS) in its
        request's "fds" (the caller keeps its own copies and closes them)."""
        with self._spawning:
            socket.send_fds(self._channel, [json.dumps(request).encode()], [fd, *more])
            with self._answered:
                if not self._answered.wait_for(lambda: self._answers or self.process.poll() is not None, timeout):
                    raise RuntimeError(f"the fork server did not start {what} within {timeout:.0f}s")
                if not self._answers:
                    raise RuntimeError(f"the fork server exited with code {self.process.returncode}")
                answer = self._answers.pop(0)
        if "error" in answer:
            raise RuntimeError(f"the fork server could not start {what}: {answer['error']}")
        return answer["forked"]

    def _read(self) -> None:
        while True:
            try:
                message = self._channel.recv(MAX_MESSAGE)
            except OSError:
                message = b""
            if not message:  # the fork server is gone, and every child with it but the detached ones
                for child in list(self._children.values()):
                    if child.returncode is None:
                        child._lose() if child.detached else child._exit(-signal.SIGKILL)
                with self._answered:
                    self._answered.notify_all()
                return
            doc = json.loads(message)
            if "exited" in doc:
                self._children.setdefault(doc["exited"], Forked(doc["exited"]))._exit(doc["code"])
                self._children.pop(doc["exited"], None)
            else:
                if "pid" in doc:  # registered before its exit can be read (it may die at once)
                    doc["forked"] = self._children.setdefault(doc["pid"],
                                                              Forked(doc["pid"], detached=doc.get("detached", False)))
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
        # Its children (but the detached ones) die with it by SIGKILL, a moment later: wait for that, so
        # that a stopped platform's ports refuse connections instead of accepting and resetting them.
        deadline = time.monotonic() + 5
        for child in list(self._children.values()):
            while not child.detached and _running(child.pid) and time.monotonic() < deadline:
                time.sleep(0.01)


def _running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie has released its sockets already)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


# -- the fork server itself ------------------------------------------------------------------------
def freeze() -> None:
    """After the imports: the collector would otherwise write to every shared object it visits,
    copying its page into each child."""
    gc.collect()
    gc.freeze()


def _fork(channel: socket.socket, wakeup: int, request: dict[str, Any], fd: int, child: Child) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        for own in (fd, *request.get("fds", ())):
            os.close(own)
        return pid
    code = 0
    try:
        channel.close()
        signal.set_wakeup_fd(-1)
        os.close(wakeup)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        child(request, fd, parent)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
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


def run(preload: Callable[[], None] | None, child: Child) -> None:
    """The fork server's loop: `preload()`, then fork `child` for each request until the channel closes."""
    die_with_parent()
    channel = socket.socket(fileno=int(os.environ.pop(CHANNEL_ENV)))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the platform's to handle
    if preload is not None:
        preload()
    wakeup_read, wakeup = os.pipe()
    os.set_blocking(wakeup, False)
    signal.set_wakeup_fd(wakeup)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the select below
    try:
        _serve(channel, wakeup, wakeup_read, child)
    except (BrokenPipeError, ConnectionResetError):
        # The requester went away between a request and its answer (Ctrl-C while `make run` was still
        # forking its functions): stop as when it closes the channel, not with a traceback.
        return


def _serve(channel: socket.socket, wakeup: int, wakeup_read: int, child: Child) -> None:
    while True:
        readable, _, _ = select.select([channel, wakeup_read], [], [], 1.0)
        if wakeup_read in readable:
            os.read(wakeup_read, 512)
        _reap(channel)
        if channel in readable:
            message, fds, _, _ = socket.recv_fds(channel, MAX_MESSAGE, 1 + MORE_FDS)
            if not message:
                return  # the platform closed the channel: stop (the functions die with this process)
            try:
                request = json.loads(message)
                if len(fds) > 1:
                    request["fds"] = fds[1:]
                pid = _fork(channel, wakeup, request, fds[0], child)
            except OSError as exc:
                channel.send(json.dumps({"error": str(exc)}).encode())
            else:
                channel.send(json.dumps({"pid": pid, "detached": bool(request.get("detached"))}).encode())
