"""Model usage counted on a task: the tokens its runtime spent through the compat endpoints.

The figures are atomic ADDs on one counter item per task (`shared.store.counters`, set "task-usage",
scope "<namespace>/<task>"), never a read-modify-write of the task document, so concurrent calls from
any replica never lose an increment. The task document only carries a `status.usage` placeholder,
written once when the task's first model token is minted; it tells the views to read the counters, so
tasks that never had a token cost no extra read.

In the API: `status.usage = {"inputTokens", "outputTokens", "llmCalls"}` (the names of Orka's chat usage).
"""

from __future__ import annotations

from typing import Any

from shared.store import Record, counters
from shared.store.objects import get_together
from shared.tasks.repository import TASK_NOT_FOUND, tasks

USAGE_SET = "task-usage"
FIELDS = ("inputTokens", "outputTokens", "llmCalls")


def _scope(namespace: str, task: str) -> str:
    return f"{namespace}/{task}"


def add_usage(namespace: str, task: str, *, input_tokens: int, output_tokens: int) -> None:
    """Count one model call on the task (atomic, safe from any replica)."""
    counters.add(USAGE_SET, _scope(namespace, task),
                 {"inputTokens": input_tokens, "outputTokens": output_tokens, "llmCalls": 1})


def start_counting(namespace: str, task: str) -> None:
    """Give the task its `status.usage` placeholder (once), so its views show the counters."""
    def mark(doc: dict[str, Any]) -> bool:
        status = doc.setdefault("status", {})
        if "usage" in status:
            return False
        status["usage"] = dict.fromkeys(FIELDS, 0)
        return True

    tasks.update(namespace, task, mark, not_found_message=TASK_NOT_FOUND)


# A task's counters, read beside the task in one round trip (objects.get_together): the GET of a task
# that has counters would otherwise read them after it, a second round trip in a row.
task_usage = counters.CounterSet(USAGE_SET, _scope)


def with_usage(records: list[Record], views: list[dict[str, Any]],
               figures: list[dict[str, int] | None] | None = None) -> list[dict[str, Any]]:
    """The views (one per record, same order) with the live counters as `status.usage` where counted.
    `figures`: each record's counters as already read beside it (`task_usage`; None: none yet), else
    they are read here, in one batch for the page."""
    counted = [i for i, r in enumerate(records) if "usage" in (r.doc.get("status") or {})]
    if not counted:
        return views
    if figures is None:
        figures = [None] * len(records)
        read = get_together(*((task_usage, records[i].namespace, records[i].name) for i in counted))
        for i, got in zip(counted, read, strict=True):
            figures[i] = got
    for i in counted:
        got = figures[i] or {}
        views[i]["status"] = {**views[i]["status"], "usage": {f: got.get(f, 0) for f in FIELDS}}
    return views


def forget_usage(namespace: str, task: str) -> None:
    """Drop a deleted task's counters (a new task of the same name starts from zero)."""
    counters.delete(USAGE_SET, _scope(namespace, task))
