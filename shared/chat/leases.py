"""Leases in the objects table: the cross-replica chat semaphore and the per-session turn lock.

The semaphore is `max_concurrent` slot items (`chatslot#_global`, `slot-0000`…); a chat owns a
slot by creating its item conditionally (free or expired key), so two replicas can never hold the
same slot. Locks are one item per session (`chatlock#<ns>`, name = session id). Every lease has an
expiry renewed while its turn runs: a replica that dies frees its slot and lock within one lease
period, and TTL is enforced on read (ObjectStore filters expired items).

Release is one conditional write (the record still names us as owner). A lease with `keep` is not
deleted but expired in place holding that document, which its next holder gets as `found`: the
session lock hands the chat stream's next sequence number from turn to turn this way
(shared.chat.stream), so a turn appends each event in one write.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.memory.sessions import locks  # the session model owns the turn lock's store
from shared.store import AlreadyExists, ObjectStore, VersionConflict
from shared.store.objects import Record

slots = ObjectStore("chatslot")
SLOT_NAMESPACE = "_global"


@dataclass
class Lease:
    store: ObjectStore
    namespace: str
    name: str
    owner: str
    version: int = 1
    found: dict[str, Any] = field(default_factory=dict)  # what the previous holder left (`keep`)
    keep: dict[str, Any] | None = None  # left for the next holder on release (None: the record goes)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def renew(self, ttl: float) -> Record | None:
        """Push the expiry out; the current record (None when the lease was lost or released)."""
        with self._lock:
            for _ in range(4):
                record = self.store.get(self.namespace, self.name)
                if record is None or record.doc.get("owner") != self.owner:
                    return None
                try:
                    self.store.replace(self.namespace, self.name, record.doc, expected_version=record.version,
                                       expiry=int(time.time() + ttl) + 1)
                    self.version = record.version + 1
                    return record
                except VersionConflict:
                    continue  # someone flagged the lock (cancel): re-read and keep their change
            return None

    def release(self) -> None:
        """Give the lease back if we still hold it (one conditional write; a lost lease is left alone)."""
        with self._lock:
            if self.keep is None:
                self.store.delete(self.namespace, self.name, owner=self.owner)
            else:
                self.store.expire(self.namespace, self.name, owner=self.owner, doc=self.keep)


def acquire_slot(limit: int, ttl: float, info: dict[str, Any]) -> Lease | None:
    """One of `limit` semaphore slots, or None when all are held (→ 429)."""
    owner = uuid.uuid4().hex
    expiry = int(time.time() + ttl) + 1
    for index in random.sample(range(limit), limit):  # random order spreads contention between replicas
        name = f"slot-{index:04d}"
        try:
            slots.create(SLOT_NAMESPACE, name, {"owner": owner, **info}, expiry=expiry)
        except AlreadyExists:
            continue
        return Lease(slots, SLOT_NAMESPACE, name, owner)
    return None


def acquire_lock(namespace: str, session_id: str, ttl: float, info: dict[str, Any]) -> Lease | None:
    """The session's turn lock, or None when another turn holds it (→ 409)."""
    owner = uuid.uuid4().hex
    try:
        record = locks.create(namespace, session_id, {"owner": owner, "cancel": False, **info},
                              expiry=int(time.time() + ttl) + 1)
    except AlreadyExists:
        return None
    found = record.replaced if record.replaced and "owner" not in record.replaced else {}
    # Released, it hands on what it found unless the turn says more (a lock lost mid-turn hands on nothing).
    return Lease(locks, namespace, session_id, owner, found=found, keep=dict(found))


def active_lock(namespace: str, session_id: str) -> Record | None:
    return locks.get(namespace, session_id)


def request_cancel(namespace: str, session_id: str) -> bool:
    """Flag the active turn of a session for cancellation (any replica); False when none is active."""
    def mutate(doc: dict[str, Any]) -> bool:
        if doc.get("cancel"):
            return False
        doc["cancel"] = True
        return True

    try:
        locks.update(namespace, session_id, mutate)
    except Exception as exc:  # NotFound: no active turn
        if getattr(exc, "status", None) == 404:
            return False
        raise
    return True


class Keeper:
    """Renews a turn's leases in the background and notices a cancellation request on its lock."""

    def __init__(self, leases: list[Lease], *, ttl: float, cancelled: threading.Event,
                 on_cancel: Callable[[], None] | None = None, poll: float = 0.5) -> None:
        self.leases, self.ttl, self.cancelled, self.poll = leases, ttl, cancelled, poll
        self.on_cancel = on_cancel
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="chat-keeper")

    def start(self) -> Keeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        renew_every = max(self.poll, self.ttl / 3)
        last_renew = time.monotonic()
        while not self._stop.wait(self.poll):
            with contextlib.suppress(Exception):  # a store hiccup must not kill the turn; the next poll retries
                lock = next((lease for lease in self.leases if lease.store is locks), None)
                if lock is not None:
                    record = lock.store.get(lock.namespace, lock.name)
                    if record is None or record.doc.get("cancel") or record.doc.get("owner") != lock.owner:
                        self.cancelled.set()
                        if self.on_cancel is not None:
                            self.on_cancel()
                        return
                if time.monotonic() - last_renew >= renew_every:
                    for lease in self.leases:
                        lease.renew(self.ttl)
                    last_renew = time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(timeout=5)
        for lease in self.leases:
            with contextlib.suppress(Exception):
                lease.release()
