"""Durable investigation sessions: one record per session in the objects table, so any replica
(or a restarted one) answers for any session. Status changes are conditional writes; a capacity
record holds the ids of the non-terminal sessions (Kubernaut's limit of 10 by default).
"""

from __future__ import annotations

import contextlib
import hmac
import time
import uuid
from collections.abc import Callable
from typing import Any

from shared.clock import now_rfc3339
from shared.config import get_settings
from shared.errors import NotFound, ShoalError
from shared.store import AlreadyExists, ObjectStore, Record, VersionConflict

PARTITION = "kubernaut"
# peers.md §2.1: `user_driving` while the owner drives the session instead of the agent (takeover
# until handback); `unknown` is never stored, only reported for a record whose state cannot be mapped.
STATUSES = ("pending", "investigating", "completed", "failed", "cancelled", "user_driving", "unknown")
TERMINAL = frozenset({"completed", "failed", "cancelled"})
# Kubernaut's internal name for a running investigation (legacy records may still hold it).
_ALIASES = {"running": "investigating"}
NOT_FOUND = "session not found"

sessions = ObjectStore("incident-session")
_capacity = ObjectStore("incident-capacity")
_SLOTS = "active"


class CapacityExhausted(ShoalError):
    status = 500
    code = "capacity-exhausted"


def public_status(doc: dict[str, Any]) -> str:
    """The status a client sees: a known status (or alias), else "unknown" (corrupt or legacy record)."""
    raw = doc.get("status")
    if not isinstance(raw, str):
        return "unknown"
    status = _ALIASES.get(raw, raw)
    return status if status in STATUSES else "unknown"


def _expiry(doc: dict[str, Any]) -> int:
    """Idle TTL from now, never beyond twice the TTL from creation (Kubernaut's maximum age)."""
    ttl = get_settings().incident_session_ttl_seconds
    created = doc.get("created_epoch")
    created = int(created) if isinstance(created, int | float) else int(time.time())  # a corrupt record
    return min(int(time.time()) + ttl, created + 2 * ttl)


def new_session(request: dict[str, Any], owner: str, acting_user: str, groups: list[str], *,
                cluster_wide: bool = False) -> Record:
    """Store a new pending session (after reserving a capacity slot); `cluster_wide`: the submitter
    holds the cluster-wide grant, so the investigation may read cluster-scoped kinds."""
    session_id = str(uuid.uuid4())
    reserve_slot(session_id)
    doc = {"session_id": session_id, "status": "pending", "progress": "Queued for investigation",
           "created_by": owner, "acting_user": acting_user, "acting_user_groups": groups,
           "created_at": now_rfc3339(), "created_epoch": int(time.time()), "updated_at": now_rfc3339(),
           "request": request, "turn": 0, "result": None, "error": None, "cluster_wide": cluster_wide}
    try:
        return sessions.create(PARTITION, session_id, doc, expiry=_expiry(doc))
    except Exception:
        release_slot(session_id)
        raise


def get(session_id: str) -> Record | None:
    return sessions.get(PARTITION, session_id)


def get_owned(session_id: str, owner: str) -> Record:
    """The session when `owner` created it; NotFound otherwise (no hint that it exists)."""
    record = get(session_id)
    if record is None or not hmac.compare_digest(str(record.doc.get("created_by", "")).encode(), owner.encode()):
        raise NotFound(NOT_FOUND, code="not-found")
    return record


def change(session_id: str, mutate: Callable[[dict[str, Any]], bool | None]) -> tuple[Record | None, bool]:
    """Apply `mutate` under the version check, refreshing the TTL; (record, changed).

    A vanished session gives (None, False); `mutate` returning False skips the write.
    """
    for _ in range(8):
        record = get(session_id)
        if record is None:
            return None, False
        if mutate(record.doc) is False:
            return record, False
        record.doc["updated_at"] = now_rfc3339()
        try:
            return sessions.replace(PARTITION, session_id, record.doc, expected_version=record.version,
                                    expiry=_expiry(record.doc)), True
        except VersionConflict:
            time.sleep(0.01)
    raise VersionConflict("session was modified concurrently")


def transition(session_id: str, to: str, *, allowed_from: frozenset[str],
               also: Callable[[dict[str, Any]], None] | None = None) -> Record | None:
    """Move to status `to` when the current (public) status is in allowed_from; None when it was not."""

    def mutate(doc: dict[str, Any]) -> bool:
        if public_status(doc) not in allowed_from:
            return False
        doc["status"] = to
        if also:
            also(doc)
        return True

    record, moved = change(session_id, mutate)
    if moved and to in TERMINAL:
        release_slot(session_id)
    return record if moved else None


# -- capacity ------------------------------------------------------------------------------------
def reserve_slot(session_id: str) -> None:
    settings = get_settings()
    stale_before = int(time.time()) - 2 * settings.incident_session_ttl_seconds
    full = {"v": False}
    for _ in range(8):
        if _capacity.get(PARTITION, _SLOTS) is None:
            try:
                _capacity.create(PARTITION, _SLOTS, {"sessions": {session_id: int(time.time())}})
                return
            except AlreadyExists:
                continue

        def mutate(doc: dict[str, Any]) -> bool:
            # Slots older than a session's maximum age belong to sessions that can no longer finish.
            active = {k: v for k, v in doc.get("sessions", {}).items() if int(v) > stale_before}
            if len(active) >= settings.incident_max_sessions:
                full["v"] = True
                return False
            active[session_id] = int(time.time())
            doc["sessions"] = active
            return True

        _capacity.update(PARTITION, _SLOTS, mutate)
        if full["v"]:
            raise CapacityExhausted(f"session capacity exhausted: {settings.incident_max_sessions} "
                                    "investigations are already in progress")
        return
    raise CapacityExhausted("session capacity record is contended; retry")


def release_slot(session_id: str) -> None:
    def mutate(doc: dict[str, Any]) -> bool:
        if session_id not in doc.get("sessions", {}):
            return False
        del doc["sessions"][session_id]
        return True

    with contextlib.suppress(NotFound):
        _capacity.update(PARTITION, _SLOTS, mutate)
