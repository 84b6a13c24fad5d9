"""Leases: conditional slots, expiry, renewal that keeps a cancel flag, release only by the owner."""

from __future__ import annotations

import threading
import time

from shared.chat import leases


def test_slots_are_exclusive_and_come_back_on_release(aws):
    held = [leases.acquire_slot(3, 60, {}) for _ in range(3)]
    assert all(held) and len({lease.name for lease in held}) == 3
    assert leases.acquire_slot(3, 60, {}) is None
    held[0].release()
    assert leases.acquire_slot(3, 60, {}) is not None


def test_an_expired_slot_is_taken_over_and_its_old_owner_cannot_release_it(aws):
    old = leases.acquire_slot(1, -1, {})  # already expired: its replica died
    new = leases.acquire_slot(1, 60, {})
    assert new is not None and new.name == old.name
    old.release()  # not the owner any more: nothing happens
    assert leases.slots.get(leases.SLOT_NAMESPACE, new.name).doc["owner"] == new.owner


def test_renewal_keeps_a_cancel_request_and_the_keeper_reports_it(aws):
    lock = leases.acquire_lock("default", "s1", 60, {})
    assert leases.acquire_lock("default", "s1", 60, {}) is None
    assert leases.request_cancel("default", "s1") is True
    assert lock.renew(60) is not None
    assert leases.active_lock("default", "s1").doc["cancel"] is True
    cancelled, called = threading.Event(), []
    keeper = leases.Keeper([lock], ttl=60, cancelled=cancelled, on_cancel=lambda: called.append(1), poll=0.05).start()
    assert cancelled.wait(2) and called == [1]
    keeper.stop()
    assert leases.active_lock("default", "s1") is None
    assert leases.request_cancel("default", "s1") is False


def test_the_keeper_renews_before_expiry(aws):
    lock = leases.acquire_lock("default", "s2", 1, {})
    keeper = leases.Keeper([lock], ttl=1, cancelled=threading.Event(), poll=0.1).start()
    time.sleep(2.5)
    assert leases.active_lock("default", "s2") is not None  # still held after more than one lease period
    keeper.stop()
