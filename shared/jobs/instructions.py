"""Instructions (AiInstruction): validation, the API view and per-agent resolution."""

from __future__ import annotations

import re
from typing import Any

from shared.clock import now_rfc3339
from shared.errors import Invalid
from shared.jobs import stores
from shared.store import Record

SCOPES = ("global", "local")
PATCHABLE = ("displayName", "description", "scope", "priority", "content")
DEFAULT_PRIORITY = 100
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def validate(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if partial:
        unknown = sorted(k for k in body if k not in PATCHABLE)
        if unknown:
            raise Invalid(f'unknown or read-only field "{unknown[0]}"')
    for key in ("displayName", "description", "content"):
        if key in body and body[key] is not None:
            if not isinstance(body[key], str):
                raise Invalid(f"{key} must be a string")
            fields[key] = body[key]
    if "scope" in body:
        if body["scope"] not in SCOPES:
            raise Invalid("scope must be global or local")
        fields["scope"] = body["scope"]
    if "priority" in body:
        value = body["priority"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid("priority must be an integer")
        fields["priority"] = value
    if not partial:
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise Invalid("name is required")
        if len(name) > 63 or not _NAME.match(name):
            raise Invalid(f'invalid name "{name}": must be a lowercase RFC 1123 label')
        if not fields.get("content"):
            raise Invalid("content is required")
        fields = {"name": name, "scope": "local", "priority": DEFAULT_PRIORITY, "displayName": name,
                  "description": "", **fields, "createdAt": now_rfc3339()}
    return fields


def view(record: Record) -> dict[str, Any]:
    doc = record.doc
    return {"id": record.name, "name": record.name, "scope": doc.get("scope", "local"),
            "displayName": doc.get("displayName"), "description": doc.get("description"),
            "priority": doc.get("priority", DEFAULT_PRIORITY), "content": doc.get("content", ""),
            "createdAt": doc.get("createdAt"), "updatedAt": doc.get("updatedAt")}


def all_instructions(namespace: str) -> list[Record]:
    records, _ = stores.instructions.list_page(namespace, limit=None)
    return records


def resolve_for_agent(namespace: str, agent: Record) -> list[dict[str, Any]]:
    """Globals sorted by priority (then name), then the agent's assigned locals in assigned order."""
    records = {r.name: r for r in all_instructions(namespace)}
    globals_ = sorted((r for r in records.values() if r.doc.get("scope") == "global"),
                      key=lambda r: (r.doc.get("priority", DEFAULT_PRIORITY), r.name))
    resolved = [view(r) for r in globals_]
    seen = {r.name for r in globals_}
    for name in agent.doc.get("spec", {}).get("instructions") or []:
        record = records.get(name)
        if record is not None and name not in seen:
            resolved.append(view(record))
            seen.add(name)
    return resolved
