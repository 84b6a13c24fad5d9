"""`dev.shoal.task.finished` for security tasks (consumed by the `reactor` function).

A scan slice task's answer becomes findings, dropped-finding diagnostics and the threat model, and
its slice is marked done (the last slice finishes the run); a validation task's answer updates the
finding; a patch task's answer becomes a verified (or failed) patch proposal. Every step is
idempotent, so a redelivered event changes nothing.
"""

from __future__ import annotations

import contextlib

from shared.errors import Conflict
from shared.events import Event
from shared.jobs.results import read_result
from shared.logs import get_logger
from shared.security import tasks as sec_tasks
from shared.security.remediation import patch_finished, start_validation, validation_finished
from shared.security.result_models import ValidationAnswer
from shared.security.results import extract_json, ingest_scan, reason_of
from shared.security.scans import slice_finished
from shared.security.store import findings, repo_scope, repositories
from shared.tasks.repository import event_task

log = get_logger("security")


def on_task_finished(event: Event) -> None:
    record = event_task(event.data)
    if record is None:
        return
    labels = record.doc.get("metadata", {}).get("labels") or {}
    annotations = record.doc.get("metadata", {}).get("annotations") or {}
    repo_name = labels.get(sec_tasks.REPO_LABEL)
    kind = annotations.get(sec_tasks.KIND)
    if not repo_name or not kind:
        return  # not a security task

    repo = repositories.get(record.namespace, repo_name)
    if repo is None or repo.doc["metadata"]["uid"] != annotations.get(sec_tasks.UID):
        return  # the RepositoryScan was deleted (or re-created): its work is moot
    status = record.doc.get("status") or {}
    succeeded = status.get("phase") == "Succeeded"
    text = _result(record) if succeeded else None
    failure = None if succeeded else f"task {record.name} {str(status.get('phase') or 'failed').lower()}: " \
                                     f"{status.get('message') or 'no result'}"
    if kind == "scan":
        _scan(repo, annotations, text, failure)
    elif kind == "validate":
        _validation(repo, annotations[sec_tasks.FINDING], record.name, text, failure)
    elif kind == "patch":
        patch_finished(repo, annotations[sec_tasks.FINDING], annotations[sec_tasks.PATCH], text, failure)


def _result(record) -> str | None:
    return read_result(record)


def _scan(repo, annotations: dict[str, str], text: str | None, failure: str | None) -> None:
    run_id, slice_id = annotations[sec_tasks.RUN], annotations[sec_tasks.SLICE]
    if failure:
        slice_finished(repo, run_id, slice_id, "failed", message=failure)
        return
    new: list[str] = []
    kept, dropped, problem = ingest_scan(repo, run_id, slice_id, text, new)
    if repo.doc["spec"].get("validationMode") == "full":
        _auto_validate(repo, new)
    slice_finished(repo, run_id, slice_id, "failed" if problem else "completed", findings=kept, dropped=dropped,
                   message=problem)


def _auto_validate(repo, finding_ids: list[str]) -> None:
    """validationMode full: every new critical or high finding gets a validation task at once."""
    for fid in finding_ids:
        finding = findings.get(repo_scope(repo), fid)
        if finding is None or finding.doc.get("severity") not in ("critical", "high"):
            continue
        with contextlib.suppress(Conflict):  # already validating (a redelivered event)
            start_validation(repo, finding)


def _validation(repo, finding_id: str, task: str, text: str | None, failure: str | None) -> None:
    from pydantic import ValidationError

    if failure:
        validation_finished(repo, finding_id, task, "inconclusive", failure)
        return
    try:
        answer = ValidationAnswer.model_validate(extract_json(text) or {})
    except ValidationError as exc:
        validation_finished(repo, finding_id, task, "inconclusive", f"invalid validation output: {reason_of(exc)}")
        return
    validation_finished(repo, finding_id, task, answer.validationStatus, answer.rationale)
