"""A monitor review task's result → its PR item (`dev.shoal.task.finished`, consumed by `reactor`).

Orka's ingestion rules (`repositorymonitor_review_ingest.go`), on the item of the task's PR, only while
the item still waits for this task:
- the verdict is the one of the JSON object the reviewer ends its answer with (orka.prReview.v1:
  passed, needs_changes, needs_human, security_sensitive, skipped); a failed or cancelled task, or an
  answer without a valid verdict, is `failed`; a result for another head is `stale`;
- the validation commands gate it: when one failed (the task's `workspace-changes.json` artifact
  says which), a `passed` verdict becomes `needs_changes` (`skipReason: validation_failed`);
- `automergeState` becomes `merge_ready` only for a passed review of the item's current head with no
  repair that blocks (`repairState` queued, running or failed), else it is cleared;
- `repairState` is left as it is: repairs are started by maintainer commands (`orka:fix`, …) and
  settled by `shared.monitors.repair`.
Redelivered events change nothing (the item no longer waits for the task).
"""

from __future__ import annotations

import json
from typing import Any

from shared.clock import now_rfc3339
from shared.errors import NotFound
from shared.events import Event
from shared.jobs.results import read_result
from shared.monitors.execute import VERDICTS, item_key
from shared.monitors.store import items, record_event, scope
from shared.tasks.repository import artifact_key, event_task

REPAIR_BLOCKS = frozenset({"queued", "running", "failed"})
CHANGES_ARTIFACT = "workspace-changes.json"  # shared.worker.runtime_task.CHANGES_ARTIFACT (not imported: the
# reactor does not load the worker's runtime modules)


def review_verdict(text: str | None) -> tuple[str, str, str]:
    """(verdict, summary, headSHA) of the last JSON object with a known verdict in the answer; failed if none."""
    decoder, found = json.JSONDecoder(), None
    for at, char in enumerate(text or ""):
        if char != "{":
            continue
        try:
            value, _ = decoder.raw_decode(text, at)
        except ValueError:
            continue
        if isinstance(value, dict) and value.get("verdict") in VERDICTS:
            found = value
    if found is None:
        return "failed", "the review answer carried no valid verdict", ""
    return found["verdict"], str(found.get("summary") or ""), str(found.get("headSHA") or "").lower()


def _validation(record: Any) -> list[dict[str, Any]]:
    from shared.store.blobs import get_blob

    data = get_blob(artifact_key(record.namespace, record.name, CHANGES_ARTIFACT))
    try:
        changes = json.loads(data) if data else {}
    except ValueError:
        return []
    results = changes.get("validation") if isinstance(changes, dict) else None
    return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []


def on_task_finished(event: Event) -> None:
    record = event_task(event.data)
    if record is None:
        return
    labels = record.doc.get("metadata", {}).get("labels") or {}
    monitor, number = labels.get("orka.ai/monitor"), labels.get("orka.ai/monitor-pr")
    if not monitor or not (number or "").isdigit() or labels.get("orka.ai/monitor-repair"):
        return  # not a monitor review (a repair's result: shared.monitors.repair)
    namespace, number = record.namespace, int(number)
    status = record.doc.get("status") or {}
    if status.get("phase") == "Succeeded":
        verdict, summary, head = review_verdict(read_result(record))
    else:
        verdict, summary, head = "failed", f"review task {str(status.get('phase') or 'failed').lower()}", ""
    checks = _validation(record)
    failed = [c.get("command") for c in checks if not c.get("passed")]
    applied: dict[str, Any] = {}

    def ingest(item: dict[str, Any]) -> bool:
        if item.get("reviewTask") != record.name or item.get("verdict"):
            return False  # a newer review, or this result is in already
        reviewed = (record.doc.get("metadata", {}).get("annotations") or {}).get("orka.ai/monitor-head-sha", "")
        final, reason = verdict, ""
        if head and reviewed and head != reviewed:
            final, reason = "stale", "stale_head"
        elif failed and final == "passed":
            final, reason = "needs_changes", "validation_failed"
        current = item.get("headSHA") == reviewed
        item.update(state="reviewed", verdict=final, summary=summary[:2000], skipReason=reason,
                    updatedAt=now_rfc3339(),
                    validation={"state": ("failed" if failed else "passed") if checks else "none",
                                "failedCommands": failed},
                    automergeState="merge_ready" if final == "passed" and current
                    and item.get("repairState") not in REPAIR_BLOCKS else "")
        applied.update(verdict=final)
        return True

    try:
        items.update(scope(namespace, monitor), item_key(number), ingest)
    except NotFound:
        return  # the monitor (and its items) was deleted meanwhile
    if applied:
        record_event(namespace, monitor, "ReviewResultIngested",
                     f"PR #{number} review {record.name}: {applied['verdict']}",
                     item_kind="pull_request", item_number=number)
