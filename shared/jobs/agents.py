"""The labrats agent <-> the shared agent record (Orka's Agent CRD shape). The ONE translation.

Storage: ObjectStore("agent") documents `{apiVersion, kind: "Agent", metadata{name, namespace,
labels, annotations, creationTimestamp, uid}, spec{...}, status{}}`, the same kind the Orka
`/api/v1/agents` CRUD serves. The labrats fields live under `spec` with their labrats names
(triggerName, displayName, description, defaultModel, defaultEffort, defaultProvider,
eventTriggers, instructions, enabled); `spec.model` mirrors defaultModel so Orka readers see a model.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from shared.clock import now_rfc3339
from shared.errors import Invalid
from shared.jobs.vocabulary import CONFIG_CHOICES, EFFORTS, PROVIDERS, check_choice
from shared.store import Record

API_VERSION = "core.orka.ai/v1alpha1"
KIND = "Agent"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CONDITIONS = ("on-success", "on-failure", "always")
FAILURE_POLICIES = ("stop", "continue")
STRING_FIELDS = ("triggerName", "displayName", "description", "defaultModel", "defaultEffort", "defaultProvider")
# Fields that become a job's config.effort / config.provider: checked here, not first at the job's submit
# (where the error would name the job's field, not the agent's).
CHOICES = {"defaultEffort": EFFORTS, "defaultProvider": PROVIDERS}
PATCHABLE = (*STRING_FIELDS, "enabled", "instructions", "eventTriggers")


def validate_trigger(raw: Any, i: int) -> dict[str, Any]:
    where = f"eventTriggers[{i}]"
    if not isinstance(raw, dict):
        raise Invalid(f"{where} must be an object")
    source = raw.get("source")
    if not isinstance(source, str) or not source:
        raise Invalid(f"{where}.source is required")
    events = raw.get("events")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) and e for e in events):
        raise Invalid(f"{where}.events must be a non-empty array of strings")
    trigger: dict[str, Any] = {"source": source, "events": list(events)}
    if raw.get("instruction") is not None:
        if not isinstance(raw["instruction"], str):
            raise Invalid(f"{where}.instruction must be a string")
        trigger["instruction"] = raw["instruction"]
    for key in ("config", "filters"):
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise Invalid(f"{where}.{key} must be an object")
        trigger[key] = value
    for key, allowed in CONFIG_CHOICES.items():
        if trigger["config"].get(key) is not None:
            check_choice(f"{where}.config.{key}", trigger["config"][key], allowed)
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise Invalid(f"{where}.enabled must be a boolean")
    trigger["enabled"] = enabled
    nxt = raw.get("next")
    if nxt is not None:
        if not isinstance(nxt, dict) or not isinstance(nxt.get("agentTriggerName"), str) or not nxt["agentTriggerName"]:
            raise Invalid(f"{where}.next.agentTriggerName is required")
        condition = nxt.get("condition", "on-success")
        if condition not in CONDITIONS:
            raise Invalid(f"{where}.next.condition must be one of {', '.join(CONDITIONS)}")
        policy = nxt.get("failurePolicy", "stop")
        if policy not in FAILURE_POLICIES:
            raise Invalid(f"{where}.next.failurePolicy must be one of {', '.join(FAILURE_POLICIES)}")
        trigger["next"] = {"agentTriggerName": nxt["agentTriggerName"], "condition": condition,
                           "failurePolicy": policy}
    return trigger


def validate_fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The labrats agent fields of a create (partial=False) or PATCH body."""
    fields: dict[str, Any] = {}
    for key in STRING_FIELDS:
        if key in body and body[key] is not None:
            if not isinstance(body[key], str):
                raise Invalid(f"{key} must be a string")
            if key in CHOICES:
                check_choice(key, body[key], CHOICES[key])
            fields[key] = body[key]
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise Invalid("enabled must be a boolean")
        fields["enabled"] = body["enabled"]
    if "instructions" in body:
        value = body["instructions"]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Invalid("instructions must be an array of instruction names")
        fields["instructions"] = list(value)
    if "eventTriggers" in body:
        value = body["eventTriggers"]
        if not isinstance(value, list):
            raise Invalid("eventTriggers must be an array")
        fields["eventTriggers"] = [validate_trigger(t, i) for i, t in enumerate(value)]
    if partial:
        unknown = sorted(k for k in body if k not in PATCHABLE)
        if unknown:
            raise Invalid(f'unknown or read-only field "{unknown[0]}"')
        if "triggerName" in fields and not fields["triggerName"]:
            raise Invalid("triggerName must not be empty")
    return fields


def new_record_doc(name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A new agent document in the shared CRD shape."""
    if not name:
        raise Invalid("name is required")
    if len(name) > 63 or not _NAME.match(name):
        raise Invalid(f'invalid name "{name}": must be a lowercase RFC 1123 label')
    spec = {"triggerName": name, "enabled": True, "instructions": [], "eventTriggers": [], **fields}
    if spec.get("defaultModel"):
        spec["model"] = spec["defaultModel"]
    now = now_rfc3339()
    return {"apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": name, "uid": str(uuid.uuid4()), "labels": {}, "annotations": {},
                         "creationTimestamp": now, "generation": 1},
            "spec": spec, "status": {}}


def apply_patch(doc: dict[str, Any], fields: dict[str, Any]) -> None:
    spec = doc.setdefault("spec", {})
    spec.update(fields)
    if "defaultModel" in fields:
        spec["model"] = fields["defaultModel"]
    meta = doc.setdefault("metadata", {})
    meta["generation"] = int(meta.get("generation", 1)) + 1


def view(record: Record) -> dict[str, Any]:
    """The labrats agent as the API returns it."""
    spec = record.doc.get("spec", {})
    meta = record.doc.get("metadata", {})
    return {
        "id": record.name, "name": record.name, "namespace": record.namespace,
        "triggerName": spec.get("triggerName") or record.name,
        "displayName": spec.get("displayName"), "description": spec.get("description"),
        "defaultModel": spec.get("defaultModel") or spec.get("model"),
        "defaultEffort": spec.get("defaultEffort"), "defaultProvider": spec.get("defaultProvider"),
        "enabled": spec.get("enabled", True),
        "instructions": spec.get("instructions") or [],
        "eventTriggers": spec.get("eventTriggers") or [],
        "createdAt": meta.get("creationTimestamp"),
        "resourceVersion": str(record.version),
    }


def trigger_name(record: Record) -> str:
    return record.doc.get("spec", {}).get("triggerName") or record.name


def enabled(record: Record) -> bool:
    return record.doc.get("spec", {}).get("enabled", True) is not False


# The default agents of `POST /api/agents/seed`: labrats' roles and its delegation chain
# triage → architect → developer → reviewer → docs.
def default_agents() -> list[tuple[str, dict[str, Any]]]:
    def chain(next_name: str | None) -> dict[str, Any] | None:
        return {"agentTriggerName": next_name, "condition": "on-success", "failurePolicy": "stop"} if next_name else None

    def agent(name: str, description: str, events: list[str] | None = None, nxt: str | None = None,
              instruction: str | None = None) -> tuple[str, dict[str, Any]]:
        triggers = []
        if events:
            trigger = {"source": "github", "events": events, "config": {}, "filters": {}, "enabled": True}
            if instruction:
                trigger["instruction"] = instruction
            if nxt:
                trigger["next"] = chain(nxt)
            triggers.append(trigger)
        return name, {"triggerName": name, "displayName": name.replace("-", " ").title(), "description": description,
                      "defaultModel": "sonnet", "defaultEffort": "medium", "defaultProvider": "claude",
                      "eventTriggers": triggers}

    return [
        agent("ai-triage", "Triages new issues and routes them.", ["issues.opened"], "ai-architect", "triage"),
        agent("ai-architect", "Designs the change.", ["chain"], "ai-developer", "design"),
        agent("ai-developer", "Implements issues.", ["issues.labeled"], "ai-reviewer", "implement"),
        agent("ai-reviewer", "Reviews pull requests.", ["pull_request.opened"], "ai-docs", "review"),
        agent("ai-docs", "Keeps documentation current."),
        agent("ai-testing", "Writes and fixes tests."),
        agent("ai-security", "Reviews changes for security issues."),
        agent("ai-ops", "Operates deployments."),
    ]
