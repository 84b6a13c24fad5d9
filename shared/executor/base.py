"""Executors start a task's work somewhere and can stop it."""

from __future__ import annotations

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


class Executor(Protocol):
    name: str

    def start(self, task: Record) -> str:
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


def get_executor() -> Executor:
    """The executor chosen by SHOAL_EXECUTOR."""
    from shared.config import get_settings

    kind = get_settings().executor
    if kind == "local":
        from shared.executor.local import LocalExecutor

        return LocalExecutor.instance()
    from shared.executor.kubernetes import KubernetesExecutor

    return KubernetesExecutor()


def job_output(task: Record) -> str:
    """The output of the task's current job so far ("" when there is none or it cannot be read)."""
    if not task.doc.get("status", {}).get("jobName"):
        return ""
    try:
        return get_executor().logs(task) or ""
    except ExecutorError:
        return ""
