"""Executors start a task's work somewhere and can stop it."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

from shared.store import Record


class ExecutorError(Exception):
    """The executor could not start the task; the message becomes the task's failure message."""


class JobOutcome(NamedTuple):
    """How a task's job ended without its worker reporting it."""

    phase: str
    message: str
    # "WorkerLost" when the job vanished or died before its worker could report (see leases.py);
    # None for an ordinary ending (a container's exit, a deadline).
    reason: str | None = None


# What the engine does when a worker process ends without reporting: (namespace, task, attempt, message).
# The local executor calls it from its watcher; Jobs' endings are read back through `poll` instead.
WorkerExit = Callable[[str, str, int, str], None]


class Executor(Protocol):
    name: str

    def start(self, task: Record, on_worker_exit: WorkerExit) -> str:
        """Start the task's work; return its job name."""
        ...

    def stop(self, namespace: str, name: str) -> None:
        """Stop the task's work if it runs; no error when it does not."""
        ...

    def logs(self, task: Record) -> str | None:
        """The recent output of the task's current job (Orka: the last 100 lines); None when none."""
        ...

    def poll(self, task: Record) -> JobOutcome | None:
        """How the task's job ended, once it has ended without its worker reporting; else None."""
        ...

    def release(self, namespace: str, name: str) -> None:
        """The task ended on its own: free what its jobs keep that nothing else frees (by its cleanupPolicy)."""
        ...

    def forget(self, namespace: str, name: str) -> None:
        """The task was deleted (its work stopped): remove what its jobs left that outlives them (their output)."""
        ...
