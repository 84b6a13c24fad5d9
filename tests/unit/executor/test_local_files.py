"""The local executor's workers' files: removed with their task, swept once their worker is gone, bounded."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shared.executor import local_files as files


@pytest.fixture
def state(tmp_path, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_STATE_DIR", str(tmp_path / "state"))
    reset_settings()
    return tmp_path / "state"


def write_log(name: str, attempt: int, mtime: int, size: int = 10, *, pid: int | None = None,
              workspace: str | None = None):
    log = files.log_path("default", name, f"{name}-{attempt}")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"x" * size)
    os.utime(log, (mtime, mtime))
    if pid is not None:
        files.record_run(log, pid, workspace)
    return log


def gone_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def remaining(state) -> list[str]:
    return sorted(str(p.relative_to(state / "workers")) for p in (state / "workers").rglob("*") if p.is_file())


def test_the_files_live_in_the_state_dir(state):
    assert files.log_path("ns", "task", "task-2") == state.resolve() / "workers" / "ns" / "task" / "task-2.log"
    for bad in ("..", ".", "a/b", ""):
        with pytest.raises(ValueError):
            files.task_dir("default", bad)


def test_the_bound_removes_finished_logs_oldest_first_never_a_live_workers(state):
    live = write_log("live", 1, mtime=100, pid=os.getpid())  # the oldest, but its worker runs
    kept = write_log("kept", 1, mtime=101)  # the oldest finished one, which the caller keeps
    for i in range(5):
        write_log(f"t{i}", 1, mtime=200 + i)
    assert files.prune({kept}, max_logs=4) == 3
    assert remaining(state) == ["default/kept/kept-1.log", "default/live/live-1.log", "default/live/live-1.run",
                                "default/t3/t3-1.log", "default/t4/t4-1.log"]
    assert not (state / "workers" / "default" / "t0").exists()  # a task's emptied directory goes too
    assert live.exists()


def test_the_byte_bound_holds_too(state):
    for i in range(4):
        write_log("big", i + 1, mtime=100 + i, size=1000)
    assert files.prune(max_bytes=2500) == 2
    assert remaining(state) == ["default/big/big-3.log", "default/big/big-4.log"]
    assert files.prune(max_bytes=2500) == 0


def test_a_lost_workers_workspace_is_swept_once_its_process_is_gone(state):
    dead, alive = files.new_workspace("dead"), files.new_workspace("alive")
    write_log("dead", 1, mtime=100, pid=gone_pid(), workspace=str(dead))
    write_log("alive", 1, mtime=100, pid=os.getpid(), workspace=str(alive))
    files.sweep()
    assert not dead.exists() and alive.is_dir()
    assert remaining(state) == ["default/alive/alive-1.log", "default/alive/alive-1.run", "default/dead/dead-1.log"]
    files.forget("default", "alive")  # deleted: the workspace goes even while the worker runs (it was stopped)
    assert not alive.exists() and remaining(state) == ["default/dead/dead-1.log"]


def test_a_reused_pid_is_not_the_worker(state):
    workspace = files.new_workspace("reused")
    log = write_log("reused", 1, mtime=100, pid=os.getpid(), workspace=str(workspace))
    run = log.with_suffix(".run")
    run.write_text(run.read_text().replace('"start": ', '"start": 1'))  # this pid, started at another time
    files.sweep()
    assert not workspace.exists() and not run.exists()


def test_forget_removes_a_task_and_only_that_task(state):
    write_log("a", 1, mtime=100)
    write_log("a", 2, mtime=101)
    write_log("a-b", 1, mtime=100)
    files.forget("default", "a")
    assert remaining(state) == ["default/a-b/a-b-1.log"]
    files.forget("default", "a-b")
    assert not (state / "workers" / "default").exists()
    files.forget("default", "never-ran")  # nothing to remove: no error
