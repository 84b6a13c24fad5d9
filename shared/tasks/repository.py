"""Where tasks, results and plans live."""

from __future__ import annotations

from shared.store import ObjectStore

tasks = ObjectStore("task")
plans = ObjectStore("plan")

TASK_NOT_FOUND = "task not found"


def result_key(namespace: str, name: str) -> str:
    return f"results/{namespace}/{name}"
