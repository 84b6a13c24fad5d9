"""Webhook sources (WebhookSource): validation and the API view. The secret is write-only."""

from __future__ import annotations

import re
from typing import Any

from shared.clock import now_rfc3339
from shared.errors import Invalid
from shared.jobs.source_config import validate_defaults, validate_repo_overrides
from shared.store import Record

TYPES = ("github", "generic")
PATCHABLE = ("type", "secret", "enabled", "description", "repoOverrides", "defaults")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Shoal needs no per-source Deployment/Service/Ingress: one function serves every source.
PROVISIONING = {
    "deployment": None,
    "message": "No per-source Deployment, Service or Ingress is provisioned in Shoal: the shared `webhooks` "
               "function receives every source at /api/webhooks/github (or /api/webhooks/github?source=<name>).",
}


def is_source_name(name: str) -> bool:
    return len(name) <= 63 and bool(_NAME.match(name))


def validate(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    if partial:
        unknown = sorted(k for k in body if k not in PATCHABLE)
        if unknown:
            raise Invalid(f'unknown or read-only field "{unknown[0]}"')
    fields: dict[str, Any] = {}
    if "type" in body:
        if body["type"] not in TYPES:
            raise Invalid("type must be one of github, generic")
        fields["type"] = body["type"]
    if "secret" in body:
        if not isinstance(body["secret"], str) or len(body["secret"]) < 8:
            raise Invalid("secret must be a string of at least 8 characters")
        fields["secret"] = body["secret"]
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise Invalid("enabled must be a boolean")
        fields["enabled"] = body["enabled"]
    if "description" in body:
        if not isinstance(body["description"], str):
            raise Invalid("description must be a string")
        fields["description"] = body["description"]
    if "repoOverrides" in body:
        fields["repoOverrides"] = validate_repo_overrides(body["repoOverrides"])
    if "defaults" in body:
        fields["defaults"] = validate_defaults(body["defaults"])
    if not partial:
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise Invalid("name is required")
        if len(name) > 63 or not _NAME.match(name):
            raise Invalid(f'invalid name "{name}": must be a lowercase RFC 1123 label')
        if "secret" not in fields:
            raise Invalid("secret is required")
        fields = {"type": "github", "enabled": True, "description": "", "repoOverrides": {}, "defaults": {},
                  **fields, "name": name, "createdAt": now_rfc3339()}
    return fields


def view(record: Record) -> dict[str, Any]:
    doc = record.doc
    return {"id": record.name, "name": record.name, "type": doc.get("type", "github"),
            "enabled": doc.get("enabled", True), "description": doc.get("description", ""),
            "hasSecret": bool(doc.get("secret")), "repoOverrides": doc.get("repoOverrides") or {},
            "defaults": doc.get("defaults") or {}, "createdAt": doc.get("createdAt"),
            "updatedAt": doc.get("updatedAt"), "endpoint": "/api/webhooks/github" if doc.get("type", "github") ==
            "github" else None, "provisioning": PROVISIONING}
