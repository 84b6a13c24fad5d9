"""Durable, namespace-scoped memories: the one service behind the REST routes and worker tools.

Stored as ObjectStore("memory") documents named by id (`mem-<uuid>`); the sparse `by-order`
index sorts them by `updatedAt`, so "newest first" lists read only as far as the page needs.
Soft delete sets `deleted` and `disabled`; deleted memories are hidden unless asked for.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.errors import Invalid, NotFound
from shared.memory.common import (
    bool_param,
    csv_param,
    normalize_tags,
    now_precise,
    optional_string,
    reject_server_fields,
)
from shared.memory.redact import redact
from shared.store import ObjectStore, Record

memories = ObjectStore("memory", order=lambda doc: f"{doc['updatedAt']}#{doc['id']}")

NOT_FOUND = "memory not found"
CONTEXT_FIELDS = ("sessionName", "agentName", "taskName", "parentTask")
SERVER_FIELDS = ("id", "createdAt", "updatedAt", "lastRecalledAt", "recalledCount", "sourceProposalId")
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


def new_id() -> str:
    return f"mem-{uuid.uuid4()}"


def check_content(value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise Invalid("content must be a string")
    if not value or not value.strip():
        raise Invalid("content is required")


def _content(value: Any) -> str:
    check_content(value)
    return redact(value)


def build_memory(namespace: str, body: dict[str, Any], *, memory_id: str | None = None,
                 source_proposal_id: str = "") -> dict[str, Any]:
    content = _content(body.get("content"))
    now = now_precise()
    doc: dict[str, Any] = {"id": memory_id or new_id(), "namespace": namespace}
    for key in CONTEXT_FIELDS:
        doc[key] = optional_string(body, key)
    doc.update({"source": optional_string(body, "source") or "manual", "sourceProposalId": source_proposal_id,
                "content": content, "tags": normalize_tags(body.get("tags")), "disabled": False,
                "deleted": False, "createdAt": now, "updatedAt": now, "lastRecalledAt": None,
                "recalledCount": 0})
    return doc


def create_memory(namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    """Validate a client body (server fields refused) and store it."""
    reject_server_fields(body, SERVER_FIELDS)
    doc = build_memory(namespace, body)
    return memories.create(namespace, doc["id"], doc).doc


def get_memory(namespace: str, memory_id: str, *, include_deleted: bool = False) -> dict[str, Any]:
    record = memories.get(namespace, memory_id)
    if record is None or (record.doc.get("deleted") and not include_deleted):
        raise NotFound(NOT_FOUND)
    return record.doc


@dataclass
class MemoryFilter:
    query: str = ""
    tags: list[str] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)   # sessionName, agentName, taskName, parentTask, source
    include_disabled: bool = False
    include_deleted: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> MemoryFilter:
        """The list filter of a query string (the REST and the worker route take the same parameters)."""
        return cls(query=args.get("q") or args.get("query") or "",
                   tags=[t.lower() for t in csv_param(args, "tags")],
                   context={k: args[k] for k in (*CONTEXT_FIELDS, "source") if args.get(k)},
                   include_disabled=bool_param(args, "includeDisabled"),
                   include_deleted=bool_param(args, "includeDeleted"))

    def admits(self, doc: dict[str, Any]) -> bool:
        if doc.get("deleted"):
            if not self.include_deleted:
                return False
        elif doc.get("disabled") and not self.include_disabled:
            return False
        if any(doc.get(k, "") != v for k, v in self.context.items()):
            return False
        doc_tags = set(doc.get("tags") or [])
        if not all(t in doc_tags for t in self.tags):
            return False
        if self.query:
            needle = self.query.lower()
            if needle not in doc.get("content", "").lower() and not any(needle in t for t in doc_tags):
                return False
        return True


def list_memories(namespace: str, flt: MemoryFilter, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None,
                  ids: list[str] | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Newest `updatedAt` first; `ids` narrows to those memories (key lookups, no cursor)."""
    if ids:
        found = [r.doc for r in (memories.get(namespace, i) for i in dict.fromkeys(ids)) if r is not None]
        found = sorted((d for d in found if flt.admits(d)), key=lambda d: (d["updatedAt"], d["id"]), reverse=True)
        return found[:limit], None
    records, next_cursor = memories.list_ordered(namespace, limit=limit, cursor=cursor, accept=flt.admits)
    return [r.doc for r in records], next_cursor


def _mutate(namespace: str, memory_id: str, change: Callable[[dict[str, Any]], bool | None]) -> Record:
    def apply(doc: dict[str, Any]) -> bool | None:
        if doc.get("deleted"):
            raise NotFound(NOT_FOUND)
        return change(doc)

    return memories.update(namespace, memory_id, apply, not_found_message=NOT_FOUND)


def update_memory(namespace: str, memory_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A partial merge; `disabled`/`deleted` may only be set to true (enable has its own route)."""
    reject_server_fields(body, SERVER_FIELDS)
    changes: dict[str, Any] = {}
    if "content" in body:
        changes["content"] = _content(body["content"])
    if "tags" in body:
        changes["tags"] = normalize_tags(body["tags"])
    for key in (*CONTEXT_FIELDS, "source"):
        if key in body:
            changes[key] = optional_string(body, key)
    if changes.get("source") == "":
        changes["source"] = "manual"
    for flag in ("disabled", "deleted"):
        if flag in body:
            if body[flag] is not True:
                raise Invalid(f"{flag} can only be set to true")
            changes[flag] = True
    if changes.get("deleted"):
        changes["disabled"] = True

    def change(doc: dict[str, Any]) -> None:
        doc.update(changes)
        doc["updatedAt"] = now_precise()

    return _mutate(namespace, memory_id, change).doc


def set_disabled(namespace: str, memory_id: str, disabled: bool) -> None:
    def change(doc: dict[str, Any]) -> bool | None:
        if doc.get("disabled") == disabled:
            return False
        doc["disabled"] = disabled
        doc["updatedAt"] = now_precise()
        return None

    _mutate(namespace, memory_id, change)


def soft_delete(namespace: str, memory_id: str) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["deleted"] = doc["disabled"] = True
        doc["updatedAt"] = now_precise()

    _mutate(namespace, memory_id, change)


def mark_recalled(namespace: str, docs: list[dict[str, Any]]) -> None:
    """Count a recall (worker tool); ordering is by `updatedAt`, which a recall does not touch."""
    now = now_precise()
    for doc in docs:
        def change(d: dict[str, Any]) -> None:
            d["lastRecalledAt"] = now
            d["recalledCount"] = int(d.get("recalledCount") or 0) + 1

        try:
            memories.update(namespace, doc["id"], change)
        except NotFound:
            continue
