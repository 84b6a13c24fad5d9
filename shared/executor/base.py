"""Executors start a task's work somewhere and can stop it."""

from __future__ import annotations

from typing import Protocol

from shared.store import Record


class ExecutorError(Exception):
    """The executor could not start the task; the message becomes the task's failure message."""


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

    def poll(self, task: Record) -> tuple[str, str] | None:
        """(terminal phase, message) once the task's job has ended without its worker reporting; else None."""
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


def resolved_agent_json(task: Record) -> str | None:
    """The dispatcher's resolved Agent/Skills/Tools for the worker (SHOAL_TASK_AGENT), if any."""
    import json

    from shared.tasks.agent_setup import RESOLVED_KEY

    resolved = task.doc.get(RESOLVED_KEY)
    return json.dumps(resolved, separators=(",", ":"), sort_keys=True) if resolved is not None else None
