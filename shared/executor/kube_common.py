"""What the Job executor and the sandbox executor share about Kubernetes objects: the task label,
label values, how much log to read, and the message of an API error."""

from __future__ import annotations

import hashlib
import json
import re

TASK_LABEL = "orka.ai/task"
LOG_LINES = 100

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def label_value(value: str) -> str:
    """`value` when it is a valid label value (≤ 63 characters), else a stable shortened form."""
    if len(value) <= 63 and _LABEL_VALUE.match(value):
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    head = re.sub(r"[^-A-Za-z0-9_.]", "-", value)[:54].strip("-_.")
    return f"{head}-{digest}" if head else digest


def api_error(exc: Exception) -> tuple[int | None, str]:
    status = getattr(exc, "status", None)
    body = getattr(exc, "body", None)
    try:
        message = json.loads(body).get("message") if body else None
    except (ValueError, AttributeError):
        message = None
    return status, message or getattr(exc, "reason", None) or str(exc)
