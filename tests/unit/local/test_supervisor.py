"""The local platform's supervision: restart with backoff, give up on a function that keeps dying; wait for a
state backend that is still starting."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from shared.errors import ShoalError
from shared.local.platform import LocalPlatform
from shared.local.supervisor import Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_and_five_exits_within_a_minute_give_up():
    clock = Clock()
    supervisor = Supervisor(5, 60.0, clock=clock)
    delays = []
    for _ in range(4):
        delays.append(supervisor.exited("tasks"))
        clock.now += 5
    assert delays == [0.5, 1.0, 2.0, 4.0]
    assert supervisor.exited("other") == 0.5  # counted per function
    assert supervisor.exited("tasks") is None  # the fifth within 60 s


def test_exits_older_than_the_window_are_forgotten():
    clock = Clock()
    supervisor = Supervisor(3, 60.0, clock=clock)
    assert supervisor.exited("f") == 0.5
    clock.now += 30
    assert supervisor.exited("f") == 1.0
    clock.now += 61  # both earlier exits are out of the window
    assert supervisor.exited("f") == 0.5


class Recording(LocalPlatform):
    """A platform whose functions are plain sleeping processes."""

    def _start_function(self, name: str, env: dict[str, str]) -> None:
        self.processes[name] = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                                start_new_session=True)
        self.ports[name] = 1


def test_a_dead_function_is_restarted_once_its_backoff_passed(capsys):
    platform = Recording()
    platform._start_function("dispatcher", {})
    first = platform.processes["dispatcher"]
    first.kill()
    first.wait()
    supervisor = Supervisor(5, 60.0)
    try:
        assert platform.supervise(supervisor) is None
        assert capsys.readouterr().err == "function dispatcher exited with code -9; restarting in 0.5s\n"
        assert platform.service_url("dispatcher") is None  # down while it waits
        time.sleep(0.6)
        assert platform.supervise(supervisor) is None
        assert platform.processes["dispatcher"] is not first and platform.processes["dispatcher"].poll() is None
        assert platform.supervise(supervisor) is None and capsys.readouterr().err == ""
    finally:
        platform.processes["dispatcher"].kill()
        platform.processes["dispatcher"].wait()


def test_a_function_that_keeps_dying_stops_the_platform():
    platform = Recording()
    supervisor = Supervisor(2, 60.0)
    platform.processes["tasks"] = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"],
                                                   start_new_session=True)
    platform.processes["tasks"].wait()
    assert platform.supervise(supervisor) is None
    platform._restarts.clear()  # as if it was restarted and died again at once
    assert platform.supervise(supervisor) == "function tasks exited 2 times within 60s (last code 3); stopping"


def test_a_state_backend_that_never_answers_is_one_line(monkeypatch, capsys):
    from shared.config import reset_settings
    from tests.support.servers import refusing_port

    monkeypatch.setenv("SHOAL_LOCAL_STATE_WAIT_SECONDS", "1")
    reset_settings()
    with refusing_port() as port, pytest.raises(ShoalError) as raised:  # nothing listens there
        url = f"http://127.0.0.1:{port}"
        LocalPlatform._wait_for_state(url)
    assert raised.value.message == (f"the state backend at {url} did not answer within 1s (AWS_ENDPOINT_URL); "
                                    "start it, or unset AWS_ENDPOINT_URL for a private one")
    assert capsys.readouterr().err == f"waiting up to 1s for the state backend at {url} ...\n"


def test_a_state_backend_that_comes_up_is_waited_for(monkeypatch):
    import socket

    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LOCAL_STATE_WAIT_SECONDS", "20")
    reset_settings()
    # Bound and not listening: refused until the backend comes up, and no one else can take the port
    # meanwhile (closing it and binding it again later left it free for a second).
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    def serve_later() -> None:
        time.sleep(1.0)
        from werkzeug.serving import make_server

        up.set()  # listening from the next line on: an answer before it was impossible
        sock.listen()
        server = make_server("127.0.0.1", port, lambda e, s: (s("400 Bad Request", []), [b""])[1],
                             fd=sock.fileno())
        threading.Thread(target=server.serve_forever, daemon=True).start()
        done.wait()
        server.shutdown()

    done, up = threading.Event(), threading.Event()
    threading.Thread(target=serve_later, daemon=True).start()
    try:
        LocalPlatform._wait_for_state(f"http://127.0.0.1:{port}")  # raises after the 20 s it may wait
        assert up.is_set()  # it waited for the backend rather than return at once
    finally:
        done.set()
        sock.close()


def test_ctrl_c_while_the_platform_starts_stops_it_there(monkeypatch, capsys):
    # A start replaying a long recording (or compacting it) took its whole course, up to a minute,
    # before a Ctrl-C was looked at: the signal only set the flag the supervision loop reads afterwards.
    import os
    import signal

    from shared.local import platform as local_platform

    stopped = []

    def slow_start(self):
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C in the middle of the replay
        time.sleep(30)
        raise AssertionError("start() went on after Ctrl-C")

    monkeypatch.setattr(LocalPlatform, "start", slow_start)
    monkeypatch.setattr(LocalPlatform, "stop", lambda self: stopped.append(True))
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert local_platform.main() == 130
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert stopped == [True]  # what start() had started is stopped
    assert capsys.readouterr().err == "shoal: stopped while starting\n"
