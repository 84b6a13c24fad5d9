"""The local executor's task workers, forked from one process that imported the worker (shared.forking).

`python functions/worker/main.py` spent about 0.3 s of CPU importing the agent loop, the providers,
pydantic and httpx before it did anything; at a few tasks a second that was most of a 2-core machine,
and every other task's start waited for it (docs/performance.md). This process imports all of that
once (`python -m shared.worker.forkserver`, started by shared.executor.local) and forks a worker per
task. A request is `{"env", "cwd", "detached": true}` with the worker's output file attached.

Each worker is the process `functions/worker/main.py` was: its own session (the platform's stop and
a dispatcher's death leave it running), exactly the environment the executor gave it, its working
directory, its output file as stdout and stderr, nothing on stdin; it is killed by its pid on cancel.
It does not die with the fork server: a worker whose exit nobody saw is reclaimed by its lease.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

from shared.forking import ROOT, freeze, run

COMM = "shoal-worker"  # a forked worker's process name (/proc/<pid>/comm)


def preload() -> None:
    """What a worker imports before its first model call; nothing here starts a thread."""
    import httpx  # noqa: F401

    import shared.worker.run  # noqa: F401
    from shared.llm import registry  # noqa: F401  (the providers' table)

    freeze()


def _worker(request: dict[str, Any], fd: int, parent: int) -> None:
    """In the forked process: run the worker as `python functions/worker/main.py` would."""
    os.setsid()
    os.chdir(request["cwd"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(null)
    os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the fork server ignores it
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(COMM)
    sys.argv = [str(ROOT / "functions" / "worker" / "main.py")]
    os.environ.clear()
    os.environ.update(request["env"])
    for stream in (sys.stdout, sys.stderr):  # as PYTHONUNBUFFERED: the log is read while it runs
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(write_through=True)  # type: ignore[union-attr]
    from shared.config import reset_settings
    from shared.worker.run import main

    reset_settings()
    raise SystemExit(main())


if __name__ == "__main__":
    run(None if "--no-preload" in sys.argv[1:] else preload, _worker)
