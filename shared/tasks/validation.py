"""Turn a `POST /api/v1/tasks` body into a Task document, in Orka's check order.

1. requestedBy/transaction keys (any case, in a `spec` key of any case too) → 400, top level first
2. bad JSON or a body that is not an object → 400 "invalid request body"; a body that does not fit
   `shared.tasks.models.TaskCreate` → 400 naming the field (`spec.timeout: expected a duration like
   "30m"`, `spec.retries: unknown field`: unknown fields are rejected, never stored).
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
from datetime import UTC, datetime
from typing import Any

from shared.clock import now_rfc3339
from shared.duration import parse_go_duration
from shared.errors import Invalid
from shared.http.models import validate
from shared.models.task import TaskStatus
from shared.schedules import next_run, stamp
from shared.tasks.models import TASK_TYPES, TaskCreate, TaskSpecFields
from shared.tasks.spec_checks import check_spec

RESERVED_PREFIX = "orka.ai/"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# The spec fields a client may send flat, beside `name` (every field of TaskSpecFields).
FLAT_FIELDS = tuple(TaskSpecFields.model_fields)


def build_task(body: Any, *, namespace_hint: str | None = None,
               allow_git_credentials: bool = False) -> tuple[str | None, dict[str, Any]]:
    """(explicit namespace or None, task document without namespace) — steps 1 to 6.

    `allow_git_credentials`: only for labrats jobs, whose spec lets a clone URL carry a token.
    """
    if not isinstance(body, dict):
        raise Invalid("invalid request body")
    request: TaskCreate = validate(TaskCreate, body)
    metadata = request.metadata
    name = request.name or (metadata.name if metadata else None)
    namespace = request.namespace or (metadata.namespace if metadata else None) or namespace_hint
    labels = {**((metadata.labels if metadata else None) or {}), **(request.labels or {})}
    annotations = {**((metadata.annotations if metadata else None) or {}), **(request.annotations or {})}

    flat = request.model_dump(include=set(FLAT_FIELDS), exclude_unset=True)
    if request.spec is None:
        raw_spec = flat
    else:
        # Flat fields beside a spec override it (Orka ignores empty ones): nothing the client sent is dropped.
        raw_spec = {**request.spec.model_dump(exclude_unset=True),
                    **{k: v for k, v in flat.items() if v not in (None, "")}}
    ai = raw_spec.get("ai")
    if isinstance(ai, dict) and not raw_spec.get("prompt") and isinstance(ai.get("prompt"), str) and ai["prompt"]:
        raw_spec = {**raw_spec, "prompt": ai["prompt"]}  # what the worker reads; `ai` is kept as sent
    spec = TaskSpecFields.model_validate(raw_spec)  # validated above, field by field: this only merges

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

    stored = spec.stored()
    check_spec(stored, allow_git_credentials=allow_git_credentials)
    if spec.type == "container" and not spec.image:
        raise Invalid("image is required for container tasks")
    if spec.type == "ai" and not spec.prompt:
        raise Invalid("prompt is required for ai tasks")

    return namespace, new_task_document(name, stored, labels, annotations)


def new_task_document(name: str, spec: dict[str, Any], labels: dict[str, str],
                      annotations: dict[str, str]) -> dict[str, Any]:
    """A Task document for a validated spec (also used for the runs of a cron task)."""
    created = now_rfc3339()
    return {
        "apiVersion": "core.orka.ai/v1alpha1",
        "kind": "Task",
        "metadata": {"name": name, "uid": str(uuid.uuid4()), "labels": labels, "annotations": annotations,
                     "creationTimestamp": created, "generation": 1},
        "spec": spec,
        "status": _first_status(spec, created),
    }


def _first_status(spec: dict[str, Any], created: str) -> dict[str, Any]:
    """Pending; a cron parent (`schedule`, not suspended) is Scheduled from the start, with its first run
    time: the phase Orka's controller gives it on its first reconcile, here without a dispatcher round
    (a suspended one waits Pending; resumed, the dispatcher schedules it)."""
    status = TaskStatus().model_dump(exclude_none=True)
    if spec.get("schedule") and not spec.get("suspend"):
        status.update(phase="Scheduled", phaseTransitionTime=created, **next_schedule(spec, datetime.now(UTC)))
    return status


def next_schedule(spec: dict[str, Any], after: datetime) -> dict[str, str]:
    """A cron task's status fields for its next run after `after`: `nextScheduleTime` and its message."""
    moment = stamp(next_run(spec["schedule"], after, spec.get("timeZone")))
    return {"nextScheduleTime": moment, "message": f"next run at {moment}"}
