"""make run forks its functions from one process (shared/local/forkserver.py): each is a process of its
own that serves its handed socket, reports its exit to the platform, and can be forked again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from shared.local.forkserver import ForkServer
from shared.local.serve import listen, wait_http

HELLO = Path(__file__).resolve().parents[2] / "bench" / "hello" / "main.py"


@pytest.fixture
def forker():
    server = ForkServer({**os.environ, "WORKERS": "1", "THREADS": "2"}, preload=False)
    try:
        yield server
    finally:
        server.stop()


def test_a_forked_function_serves_its_socket_and_reports_its_exit(forker):
    with listen() as sock:
        proc = forker.spawn("hello", HELLO, {**os.environ, "THREADS": "2"}, sock)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    wait_http(url + "/", process=proc)  # type: ignore[arg-type]
    assert httpx.get(url + "/").text == "ok"
    assert Path(f"/proc/{proc.pid}/comm").read_text().strip() == "fn:hello"
    assert os.getsid(proc.pid) == proc.pid  # a session of its own, as the platform kills it by group
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL and proc.poll() == -signal.SIGKILL  # told by the fork server
    with pytest.raises(httpx.ConnectError):  # nobody kept a copy of its socket: it refuses
        httpx.get(url + "/", timeout=2)

    with listen() as sock:  # forked again, as the supervisor restarts a function
        again = forker.spawn("hello", HELLO, dict(os.environ), sock)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    wait_http(url + "/", process=again)  # type: ignore[arg-type]
    assert again.pid != proc.pid and httpx.get(url + "/").text == "ok"


def test_the_functions_die_with_the_fork_server(forker):
    with listen() as sock:
        proc = forker.spawn("hello", HELLO, dict(os.environ), sock)
    forker.process.kill()
    assert proc.wait(10) == -signal.SIGKILL  # the platform hears of it: the channel closed
    assert gone(proc.pid), "the forked function outlived its fork server"  # PR_SET_PDEATHSIG


def gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def test_stop_ends_the_fork_server_through_its_channel():
    server = ForkServer(dict(os.environ), preload=False)
    server.stop(timeout=30)
    # It left on its own when the channel closed (0), not killed when the timeout ran out (-9): the
    # platform's reader thread, blocked in recv, used to keep the channel open, so Ctrl-C took 10 s.
    assert server.process.returncode == 0


def test_a_forked_function_serves_a_unix_socket_too(forker, tmp_path):
    """make run's gateway reaches the functions over Unix sockets (cheaper than TCP); the port stays."""
    path = str(tmp_path / "hello.sock")
    with listen() as sock, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        unix.bind(path)
        unix.listen()
        proc = forker.spawn("hello", HELLO, dict(os.environ), sock, unix=unix)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    wait_http(url + "/", process=proc)  # type: ignore[arg-type]
    with httpx.Client(transport=httpx.HTTPTransport(uds=path)) as client:
        assert client.get("http://localhost/").text == "ok"
    assert httpx.get(url + "/").text == "ok"


def test_a_requester_gone_before_its_answer_stops_the_fork_server_quietly():
    """Ctrl-C while `make run` is still forking its functions: the platform closes its end between a
    request and the answer. The fork server printed a BrokenPipeError traceback and exited 1; it stops as
    when the channel closes."""
    import json
    import sys

    from shared.forking import CHANNEL_ENV, PARENT_ENV, ROOT

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server = subprocess.Popen([sys.executable, "-m", "shared.local.forkserver", "--no-preload"], cwd=ROOT,
                              pass_fds=(theirs.fileno(),), stderr=subprocess.PIPE, start_new_session=True,
                              env={**os.environ, CHANNEL_ENV: str(theirs.fileno()), PARENT_ENV: str(os.getpid())})
    theirs.close()
    with listen() as sock:
        request = {"name": "hello", "source": str(HELLO), "host": "127.0.0.1", "port": sock.getsockname()[1],
                   "env": dict(os.environ)}
        socket.send_fds(ours, [json.dumps(request).encode()], [sock.fileno()])
    ours.close()  # before the answer: the request is still read, the answer has nobody to go to
    _, stderr = server.communicate(timeout=60)
    assert (server.returncode, stderr.decode()) == (0, "")
