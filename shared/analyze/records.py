"""Durable analyses and reports of the operator facade, newest first.

Records are keyed by an inverted timestamp, so a Query in key order is newest first. An index
record per analysed resource lists its reports, so `/report-outcome` finds the latest matching
report with key lookups instead of a scan. Partition = the caller's namespace scope.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from shared.clock import now_rfc3339
from shared.config import get_settings
from shared.store import AlreadyExists, ObjectStore, VersionConflict

analyses = ObjectStore("operator-analysis")
reports = ObjectStore("operator-report")
_index = ObjectStore("operator-report-index")
INDEX_KEEP = 50
APPLIED_STEP = "Operator applied patch"


def scope(principal_namespace: str | None) -> str:
    return principal_namespace or "_cluster"


def new_key() -> str:
    return f"{10**16 - time.time_ns() // 1000:016d}-{uuid.uuid4().hex[:8]}"


def _expiry() -> int:
    return int(time.time()) + get_settings().analyze_retention_days * 86400


def _resource_key(kind: str, namespace: str, name: str) -> str:
    return f"{kind}/{namespace}/{name}"


def save(partition: str, key: str, analysis: dict[str, Any], steps: list[dict[str, Any]]) -> None:
    expiry = _expiry()
    analyses.create(partition, key, analysis, expiry=expiry)
    resource = {k: analysis[k] for k in ("resource_kind", "resource_name", "namespace", "reason")}
    reports.create(partition, key, {"timestamp": analysis["timestamp"], **resource, "steps": steps}, expiry=expiry)
    index_key = _resource_key(analysis["resource_kind"], analysis["namespace"], analysis["resource_name"])

    def add(doc: dict[str, Any]) -> None:
        doc["reports"] = ([key] + [k for k in doc.get("reports", []) if k != key])[:INDEX_KEEP]

    for _ in range(8):
        if _index.get(partition, index_key) is None:
            try:
                _index.create(partition, index_key, {"reports": [key]}, expiry=expiry)
                return
            except AlreadyExists:
                continue
        _index.update(partition, index_key, add, expiry=lambda doc: expiry)  # lives as long as its newest report
        return


def page(store: ObjectStore, partition: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    records, next_cursor = store.list_page(partition, limit=limit, cursor=cursor)
    return [r.doc for r in records], next_cursor


def record_outcome(partition: str, kind: str, namespace: str, name: str, outcome: str) -> bool:
    """Append the applied step to the newest matching report that lacks one; False when none matched."""
    index = _index.get(partition, _resource_key(kind, namespace, name))
    for key in (index.doc.get("reports", []) if index else []):
        for _ in range(8):
            record = reports.get(partition, key)
            steps = record.doc.get("steps", []) if record else []
            if record is None or any(s.get("title") == APPLIED_STEP or "Operator applied" in str(s.get("message"))
                                     for s in steps):
                break
            steps.append({"step": len(steps) + 1, "timestamp": now_rfc3339(), "title": APPLIED_STEP,
                          "message": f"Operator applied patch to {kind} '{name}' in namespace '{namespace}' "
                                     f"(outcome: {outcome})."})
            try:
                # Conditional on the version read: two callbacks never both append.
                reports.replace(partition, key, record.doc, expected_version=record.version, expiry=_expiry())
                return True
            except VersionConflict:
                continue
    return False
