"""Where tasks, results, plans, artifacts and the task indexes live.

Indexes kept by the write paths so no request path (and not even the scheduler) Scans:
- `children`: one record per child task under partition "<namespace>/<parent>" (written by the
  create path when the task carries `orka.ai/parent-task`; labels are immutable after create);
- `live`: one record per non-terminal task (or failed task waiting for a retry, or cron parent),
  named "<namespace>/<name>", spread over LIVE_SHARDS partitions by a hash of that name (no hot
  partition); the scheduler Queries each shard per tick;
- `artifacts`: one metadata record per artifact under partition "<namespace>/<task>".
Per-task side records (same key as the task): `resolved_agents` (below) and the worker lease
(`shared.tasks.leases`).
"""

from __future__ import annotations

import contextlib
import zlib
from typing import Any

from shared.models.worker_contract import RESOLVED_AGENT_KIND
from shared.store import AlreadyExists, ObjectStore, Record
from shared.store.blobs import get_blob

tasks = ObjectStore("task")
plans = ObjectStore("plan")
children = ObjectStore("task-child")
live = ObjectStore("task-live")
artifacts = ObjectStore("task-artifact")
# What the dispatcher resolved for the attempt it started (agent, skills, tools), for the worker to
# read through `GET /internal/v1/tasks/<ns>/<task>/spec`: {"attempt": N, "agent": {...}}.
resolved_agents = ObjectStore(RESOLVED_AGENT_KIND)

TASK_NOT_FOUND = "task not found"
PARENT_LABEL = "orka.ai/parent-task"
LIVE_SHARDS = 16


def result_key(namespace: str, name: str) -> str:
    return f"results/{namespace}/{name}"


def result_text(record: Record) -> str | None:
    """The task's stored result as text; None when it has none (not reported, or its blob is gone)."""
    if not record.doc.get("status", {}).get("resultRef", {}).get("available"):
        return None
    data = get_blob(result_key(record.namespace, record.name))
    return data.decode("utf-8", errors="replace") if data is not None else None


def artifact_key(namespace: str, task: str, filename: str) -> str:
    return f"artifacts/{namespace}/{task}/{filename}"


def event_task(data: Any):
    """The task a task event (`dev.shoal.task.*` data: namespace, name) is about, or None when it is gone."""
    if not isinstance(data, dict) or not data.get("name"):
        return None
    return tasks.get(data.get("namespace", ""), data["name"])


def child_partition(namespace: str, parent: str) -> str:
    return f"{namespace}/{parent}"


def live_name(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def live_shard(namespace: str, name: str) -> str:
    return f"shard-{zlib.crc32(live_name(namespace, name).encode()) % LIVE_SHARDS:02d}"


def live_shards() -> list[str]:
    return [f"shard-{i:02d}" for i in range(LIVE_SHARDS)]


def live_entry(namespace: str, name: str) -> tuple[str, dict[str, Any]]:
    """The task's live-index entry as a (table, item) for `shared.store.batch.put_items` (writing it
    again changes nothing a reader sees)."""
    return live.new_item(live_shard(namespace, name), live_name(namespace, name), {"namespace": namespace, "name": name})


def mark_live(namespace: str, name: str) -> None:
    """Idempotently list the task in the live index."""
    with contextlib.suppress(AlreadyExists):
        live.create(live_shard(namespace, name), live_name(namespace, name), {"namespace": namespace, "name": name})


def unmark_live(namespace: str, name: str) -> None:
    live.delete(live_shard(namespace, name), live_name(namespace, name))
