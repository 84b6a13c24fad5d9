"""Minting task-scoped model tokens (docs/auth.md, "Task tokens"): the worker asks through the worker
API (`POST /internal/v1/tasks/<ns>/<task>/model-token`) for its runtime's API key. The token's form,
record and verification are auth's (`shared.auth.task_tokens`)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.auth.task_tokens import PREFIX, digest, partition, token_store
from shared.catalog.stores import agent_doc
from shared.clock import now_rfc3339, parse_rfc3339
from shared.config import get_settings
from shared.duration import parse_go_duration
from shared.errors import Conflict
from shared.models.agent_credentials import runtime_credential
from shared.tasks.repository import TASK_NOT_FOUND, tasks
from shared.tasks.usage import start_counting

NOT_RUNNING = "task is not running"


@dataclass(frozen=True)
class Minted:
    token: str
    expires_at: str  # RFC 3339


def compat_urls() -> dict[str, str]:
    """Where a runtime points its SDK: Anthropic's appends /v1/messages itself, OpenAI's does not."""
    base = get_settings().compat_url.rstrip("/")
    return {"anthropicBaseURL": f"{base}/anthropic", "openaiBaseURL": f"{base}/openai/v1"}


# -- minting -------------------------------------------------------------------------------------------
def mint(namespace: str, task: str) -> Minted:
    """A new token for the task's current attempt; 404 for an unknown task, 409 unless it is Running."""
    record = tasks.require(namespace, task, TASK_NOT_FOUND)
    spec, status = record.doc.get("spec") or {}, record.doc.get("status") or {}
    if status.get("phase") != "Running":
        raise Conflict(NOT_RUNNING)
    agent_name = _agent_name(spec)
    agent_spec = _agent_spec(namespace, agent_name)
    expiry = int(time.time()) + lifetime_seconds(spec, status)
    token = PREFIX + secrets.token_urlsafe(32)
    hashed = digest(token)
    doc = {"namespace": namespace, "task": task, "attempt": int(status.get("attempts", 0)), "agent": agent_name,
           "model": model_reference(spec, agent_spec), "credential": _credential(agent_spec),
           "createdAt": now_rfc3339(), "expiresAt": _rfc3339(expiry)}
    token_store().create(partition(hashed), hashed, doc, expiry=expiry)
    start_counting(namespace, task)
    return Minted(token, doc["expiresAt"])


def lifetime_seconds(spec: dict[str, Any], status: dict[str, Any]) -> int:
    """What remains of the attempt's `spec.timeout` (measured as the scheduler does, from the phase
    change), at most SHOAL_TASK_TOKEN_MAX_SECONDS; at least one second (an overdue task is about to be
    timed out by the scheduler, and its token with it)."""
    cap = get_settings().task_token_max_seconds
    timeout = spec.get("timeout")
    started = status.get("phaseTransitionTime") or status.get("startTime")
    if not timeout or not started:
        return cap
    try:
        limit = parse_go_duration(timeout)
    except ValueError:
        return cap
    if limit <= 0:
        return cap
    elapsed = (datetime.now(UTC) - parse_rfc3339(started)).total_seconds()
    return max(1, min(cap, int(limit - elapsed)))


def _rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _agent_name(spec: dict[str, Any]) -> str | None:
    ref = spec.get("agentRef")
    name = ref.get("name") if isinstance(ref, dict) else ref
    return name if isinstance(name, str) and name else None


def _agent_spec(namespace: str, name: str | None) -> dict[str, Any]:
    doc = agent_doc(namespace, name) if name else None
    return (doc.get("spec") or {}) if doc is not None else {}


def model_reference(spec: dict[str, Any], agent_spec: dict[str, Any]) -> str | None:
    """The task's model as the worker resolves it: the task's `ai` over its Agent, `provider/model`."""
    ai = spec.get("ai") or {}
    provider, model = ai.get("provider", agent_spec.get("provider")), ai.get("model", agent_spec.get("model"))
    if provider and model:
        return f"{provider}/{model}"
    return model or None


def _credential(agent_spec: dict[str, Any]) -> dict[str, str] | None:
    return runtime_credential(agent_spec)
