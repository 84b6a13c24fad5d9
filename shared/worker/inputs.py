"""What the worker runs: its task's spec and the agent the dispatcher resolved, read through the
worker API (`GET /internal/v1/tasks/<ns>/<task>/spec`).

Not from the environment: a single environment variable holds at most 128 KiB on Linux
(MAX_ARG_STRLEN), while the API accepts specs up to 15 MiB; nor from the Job object, which etcd
caps too. The read carries the worker's attempt, so a worker started for an attempt that has
already been reclaimed is refused (409) before it does anything.
"""

from __future__ import annotations

from typing import Any

from shared.workerapi.client import InternalClient


class InputsUnavailable(RuntimeError):
    """The spec could not be read; the message says why, without any server detail."""


def load(client: InternalClient, namespace: str, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(spec, resolved agent or {})."""
    status, body = client.call("GET", f"/internal/v1/tasks/{namespace}/{name}/spec")
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
        detail = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
        raise InputsUnavailable(f"could not read the task's spec: HTTP {status}" + (f" ({detail})" if detail else ""))
    return body["spec"], body.get("agent") or {}
