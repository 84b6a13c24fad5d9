"""Turn a `POST /api/v1/tasks` body into a Task document, in Orka's check order.

1. requestedBy/transaction keys (any case, in a `spec` key of any case too) → 400, top level first
2. bad JSON (or a body of the wrong shape) → 400 "invalid request body"
   The spec is `spec` with the flat fields sent beside it laid over it, as Orka's
   applyFlatTaskRequest does (so `{"spec": {...}, "schedule": "..."}` keeps the schedule); for
   `type: ai`, `spec.ai.prompt` stands in for a missing `spec.prompt` (Orka's worker reads either).
3. no name → 400 "name is required"
4. an `orka.ai/` label or annotation → 400 `label "k" is reserved`
5. no type → 400 "type is required" (and an unknown type → 400)
6. a bad Go duration in timeout → 400 "invalid timeout: …"
6b. field checks Orka leaves to its CRD schema (`shared.tasks.spec_checks`), naming the field
(7. authorization and 8. the duplicate check happen in the service.)
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from pydantic import ValidationError

from shared.clock import now_rfc3339
from shared.duration import parse_go_duration
from shared.errors import Invalid
from shared.http.params import string_map
from shared.models.task import TASK_TYPES, TaskSpec, TaskStatus
from shared.tasks.spec_checks import check_spec

SERVER_STAMPED = {"requestedby": "requestedBy", "transaction": "transaction"}
RESERVED_PREFIX = "orka.ai/"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Flat fields copied into spec when the client does not send `spec`.
FLAT_FIELDS = ("type", "prompt", "agentRef", "image", "command", "args", "env", "timeout", "priority",
               "retryPolicy", "webhookURL", "sessionRef", "ai", "agentRuntime", "workspace", "schedule",
               "timeZone", "concurrencyPolicy", "suspend", "execution", "maxTurns", "tools", "skills")


def reject_server_stamped(body: Any) -> None:
    """Step 1: clients may never send the fields the server stamps from verified identity."""
    if not isinstance(body, dict):
        return
    for key in body:
        if key.lower() in SERVER_STAMPED:
            raise Invalid(f"{SERVER_STAMPED[key.lower()]} cannot be set by clients")
    # Orka decodes JSON keys case-insensitively: `{"Spec": {"RequestedBy": …}}` is a spec too.
    for key, spec in body.items():
        if key.lower() != "spec" or not isinstance(spec, dict):
            continue
        for inner in spec:
            if inner.lower() in SERVER_STAMPED:
                raise Invalid(f"spec.{SERVER_STAMPED[inner.lower()]} cannot be set by clients")


def build_task(body: Any, *, namespace_hint: str | None = None,
               allow_git_credentials: bool = False) -> tuple[str | None, dict[str, Any]]:
    """(explicit namespace or None, task document without namespace) — steps 2 to 6.

    `allow_git_credentials`: only for labrats jobs, whose spec lets a clone URL carry a token.
    """
    if not isinstance(body, dict):
        raise Invalid("invalid request body")
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise Invalid("invalid request body")
    name = body.get("name") or metadata.get("name")
    namespace = body.get("namespace") or metadata.get("namespace") or namespace_hint
    if (name is not None and not isinstance(name, str)) or (namespace is not None and not isinstance(namespace, str)):
        raise Invalid("invalid request body")
    labels = {**string_map(metadata.get("labels")), **string_map(body.get("labels"))}
    annotations = {**string_map(metadata.get("annotations")), **string_map(body.get("annotations"))}

    raw_spec = body.get("spec")
    if raw_spec is None:
        raw_spec = {k: body[k] for k in FLAT_FIELDS if k in body}
    elif isinstance(raw_spec, dict):
        # Flat fields beside a spec override it (Orka ignores empty ones): nothing the client sent is dropped.
        raw_spec = {**raw_spec, **{k: body[k] for k in FLAT_FIELDS if body.get(k) not in (None, "")}}
    if not isinstance(raw_spec, dict):
        raise Invalid("invalid request body")
    ai = raw_spec.get("ai")
    if isinstance(ai, dict) and not raw_spec.get("prompt") and isinstance(ai.get("prompt"), str) and ai["prompt"]:
        raw_spec = {**raw_spec, "prompt": ai["prompt"]}  # what the worker reads; `ai` is kept as sent
    try:
        spec = TaskSpec.model_validate(raw_spec)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        if where == "priority" and first["type"] in ("greater_than_equal", "less_than_equal"):
            raise Invalid("priority must be between 0 and 1000") from None
        raise Invalid("invalid request body") from None

    if not name:
        raise Invalid("name is required")
    if len(name) > 253 or not _NAME.match(name):
        raise Invalid(f'invalid name "{name}": must be a lowercase RFC 1123 subdomain')
    if namespace is not None and (len(namespace) > 63 or not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", namespace)):
        raise Invalid(f'invalid namespace "{namespace}"')
    for key in labels:
        if key.startswith(RESERVED_PREFIX):
            raise Invalid(f'label "{key}" is reserved')
    for key in annotations:
        if key.startswith(RESERVED_PREFIX):
            raise Invalid(f'annotation "{key}" is reserved')
    if not spec.type:
        raise Invalid("type is required")
    if spec.type not in TASK_TYPES:
        raise Invalid(f'invalid type "{spec.type}": must be one of container, ai, agent')
    if spec.timeout is not None:
        try:
            parse_go_duration(spec.timeout)
        except ValueError as exc:
            raise Invalid(f"invalid timeout: {exc}") from None

    check_spec(spec.model_dump(exclude_none=True), allow_git_credentials=allow_git_credentials)
    if spec.type == "container" and not spec.image:
        raise Invalid("image is required for container tasks")
    if spec.type == "ai" and not spec.prompt:
        raise Invalid("prompt is required for ai tasks")

    return namespace, new_task_document(name, spec.model_dump(exclude_none=True), labels, annotations)


def new_task_document(name: str, spec: dict[str, Any], labels: dict[str, str],
                      annotations: dict[str, str]) -> dict[str, Any]:
    """A Task document for a validated spec (also used for the runs of a cron task)."""
    return {
        "apiVersion": "core.orka.ai/v1alpha1",
        "kind": "Task",
        "metadata": {"name": name, "uid": str(uuid.uuid4()), "labels": labels, "annotations": annotations,
                     "creationTimestamp": now_rfc3339(), "generation": 1},
        "spec": spec,
        "status": TaskStatus().model_dump(exclude_none=True),
    }
