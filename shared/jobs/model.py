"""How a labrats job maps onto a Shoal task, and back.

A job is a task created through `shared.tasks.service.create_task`. The job's own fields live in
the task's annotation `labrats.work/job` (one JSON document); labels make jobs recognisable. The
job id (`ir-<8hex>`) is the task name.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared.store import Record

JOB_ANNOTATION = "labrats.work/job"
JOB_LABEL = "labrats.work/job"
SOURCE_LABEL = "labrats.work/source"
TYPE_LABEL = "labrats.work/type"
CHAIN_LABEL = "labrats.work/chain-id"

STATUS = {"Pending": "waiting", "Scheduled": "waiting", "Running": "active", "Finalizing": "active",
          "Succeeded": "completed", "Failed": "failed", "Cancelled": "cancelled"}

DEFAULT_PRIORITY = 2
DEFAULT_TIMEOUT_MS = 3_300_000
DEFAULT_MAX_TURNS = 25
TOKEN_MAX_AGE_SECONDS = 600

# scheme://user[:password]@host — the userinfo of a clone URL is where git tokens travel.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s\"']+@")


def has_embedded_token(url: Any) -> bool:
    return isinstance(url, str) and bool(_USERINFO.search(url))


def job_fields(record: Record) -> dict[str, Any] | None:
    """The job document of a task, or None when the task is not a job."""
    raw = record.doc.get("metadata", {}).get("annotations", {}).get(JOB_ANNOTATION)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def status_of(record: Record) -> str:
    return STATUS.get(record.doc.get("status", {}).get("phase") or "Pending", "waiting")


def list_item(record: Record, result: str | None) -> dict[str, Any]:
    """The fields of a job in lists (spec: List Jobs)."""
    job = job_fields(record) or {}
    status = record.doc.get("status", {})
    chain = job.get("chain") or {}
    metadata = job.get("metadata") or {}
    return {
        "id": record.name,
        "name": job.get("type"),
        "source": job.get("source"),
        "agentRole": job.get("agentRole"),
        "repo": metadata.get("repo"),
        "status": status_of(record),
        "priority": job.get("priority", DEFAULT_PRIORITY),
        "attempts": int(status.get("attempts", 0)),
        "createdAt": record.doc.get("metadata", {}).get("creationTimestamp"),
        "processedAt": status.get("startTime"),
        "finishedAt": status.get("completionTime"),
        "failedReason": status.get("message") if status.get("phase") == "Failed" else None,
        "chainId": chain.get("chainId"),
        "chainDepth": chain.get("chainDepth"),
        "parentJobId": chain.get("parentJobId"),
        "chainPath": chain.get("chainPath"),
        "result": result,
    }


def detail(record: Record, result: str | None, logs: list[str]) -> dict[str, Any]:
    """List fields plus the detail-only ones (spec: Get Job Detail)."""
    job = job_fields(record) or {}
    status = record.doc.get("status", {})
    body = list_item(record, result)
    body.update({
        "phase": status.get("phase") or "Pending",
        "accountName": None,  # accounts were removed from the contract (spec 0003)
        "k8sJobName": status.get("jobName"),
        "executorPodName": status.get("podName"),
        "returnvalue": result,
        "logs": logs,
        "workspaceSetup": job.get("workspaceSetup"),
        "workspaceFiles": [{"name": f.get("name")} for f in job.get("workspaceFiles") or []],
        "workspaceUploads": job.get("workspaceUploads") or [],
        "promptRef": {"kind": "Task", "name": record.name, "namespace": record.namespace, "field": "spec.prompt"},
        "prompt": record.doc.get("spec", {}).get("prompt"),
        "errors": job.get("errors"),
        "config": job.get("config"),
        "callbackUrl": job.get("callbackUrl"),
        "pipeline": job.get("pipeline"),
        "metadata": job.get("metadata") or {},
        "message": status.get("message"),
        "notes": job.get("notes") or [],  # config this deployment could not apply (shared/jobs/effective.py)
    })
    return body
