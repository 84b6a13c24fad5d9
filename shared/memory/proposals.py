"""Memory proposals: reviewable suggestions (`mprop-<uuid>`) that become memories once accepted.

Lifecycle: pending → accepted | rejected (review) → applied (apply, memory proposals only);
pending/accepted/rejected → archived. Apply is idempotent even under concurrency: the memory's
id is derived from the proposal's, so a second apply finds the same memory instead of a twin.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from shared.errors import Invalid, NotFound
from shared.events.envelope import build
from shared.events.outbox import deliver_staged
from shared.memory import memories as mem
from shared.memory.common import normalize_tags, now_precise, optional_string, reject_server_fields
from shared.memory.redact import redact
from shared.store import AlreadyExists, Companion, ObjectStore

proposals = ObjectStore("mproposal", order=lambda doc: f"{doc['createdAt']}#{doc['id']}")

NOT_FOUND = "memory proposal not found"
SERVER_FIELDS = ("id", "reviewer", "reviewNote", "reviewedAt", "appliedMemoryId", "appliedBy", "appliedAt",
                 "createdAt", "updatedAt")
TEXT_FIELDS = ("description", "content", "patch", "skillName", "taskName", "agentName", "sessionName",
               "parentTask")
DEFAULT_LIMIT, MAX_LIMIT = 100, 500
_TAGS_LINE = re.compile(r"^\s*tags\s*:(.*)$", re.I)


def _staged(event_type: str, doc: dict[str, Any], **extra: Any) -> Companion:
    """A proposal change's event, to be written with the change itself (delivered after the commit)."""
    from shared.events.outbox import staged  # bound per call: tests replace outbox.staged
    from shared.events.registry import data_for  # the event catalogue's models: with the first event

    data = data_for(event_type, namespace=doc["namespace"], name=doc["id"], type=doc["type"], status=doc["status"],
                    **extra)
    return staged(build(event_type, data, subject=f"{doc['namespace']}/{doc['id']}"))


def check_create(body: dict[str, Any]) -> None:
    """The checks of a new proposal's body (shared.memory.models.ProposalCreate runs them too)."""
    reject_server_fields(body, SERVER_FIELDS)
    title = body.get("title")
    if title is not None and not isinstance(title, str):
        raise Invalid("title must be a string")
    if not title or not title.strip():
        raise Invalid("title is required")
    if body.get("status") not in (None, "", "pending"):
        raise Invalid("status cannot be set by clients")


def create_proposal(namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    check_create(body)
    title = body["title"]
    now = now_precise()
    doc: dict[str, Any] = {"id": f"mprop-{uuid.uuid4()}", "namespace": namespace,
                           "type": optional_string(body, "type") or "skill", "title": redact(title)}
    for key in TEXT_FIELDS:
        doc[key] = optional_string(body, key)
    for key in ("description", "content", "patch"):
        doc[key] = redact(doc[key])
    doc.update({"status": "pending", "reviewer": "", "reviewNote": "", "appliedMemoryId": "", "appliedBy": "",
                "createdAt": now, "updatedAt": now})

    deliver_staged(proposals.create(namespace, doc["id"], doc, companions=(_staged("dev.shoal.memory.proposed", doc),)))
    return doc


def get_proposal(namespace: str, proposal_id: str) -> dict[str, Any]:
    return proposals.require(namespace, proposal_id, NOT_FOUND).doc


def list_proposals(namespace: str, filters: dict[str, str], query: str, *, limit: int,
                   cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; `filters` are exact matches (taskName, agentName, type, status)."""
    needle = query.lower()

    def admits(doc: dict[str, Any]) -> bool:
        if any(doc.get(k, "") != v for k, v in filters.items()):
            return False
        return not needle or any(needle in (doc.get(k) or "").lower() for k in ("title", "description", "content"))

    records, next_cursor = proposals.list_ordered(namespace, limit=limit, cursor=cursor, accept=admits)
    return [r.doc for r in records], next_cursor


def check_review(body: dict[str, Any]) -> None:
    status = body.get("status")
    if status is None or status == "":
        raise Invalid("status is required")
    if status not in ("accepted", "rejected"):
        raise Invalid("proposal review status must be accepted or rejected")


def review(namespace: str, proposal_id: str, body: dict[str, Any]) -> None:
    check_review(body)
    status = body["status"]
    reviewer, note = optional_string(body, "reviewer"), optional_string(body, "reviewNote")

    def change(doc: dict[str, Any]) -> None:
        if doc["status"] != "pending":
            raise Invalid(f'proposal status "{doc["status"]}" cannot be reviewed')
        now = now_precise()
        doc.update(status=status, reviewer=reviewer, reviewNote=redact(note), reviewedAt=now, updatedAt=now)


    deliver_staged(proposals.update(namespace, proposal_id, change, not_found_message=NOT_FOUND, companions=lambda d: (
        _staged("dev.shoal.memory.proposal.reviewed", d, reviewer=reviewer or None),)))


def tags_from_description(description: str) -> list[str]:
    """The tags of the first `Tags:` line of a description ("Tags: a, B, a" → ["a", "b"])."""
    for line in description.splitlines():
        match = _TAGS_LINE.match(line)
        if match:
            return normalize_tags([t.strip().lstrip("#") for t in match.group(1).split(",")])
    return []


def _memory_id(proposal_id: str) -> str:
    return f"mem-{uuid.uuid5(uuid.NAMESPACE_URL, 'shoal:mproposal:' + proposal_id)}"


def apply(namespace: str, proposal_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The linked memory: created on the first apply of an accepted memory proposal, found after."""
    applied_by = optional_string(body, "appliedBy")
    doc = get_proposal(namespace, proposal_id)
    if doc["status"] == "applied" and doc.get("appliedMemoryId"):
        return mem.get_memory(namespace, doc["appliedMemoryId"], include_deleted=True)
    if doc["type"] != "memory":
        raise Invalid(f'proposal type "{doc["type"]}" cannot be applied as memory')
    if doc["status"] != "accepted":
        raise Invalid(f'proposal status "{doc["status"]}" cannot be applied')
    memory_id = _memory_id(proposal_id)
    content = doc.get("content") or doc.get("description") or doc["title"]
    memory = mem.build_memory(namespace, {
        "content": content, "tags": tags_from_description(doc.get("description", "")),
        "source": "memory_proposal", **{k: doc.get(k, "") for k in mem.CONTEXT_FIELDS}},
        memory_id=memory_id, source_proposal_id=proposal_id)
    try:
        memory = mem.memories.create(namespace, memory_id, memory).doc
    except AlreadyExists:  # a concurrent apply won: use its memory
        memory = mem.get_memory(namespace, memory_id, include_deleted=True)

    def change(d: dict[str, Any]) -> bool | None:
        if d["status"] == "applied":
            return False
        if d["status"] != "accepted":  # archived between our read and now: the memory stays orphan-free
            raise Invalid(f'proposal status "{d["status"]}" cannot be applied')
        now = now_precise()
        d.update(status="applied", appliedMemoryId=memory_id, appliedBy=applied_by, appliedAt=now, updatedAt=now)
        return None


    try:
        record = proposals.update(namespace, proposal_id, change, not_found_message=NOT_FOUND, companions=lambda d: (
            _staged("dev.shoal.memory.applied", d, memoryId=memory_id),))
    except (Invalid, NotFound):
        mem.memories.delete(namespace, memory_id)
        raise
    deliver_staged(record)  # only the apply that moved the proposal staged (and announces) it
    return memory


def archive(namespace: str, proposal_id: str) -> None:
    def change(doc: dict[str, Any]) -> bool | None:
        if doc["status"] == "archived":
            return False
        if doc["status"] == "applied":
            raise Invalid('proposal status "applied" cannot be archived')
        now = now_precise()
        doc.update(status="archived", archivedAt=now, updatedAt=now)
        return None

    proposals.update(namespace, proposal_id, change, not_found_message=NOT_FOUND)
