"""The local executor's workers are forked (shared/worker/forkserver.py): each with exactly the environment
it was given, its own session, its output file, and an exit its executor hears of; a worker outlives
its fork server."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from shared.forking import ROOT, ForkServer
from shared.local.serve import listen
from shared.worker.forkserver import COMM

# In the fork server's own environment, not in the worker's: a worker must not see these.
SERVER_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
              "SHOAL_TASK_NAMESPACE": "leaked", "SHOAL_TASK_NAME": "leaked"}


@pytest.fixture
def forker():
    server = ForkServer(SERVER_ENV, "shared.worker.forkserver", ("--no-preload",))
    try:
        yield server
    finally:
        server.stop()


def test_a_worker_has_only_its_own_environment_and_its_output_file(forker, tmp_path):
    log = tmp_path / "w.log"
    with open(log, "wb") as out:
        proc = forker.ask({"env": {"PATH": SERVER_ENV["PATH"]}, "cwd": str(tmp_path), "detached": True},
                          out.fileno(), "the worker")
    assert proc.wait(30) == 1  # shared.worker.run.main found no SHOAL_TASK_NAMESPACE: the server's is not its
    text = log.read_text()
    assert text.rstrip().endswith("KeyError: 'SHOAL_TASK_NAMESPACE'"), text


def test_a_worker_runs_in_its_own_session_and_outlives_its_fork_server(forker, tmp_path):
    with listen() as silent:  # an internal API that never answers: the worker waits on its first call
        env = {"PATH": SERVER_ENV["PATH"], "SHOAL_TASK_NAMESPACE": "default", "SHOAL_TASK_NAME": "t",
               "SHOAL_INTERNAL_URL": f"http://127.0.0.1:{silent.getsockname()[1]}", "SHOAL_WORKER_TOKEN": "w"}
        with open(tmp_path / "w.log", "wb") as out:
            proc = forker.ask({"env": env, "cwd": str(tmp_path), "detached": True}, out.fileno(), "the worker")
        try:
            wait_until(lambda: Path(f"/proc/{proc.pid}/comm").read_text().strip() == COMM)
            assert os.getsid(proc.pid) == proc.pid and Path(f"/proc/{proc.pid}/cwd").resolve() == tmp_path.resolve()
            assert os.readlink(f"/proc/{proc.pid}/fd/1") == str(tmp_path / "w.log")
            forker.process.kill()
            assert proc.wait(10) is None and proc.lost  # its exit can no longer be told
            proc.terminate()  # not signalled: a lost worker's pid may be another process's by now
            time.sleep(0.3)
            assert running(proc.pid)  # not killed with its fork server, nor by terminate()
        finally:
            os.kill(proc.pid, signal.SIGKILL)


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
