"""Where the local executor keeps its workers' files, and when they go.

Under `SHOAL_STATE_DIR/workers/<namespace>/<task>/` (with the platform's other state, so `make reset`
removes it, and two platforms with two state directories never share it):

- `<job>.log`: the worker's output (job = `<task>-<attempt>`), what `logs()` reads until the task is
  deleted;
- `<job>.run`: while the worker may run, `{"pid", "start", "workspace"}`: its process (pid and start
  time, so a reused pid is not taken for it) and its workspace directory, if it has one.

A labrats job's workspace is a fresh directory in the system's temporary directory, not under the
state directory: the agent and its tools look upward from it for a `.git`, `CLAUDE.md` or
`AGENTS.md`, and the state directory usually sits inside a checkout (`.shoal/`).

A worker's workspace and run file are removed when the executor sees it exit; a worker it did not see
exit (its fork server or dispatcher died; the worker lives on) keeps them until `sweep` finds its
process gone (the dispatcher's first task start, `make run`'s start), the task is deleted (`forget`), or
`prune` reaches its log. `prune` keeps the directory within MAX_LOGS logs and MAX_LOG_BYTES, removing
the logs of finished workers, oldest first, so a platform that never deletes tasks stays bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

from shared.config import get_settings

MAX_LOGS = 2000  # the logs kept at most (with their tasks' directories)
MAX_LOG_BYTES = 256 << 20  # their bytes at most
WORKSPACE_PREFIX = "shoal-"  # a workspace's directory name starts so (a run file naming another is ignored)


def root() -> Path:
    """This platform's workers' directory (SHOAL_STATE_DIR/workers, read per call: one per state dir)."""
    return Path(get_settings().state_dir).resolve() / "workers"


def task_dir(namespace: str, name: str) -> Path:
    """The directory of a task's workers' files; ValueError for a name that is not a single path component."""
    for part in (namespace, name):
        if not part or part in (".", "..") or "/" in part or "\0" in part:
            raise ValueError(f"not a task name: {part!r}")
    return root() / namespace / name


def log_path(namespace: str, name: str, job: str) -> Path:
    return task_dir(namespace, name) / f"{job}.log"


def new_workspace(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{name}-"))


def remove_workspace(workspace: str | None) -> None:
    if workspace and Path(workspace).name.startswith(WORKSPACE_PREFIX):
        shutil.rmtree(workspace, ignore_errors=True)


def record_run(log: Path, pid: int, workspace: str | None) -> None:
    """Note the worker writing `log` (its process and workspace) until `finished`. Best effort: without
    it (a full disk) the worker still runs, and its watcher still removes its workspace."""
    run = log.with_suffix(".run")
    tmp = run.with_suffix(".run.tmp")
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps({"pid": pid, "start": _start_time(pid), "workspace": workspace}))
        os.replace(tmp, run)  # whole or absent: `sweep` never reads half of it


def finished(log: Path, workspace: str | None) -> None:
    """The worker writing `log` exited: its workspace and run file go; the log stays."""
    remove_workspace(workspace)
    log.with_suffix(".run").unlink(missing_ok=True)


def forget(namespace: str, name: str) -> None:
    """The task was deleted: every file of its workers goes, workspaces included."""
    directory = task_dir(namespace, name)
    for run in _runs(directory):
        remove_workspace(_read_run(run).get("workspace"))
    shutil.rmtree(directory, ignore_errors=True)
    with contextlib.suppress(OSError):
        directory.parent.rmdir()  # the namespace's directory, once empty


def sweep(base: Path | None = None) -> None:
    """Finish the workers whose exit nobody saw and whose process is gone (their workspace and run file)."""
    base = base or root()
    for directory in _task_dirs(base):
        for run in _runs(directory):
            doc = _read_run(run)
            if not _alive(doc):
                finished(run.with_suffix(".log"), doc.get("workspace"))


def prune(keep: Collection[Path] = (), *, max_logs: int | None = None, max_bytes: int | None = None) -> int:
    """Remove finished workers' logs, oldest first, until at most `max_logs` logs of `max_bytes` remain
    (live workers' logs and those in `keep` stay, and count); the logs removed."""
    max_logs = MAX_LOGS if max_logs is None else max_logs
    max_bytes = MAX_LOG_BYTES if max_bytes is None else max_bytes
    logs: list[tuple[float, int, Path]] = []
    for directory in _task_dirs(root()):
        with contextlib.suppress(OSError):
            for entry in os.scandir(directory):
                if entry.name.endswith(".log"):
                    with contextlib.suppress(OSError):
                        stat = entry.stat(follow_symlinks=False)
                        logs.append((stat.st_mtime, stat.st_size, Path(entry.path)))
    count, size = len(logs), sum(entry[1] for entry in logs)
    removed = 0
    for _, length, log in sorted(logs, key=lambda entry: entry[0]):
        if count <= max_logs and size <= max_bytes:
            break
        run = _read_run(log.with_suffix(".run"))
        if log in keep or _alive(run):
            continue
        finished(log, run.get("workspace"))
        log.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            log.parent.rmdir()  # the task's directory, once it holds nothing
        count, size, removed = count - 1, size - length, removed + 1
    return removed


def _task_dirs(base: Path) -> list[Path]:
    found = []
    with contextlib.suppress(OSError):
        for namespace in os.scandir(base):
            if namespace.is_dir(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    found += [Path(task.path) for task in os.scandir(namespace.path) if task.is_dir(follow_symlinks=False)]
    return found


def _runs(directory: Path) -> list[Path]:
    with contextlib.suppress(OSError):
        return [Path(entry.path) for entry in os.scandir(directory) if entry.name.endswith(".run")]
    return []


def _read_run(run: Path) -> dict[str, Any]:
    """A run file's record; {} when there is none (or it cannot be read: a worker never recorded)."""
    try:
        doc = json.loads(run.read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot, /proc); None once it is gone or without /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == b"Z":  # exited, not yet reaped
        return None
    return int(fields[19])


def _alive(run: dict[str, Any]) -> bool:
    """Whether the run's worker process still runs (the same process: the start time matches)."""
    pid = run.get("pid")
    if not isinstance(pid, int):
        return False
    if os.path.isdir("/proc"):
        return run.get("start") is not None and _start_time(pid) == run["start"]
    try:  # no /proc (macOS): the pid alone
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
