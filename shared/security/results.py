"""Reading what a security task answered: the JSON object in its result, validated item by item.

A scan answer's findings are validated one by one (pydantic `ModelFinding`,
shared.security.result_models): a valid one becomes (or refreshes) a finding, an invalid one is kept
as a dropped-finding diagnostic with the reason.
A finding's id comes from its fingerprint (given by the model, else category + file + title), so a
re-scan that reports the same weakness updates the existing finding instead of adding another.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from typing import TYPE_CHECKING, Any

from shared.clock import now_rfc3339
from shared.security.store import dropped, finding_refs, findings, repo_scope, threat_models
from shared.store import AlreadyExists, Record

if TYPE_CHECKING:  # the answer models load with the first answer read (not at the security function's start)
    from pydantic import ValidationError

    from shared.security.result_models import ModelFinding

SEVERITIES = ("critical", "high", "medium", "low", "info")
MAX_RAW = 4000
DROPPED_RETENTION_SECONDS = 30 * 24 * 3600
_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)


def extract_json(text: str | None) -> dict[str, Any] | None:
    """The answer's JSON object: the whole text, a fenced ```json block, or the outermost braces."""
    if not text:
        return None
    candidates = [text.strip(), *_FENCE.findall(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def reason_of(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in exc.errors()[:5])


def recommended(doc: dict[str, Any]) -> bool:
    """A remediation candidate: open, serious, not refuted by validation, not a low-confidence guess."""
    return (doc.get("state") == "open" and doc.get("severity") in ("critical", "high")
            and doc.get("validationStatus") != "rejected" and doc.get("confidence") != "low")


def finding_id(repo: Record, fingerprint: str) -> str:
    key = f"{repo.namespace}/{repo.name}/{repo.doc['metadata']['uid']}/{fingerprint}"
    return "sf-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def fingerprint_of(item: ModelFinding) -> str:
    if item.fingerprint:
        return item.fingerprint
    basis = "|".join((item.category, item.file, " ".join(item.title.lower().split())))
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def ingest_scan(repo: Record, run_id: str, slice_id: str, text: str | None,
                new_findings: list[str] | None = None) -> tuple[int, int, str | None]:
    """Store the findings, dropped items and threat model of one slice answer: (findings, dropped, problem).

    The ids of findings seen for the first time are appended to `new_findings`.
    """
    from pydantic import ValidationError

    from shared.security.result_models import ModelFinding, ThreatModelBody

    answer = extract_json(text)
    if answer is None:
        _drop(repo, run_id, slice_id, 0, "the result contains no JSON object", text)
        return 0, 1, "the result contains no JSON object"
    raw_items = answer.get("findings")
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        _drop(repo, run_id, slice_id, 0, "findings must be a list", raw_items)
        return 0, 1, "findings must be a list"
    kept = dropped_count = 0
    for index, raw in enumerate(raw_items):
        try:
            item = ModelFinding.model_validate(raw)
        except ValidationError as exc:
            _drop(repo, run_id, slice_id, index, reason_of(exc), raw)
            dropped_count += 1
            continue
        fid, created = upsert_finding(repo, run_id, slice_id, item)
        if created and new_findings is not None:
            new_findings.append(fid)
        kept += 1
    model = answer.get("threatModel")
    if isinstance(model, dict):
        try:
            body = ThreatModelBody.model_validate(model)
        except ValidationError as exc:
            _drop(repo, run_id, slice_id, len(raw_items), f"threatModel: {reason_of(exc)}", model)
            dropped_count += 1
        else:
            save_threat_model(repo, body.model_dump(), source="scan", scan_run_id=run_id)
    return kept, dropped_count, None


def upsert_finding(repo: Record, run_id: str, slice_id: str, item: ModelFinding) -> tuple[str, bool]:
    """(finding id, whether it is new)."""
    fingerprint = fingerprint_of(item)
    fid = finding_id(repo, fingerprint)
    now = now_rfc3339()
    observed = {k: v for k, v in item.model_dump().items() if v is not None and k != "fingerprint"}
    observed.update({"fingerprint": fingerprint, "sliceID": slice_id, "lastScanRunID": run_id, "lastSeenAt": now,
                     "updatedAt": now})
    scope = repo_scope(repo)
    # the pointer first: a finding is never stored without its /findings/:id route
    with contextlib.suppress(AlreadyExists):
        finding_refs.create(repo.namespace, fid, {"repository": repo.name, "uid": repo.doc["metadata"]["uid"]})
    doc = {"id": fid, "namespace": repo.namespace, "repository": repo.name, **observed, "scanRunID": run_id,
           "state": "open", "validationStatus": "unvalidated", "createdAt": now}
    doc["recommended"] = recommended(doc)
    try:
        findings.create(scope, fid, doc)
        return fid, True
    except AlreadyExists:
        def refresh(existing: dict[str, Any]) -> bool:
            existing.update(observed)  # state, validation and remediation are kept across scans
            existing["recommended"] = recommended(existing)
            return True

        findings.update(scope, fid, refresh)
    return fid, False


def _drop(repo: Record, run_id: str, slice_id: str, index: int, reason: str, raw: Any) -> None:
    text = raw if isinstance(raw, str) else json.dumps(raw, default=str)
    key = f"{run_id}#{slice_id}#{index:04d}"
    doc = {"id": key, "scanRunID": run_id, "sliceID": slice_id, "index": index, "reason": reason,
           "raw": (text or "")[:MAX_RAW], "createdAt": now_rfc3339()}
    with contextlib.suppress(AlreadyExists):  # a redelivered finish event
        # Diagnostics of rejected model output: useful while tuning a scan, noise after a month.
        dropped.create(repo_scope(repo), key, doc, expiry=int(time.time()) + DROPPED_RETENTION_SECONDS)


def save_threat_model(repo: Record, body: dict[str, Any], *, source: str, scan_run_id: str | None = None,
                      actor: str | None = None) -> Record:
    doc = {"repository": repo.name, "namespace": repo.namespace, "uid": repo.doc["metadata"]["uid"], **body,
           "source": source, "updatedAt": now_rfc3339()}
    if scan_run_id:
        doc["scanRunID"] = scan_run_id
    if actor:
        doc["updatedBy"] = actor
    try:
        return threat_models.create(repo.namespace, repo.name, doc)
    except AlreadyExists:
        def replace(existing: dict[str, Any]) -> bool:
            existing.clear()
            existing.update(doc)
            return True

        return threat_models.update(repo.namespace, repo.name, replace)
