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

Minting is the task engine's (`shared.tasks.model_tokens`); this module holds the token's form, its
record and its verification, below the task engine (it reads the task record, never imports it).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from shared.auth.key_hash import hash_key
from shared.auth.messages import INVALID
from shared.auth.principal import Principal
from shared.auth.ttl_cache import TTLCache
from shared.config import get_settings
from shared.errors import Unauthorized
from shared.logs import get_logger
from shared.store import ObjectStore

PREFIX = "shoal_tt_"
KIND = "tasktoken"
TASK_KIND = "task"  # the task records (shared.tasks.repository.tasks): read here, auth sits below the engine

log = get_logger("auth")
_verified = TTLCache()


def is_task_token(token: str) -> bool:
    return token.startswith(PREFIX)


def token_store() -> Any:
    return ObjectStore(KIND)


def digest(token: str) -> str:
    return hash_key(token)


def partition(digest: str) -> str:
    # Every lookup is by hash alone; 256 partitions keep one busy platform off a single hot key.
    return digest[:2]


# -- verifying -----------------------------------------------------------------------------------------
def authenticate_task_token(token: str) -> Principal:
    """The principal of a live task token; 401 `invalid token` for anything else (why is logged)."""
    hashed = digest(token)
    hit, principal = _verified.get(hashed)
    if hit:
        return principal
    store = token_store()
    record = store.get(partition(hashed), hashed)
    if record is None:
        raise _refused("unknown or expired")
    doc = record.doc
    task = ObjectStore(TASK_KIND).get(doc["namespace"], doc["task"])
    status = (task.doc.get("status") or {}) if task is not None else {}
    if status.get("phase") != "Running" or int(status.get("attempts", 0)) != doc["attempt"]:
        # Fenced: the attempt it was minted for is over. Delete it now rather than at its TTL.
        with contextlib.suppress(Exception):
            store.delete(partition(hashed), hashed)
        raise _refused("task is no longer running at this attempt", doc)
    principal = task_principal(doc)
    ttl = min(get_settings().task_token_cache_seconds, (record.expiry or 0) - time.time())
    _verified.put(hashed, principal, ttl)
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
