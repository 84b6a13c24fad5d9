"""What security scans leave behind, and when it goes.

- A finished scan run is kept RUN_RETENTION_SECONDS (90 days) after it finished, then reads as absent
  (store TTL). Findings stay: they are what users triage. Dropped model output goes after 30 days
  (see shared.security.results).
- A deleted RepositoryScan's children (scan runs, slices, findings with their `/findings/:id` pointers
  and patch proposals, dropped output) live under its uid and are unreachable at once. The delete
  leaves a tombstone (kind `securitytombstones`, one partition, sort = the children's scope); each
  scheduler tick deletes up to SWEEP_BATCH of them with Queries and key deletes (never a Scan), and
  drops the tombstone when nothing is left. Deletes are idempotent, so replicas may sweep together.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from shared.logs import get_logger
from shared.security.store import (
    ACTIVE_PHASES,
    dropped,
    finding_refs,
    findings,
    patch_scope,
    patches,
    repo_scope,
    repositories,
    runs,
    slices,
)
from shared.store import AlreadyExists, ObjectStore, Record

log = get_logger("security.retention")
RUN_RETENTION_SECONDS = 90 * 24 * 3600
SWEEP_BATCH = 200
tombstones = ObjectStore("securitytombstones")
_PARTITION = "pending"


def finished_run_expiry(doc: dict[str, Any]) -> int | None:
    """The expiry of a scan run document: none while it runs, RUN_RETENTION_SECONDS once it finished."""
    return None if doc.get("phase") in ACTIVE_PHASES else int(time.time()) + RUN_RETENTION_SECONDS


def bury(repo: Record) -> None:
    """Mark a deleted repository's children for the sweep."""
    doc = {"namespace": repo.namespace, "name": repo.name, "uid": repo.doc["metadata"]["uid"]}
    with contextlib.suppress(AlreadyExists):  # a retried delete: already marked
        tombstones.create(_PARTITION, repo_scope(repo), doc)


def on_tick(event: Any = None) -> None:
    sweep()


def sweep(budget: int = SWEEP_BATCH) -> int:
    """Delete up to `budget` children of deleted repositories; the number deleted."""
    deleted = 0
    stones, _ = tombstones.list_page(_PARTITION, limit=10)
    for stone in stones:
        live = repositories.get(stone.doc["namespace"], stone.doc["name"])
        if live is not None and live.doc["metadata"]["uid"] == stone.doc["uid"]:
            tombstones.delete(_PARTITION, stone.name)  # its delete failed: the repository is still there
            continue
        done, count = _sweep_scope(stone.name, stone.doc["namespace"], budget - deleted)
        deleted += count
        if done:
            tombstones.delete(_PARTITION, stone.name)
            log.info("deleted repository scan swept", extra={"fields": {"scope": stone.name}})
        if deleted >= budget:
            break
    return deleted


def _sweep_scope(scope: str, namespace: str, budget: int) -> tuple[bool, int]:
    """(nothing left, how many deleted) for one repository's children, within `budget`."""
    deleted = 0
    for store in (runs, slices, dropped, findings):
        while deleted < budget:
            records, _ = store.list_page(scope, limit=min(50, budget - deleted))
            if not records:
                break
            for record in records:
                if store is findings:
                    deleted += _drop_finding_extras(namespace, record.name)
                store.delete(scope, record.name)
                deleted += 1
        if deleted >= budget:
            return False, deleted
    return True, deleted


def _drop_finding_extras(namespace: str, finding_id: str) -> int:
    proposals, _ = patches.list_page(patch_scope(namespace, finding_id), limit=None)
    for proposal in proposals:
        patches.delete(proposal.namespace, proposal.name)
    finding_refs.delete(namespace, finding_id)
    return len(proposals) + 1
