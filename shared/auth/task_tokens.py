"""Task-scoped model tokens: how a coding-agent runtime inside a task reaches its model.

The worker mints one through the worker API (`POST /internal/v1/tasks/<ns>/<task>/model-token`) and
hands it to the runtime as its API key, with the compat base URLs: the runtime never sees a provider
key, and what it spends is counted on the task (`shared.compat.usage`).

- A token is `shoal_tt_` + 256 random bits. Only its hash is stored (as for API keys:
  `shared.auth.api_keys.hash_key`), in a `tasktoken` record named by the hash and spread over 256
  partitions by the hash's first two hex digits, with TTL = what remains of the task's
  `spec.timeout`, at most SHOAL_TASK_TOKEN_MAX_SECONDS. Minting again gives a new token; the plaintext
  is never stored, so there is nothing to hand out twice.
- The record binds the token to {namespace, task, attempt (`status.attempts` at mint), agent} and keeps
  what a model call needs without reading the Agent again: the task's model reference and the Agent's
  runtime credential reference (Secret name and key, never the value).
- On use the task must still be Running at that attempt: once it ended or a newer attempt started the
  token is refused (401) and its record deleted. A verified token is reused by a replica for
  SHOAL_TASK_TOKEN_CACHE_SECONDS, so a call costs no store read in the steady state.
- Its principal (kind "task") may call only the compat model endpoints (`shared.auth.authorization`).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.auth.principal import Principal
from shared.auth.resolver import INVALID
from shared.auth.ttl_cache import TTLCache
from shared.clock import now_rfc3339, parse_rfc3339
from shared.config import get_settings
from shared.errors import Conflict, Unauthorized
from shared.logs import get_logger

PREFIX = "shoal_tt_"
KIND = "tasktoken"
NOT_RUNNING = "task is not running"

log = get_logger("auth")
_verified = TTLCache()


@dataclass(frozen=True)
class Minted:
    token: str
    expires_at: str  # RFC 3339


def is_task_token(token: str) -> bool:
    return token.startswith(PREFIX)


def _store() -> Any:
    from shared.store import ObjectStore

    return ObjectStore(KIND)


def _digest(token: str) -> str:
    from shared.auth.api_keys import hash_key

    return hash_key(token)


def _partition(digest: str) -> str:
    # Every lookup is by hash alone; 256 partitions keep one busy platform off a single hot key.
    return digest[:2]


def compat_urls() -> dict[str, str]:
    """Where a runtime points its SDK: Anthropic's appends /v1/messages itself, OpenAI's does not."""
    base = get_settings().compat_url.rstrip("/")
    return {"anthropicBaseURL": f"{base}/anthropic", "openaiBaseURL": f"{base}/openai/v1"}


# -- minting -------------------------------------------------------------------------------------------
def mint(namespace: str, task: str) -> Minted:
    """A new token for the task's current attempt; 404 for an unknown task, 409 unless it is Running."""
    from shared.tasks.repository import TASK_NOT_FOUND, tasks
    from shared.tasks.usage import start_counting

    record = tasks.require(namespace, task, TASK_NOT_FOUND)
    spec, status = record.doc.get("spec") or {}, record.doc.get("status") or {}
    if status.get("phase") != "Running":
        raise Conflict(NOT_RUNNING)
    agent_name = _agent_name(spec)
    agent_spec = _agent_spec(namespace, agent_name)
    expiry = int(time.time()) + lifetime_seconds(spec, status)
    token = PREFIX + secrets.token_urlsafe(32)
    digest = _digest(token)
    doc = {"namespace": namespace, "task": task, "attempt": int(status.get("attempts", 0)), "agent": agent_name,
           "model": model_reference(spec, agent_spec), "credential": _credential(agent_spec),
           "createdAt": now_rfc3339(), "expiresAt": _rfc3339(expiry)}
    _store().create(_partition(digest), digest, doc, expiry=expiry)
    start_counting(namespace, task)
    return Minted(token, doc["expiresAt"])


def lifetime_seconds(spec: dict[str, Any], status: dict[str, Any]) -> int:
    """What remains of the attempt's `spec.timeout` (measured as the scheduler does, from the phase
    change), at most SHOAL_TASK_TOKEN_MAX_SECONDS; at least one second (an overdue task is about to be
    timed out by the scheduler, and its token with it)."""
    from shared.tasks.duration import parse_go_duration

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
    from shared.store import ObjectStore

    record = ObjectStore("agent").get(namespace, name) if name else None
    return (record.doc.get("spec") or {}) if record is not None else {}


def model_reference(spec: dict[str, Any], agent_spec: dict[str, Any]) -> str | None:
    """The task's model as the worker resolves it: the task's `ai` over its Agent, `provider/model`."""
    ai = spec.get("ai") or {}
    provider, model = ai.get("provider", agent_spec.get("provider")), ai.get("model", agent_spec.get("model"))
    if provider and model:
        return f"{provider}/{model}"
    return model or None


def _credential(agent_spec: dict[str, Any]) -> dict[str, str] | None:
    from shared.models.agent import runtime_credential

    return runtime_credential(agent_spec)


# -- verifying -----------------------------------------------------------------------------------------
def authenticate_task_token(token: str) -> Principal:
    """The principal of a live task token; 401 `invalid token` for anything else (why is logged)."""
    from shared.tasks.repository import tasks

    digest = _digest(token)
    hit, principal = _verified.get(digest)
    if hit:
        return principal
    store = _store()
    record = store.get(_partition(digest), digest)
    if record is None:
        raise _refused("unknown or expired")
    doc = record.doc
    task = tasks.get(doc["namespace"], doc["task"])
    status = (task.doc.get("status") or {}) if task is not None else {}
    if status.get("phase") != "Running" or int(status.get("attempts", 0)) != doc["attempt"]:
        # Fenced: the attempt it was minted for is over. Delete it now rather than at its TTL.
        with contextlib.suppress(Exception):
            store.delete(_partition(digest), digest)
        raise _refused("task is no longer running at this attempt", doc)
    principal = task_principal(doc)
    ttl = min(get_settings().task_token_cache_seconds, (record.expiry or 0) - time.time())
    _verified.put(digest, principal, ttl)
    return principal


def task_principal(doc: dict[str, Any]) -> Principal:
    subject = f"task:{doc['namespace']}/{doc['task']}"
    claims = {k: doc.get(k) for k in ("task", "attempt", "agent", "model", "credential")}
    return Principal(kind="task", subject=subject, username=subject, namespace=doc["namespace"], claims=claims)


def _refused(reason: str, doc: dict[str, Any] | None = None) -> Unauthorized:
    # A client learns only "invalid token"; operators see why.
    fields = {"authenticator": "task", "reason": reason}
    if doc:
        fields.update(namespace=doc.get("namespace"), task=doc.get("task"), attempt=doc.get("attempt"))
    log.info("token rejected", extra={"fields": fields})
    return Unauthorized(INVALID)


def reset_cache() -> None:
    _verified.clear()
