"""Validation and patch work on one finding, and what their task answers do.

- validate: one task at a time per finding (`validationTask` claimed by a conditional update);
  its answer sets `validationStatus` (confirmed | rejected | inconclusive) and `validationMessage`.
- patch: one generating proposal at a time per finding; the answer `{summary, diff}` is verified
  (shared.security.diffs.verify). Only a verified proposal is `succeeded`, and only then is a
  receipt recorded on the finding (`remediation.receipt`), which the pull-request route requires.
"""

from __future__ import annotations

import time
from typing import Any

from shared.clock import now_rfc3339
from shared.errors import Conflict
from shared.security import prompts, tasks
from shared.security.diffs import DiffError, verify
from shared.security.results import extract_json, reason_of, recommended
from shared.security.store import findings, patch_scope, patches, repo_scope
from shared.store import Record

VALIDATION_RUNNING = "a validation is already running for this finding"
PATCH_RUNNING = "a patch proposal is already being generated for this finding"


def start_validation(repo: Record, finding: Record) -> Record:
    name = tasks.task_name("secval", repo.name, finding.name, str(time.time_ns()))

    def claim(doc: dict[str, Any]) -> bool:
        if doc.get("validationStatus") == "validating":
            raise Conflict(VALIDATION_RUNNING)
        doc.update({"validationStatus": "validating", "validationTask": name, "updatedAt": now_rfc3339()})
        doc.pop("validationMessage", None)
        return True

    updated = findings.update(repo_scope(repo), finding.name, claim)
    try:
        tasks.create(repo.namespace, name, repo.doc["spec"], prompts.validation_prompt(repo.doc["spec"], finding.doc),
                     repo.name, {tasks.KIND: "validate", tasks.FINDING: finding.name,
                                 tasks.UID: repo.doc["metadata"]["uid"]})
    except Exception:
        validation_finished(repo, finding.name, name, "inconclusive", "the validation task could not be created")
        raise
    return updated


def validation_finished(repo: Record, finding_id: str, task: str, status: str, message: str) -> None:
    def record(doc: dict[str, Any]) -> bool:
        if doc.get("validationTask") != task or doc.get("validationStatus") != "validating":
            return False  # a newer validation, or a redelivered event
        doc.update({"validationStatus": status, "validationMessage": message, "validatedAt": now_rfc3339(),
                    "updatedAt": now_rfc3339()})
        doc["recommended"] = recommended(doc)
        return True

    findings.update(repo_scope(repo), finding_id, record)


def start_patch(repo: Record, finding: Record) -> Record:
    patch_id = f"patch_{time.time_ns()}"
    name = tasks.task_name("secpatch", repo.name, finding.name, patch_id)

    def claim(doc: dict[str, Any]) -> bool:
        remediation = doc.setdefault("remediation", {})
        active = remediation.get("activePatch")
        if active:
            current = patches.get(patch_scope(repo.namespace, finding.name), active)
            if current is not None and current.doc.get("status") == "pending":
                raise Conflict(PATCH_RUNNING)
        remediation["activePatch"] = patch_id
        return True

    findings.update(repo_scope(repo), finding.name, claim)
    doc = {"id": patch_id, "findingID": finding.name, "namespace": repo.namespace, "repository": repo.name,
           "status": "pending", "taskName": name, "createdAt": now_rfc3339()}
    record = patches.create(patch_scope(repo.namespace, finding.name), patch_id, doc)
    try:
        tasks.create(repo.namespace, name, repo.doc["spec"], prompts.patch_prompt(repo.doc["spec"], finding.doc),
                     repo.name, {tasks.KIND: "patch", tasks.FINDING: finding.name, tasks.PATCH: patch_id,
                                 tasks.UID: repo.doc["metadata"]["uid"]})
    except Exception:
        patch_finished(repo, finding.name, patch_id, None, "the patch task could not be created")
        raise
    return record


def patch_finished(repo: Record, finding_id: str, patch_id: str, text: str | None, failure: str | None) -> None:
    """Verify a patch task's answer; a verified proposal leaves a receipt on the finding."""
    from pydantic import ValidationError

    from shared.security.result_models import PatchAnswer

    summary = diff = None
    files: list[str] = []
    error = failure
    if error is None:
        answer = extract_json(text)
        try:
            parsed = PatchAnswer.model_validate(answer if answer is not None else {})
            summary, diff = parsed.summary, parsed.diff
            files = verify(summary, diff)
        except ValidationError as exc:
            error = f"invalid patch output: {reason_of(exc)}"
        except DiffError as exc:
            error = f"verification failed: {exc}"
    moved = {"ok": False}
    stamp = now_rfc3339()

    def record(doc: dict[str, Any]) -> bool:
        if doc.get("status") != "pending":
            return False
        doc.update({"status": "failed" if error else "succeeded", "completedAt": stamp})
        if summary is not None:
            doc["summary"] = summary
        if diff is not None:
            doc["diff"] = diff
        doc["verification"] = ({"passed": False, "message": error} if error else
                               {"passed": True, "summary": True, "diff": True, "files": files})
        moved["ok"] = True
        return True

    patches.update(patch_scope(repo.namespace, finding_id), patch_id, record)
    if not moved["ok"]:
        return

    def receipt(doc: dict[str, Any]) -> bool:
        remediation = doc.setdefault("remediation", {})
        if remediation.get("activePatch") == patch_id:
            remediation.pop("activePatch")
        if not error:
            remediation["receipt"] = {"patchID": patch_id, "verifiedAt": stamp, "files": files}
        doc["updatedAt"] = stamp
        return True

    findings.update(repo_scope(repo), finding_id, receipt)
