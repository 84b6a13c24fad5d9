"""Where monitor state lives (objects and streams tables; access patterns are all Queries).

- monitors: kind `repositorymonitors`, partition = namespace, sort = name;
- runs: kind `monitorruns`, partition = `<namespace>/<monitor>`, sort = `monrun-<nanos>` (time order);
- items: kind `monitoritems`, partition = `<namespace>/<monitor>`, sort = `<kind>-<number>`;
- repository index: kind `monitorsbyrepo`, partition = `owner/repo` (lower case), sort =
  `<namespace>.<monitor>`: which monitors watch a repository, for webhook-driven exact-head runs;
- maintainer commands: kind `monitorcommands`, partition = `<namespace>/<monitor>`, sort = `cmd-<16 hex>`
  (`shared.monitors.commands`);
- audit events: stream `monitor-events#<namespace>#<monitor>`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from shared.clock import now_rfc3339
from shared.store import AlreadyExists, ObjectStore, streams

MONITOR_NOT_FOUND = "repository monitor not found"
monitors = ObjectStore("repositorymonitors")
runs = ObjectStore("monitorruns")
items = ObjectStore("monitoritems")
by_repo = ObjectStore("monitorsbyrepo")
commands = ObjectStore("monitorcommands")
ACTIVE_PHASES = ("queued", "running")


def scope(namespace: str, monitor: str) -> str:
    return f"{namespace}/{monitor}"


def events_stream(namespace: str, monitor: str) -> str:
    return f"monitor-events#{namespace}#{monitor}"


def record_event(namespace: str, monitor: str, event_type: str, message: str, *, actor: str | None = None,
                 run_id: str | None = None, item_kind: str | None = None, item_number: int | None = None) -> None:
    """Append one audit event (who did what to which monitor, run or item)."""
    entry: dict[str, Any] = {"namespace": namespace, "name": monitor, "eventType": event_type, "message": message,
                             "actor": actor, "runID": run_id, "itemKind": item_kind, "itemNumber": item_number,
                             "createdAt": now_rfc3339()}
    streams.append(events_stream(namespace, monitor), {k: v for k, v in entry.items() if v is not None})


def index_repo(full_name: str, namespace: str, monitor: str) -> None:
    with contextlib.suppress(AlreadyExists):  # already indexed: nothing to do
        by_repo.create(full_name.lower(), f"{namespace}.{monitor}", {"namespace": namespace, "name": monitor})


def unindex_repo(full_name: str, namespace: str, monitor: str) -> None:
    by_repo.delete(full_name.lower(), f"{namespace}.{monitor}")


def monitors_for_repo(full_name: str) -> list[tuple[str, str]]:
    records, _ = by_repo.list_page(full_name.lower(), limit=None)
    return [(r.doc["namespace"], r.doc["name"]) for r in records]
