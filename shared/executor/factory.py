"""The executor this process uses (SHOAL_EXECUTOR), and the output of a task's current job through it."""

from __future__ import annotations

from shared.config import get_settings
from shared.executor.base import Executor, ExecutorError
from shared.store import Record


def get_executor() -> Executor:
    """The executor chosen by SHOAL_EXECUTOR."""
    kind = get_settings().executor
    # Only the chosen executor's module is loaded, and only when a task's job is first reached: the
    # functions that import this (tasks, jobs) answer most requests without one (~10 ms of cold start).
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
