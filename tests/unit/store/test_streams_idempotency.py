"""Streams keep order under concurrency; idempotency claims admit one consumer."""

from __future__ import annotations

import threading

import pytest

from shared.store import idempotency, streams

pytestmark = pytest.mark.usefixtures("aws")


def test_append_assigns_increasing_sequences_and_read_resumes_after_one():
    seqs = [streams.append("s1", {"n": i}) for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert [r for _, r in streams.read("s1", after=3)] == [{"n": 3}, {"n": 4}]
    assert streams.read("other") == []


def test_concurrent_appends_never_share_a_sequence():
    def write(k):
        for i in range(5):
            streams.append("busy", {"k": k, "i": i})

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = streams.read("busy", limit=100)
    seqs = [s for s, _ in records]
    assert len(records) == 20 and seqs == sorted(set(seqs))  # every record kept, each under its own number
    assert sorted((r["k"], r["i"]) for _, r in records) == [(k, i) for k in range(4) for i in range(5)]


def test_claim_complete_and_release_cycle():
    assert idempotency.claim("src#1") is idempotency.Claim.CLAIMED
    assert idempotency.claim("src#1") is idempotency.Claim.IN_PROGRESS
    idempotency.complete("src#1")
    assert idempotency.claim("src#1") is idempotency.Claim.COMPLETED
    assert idempotency.claim("src#2") is idempotency.Claim.CLAIMED
    idempotency.release("src#2")
    assert idempotency.claim("src#2") is idempotency.Claim.CLAIMED


def test_a_dead_replicas_claim_can_be_taken_over_after_its_lease():
    assert idempotency.claim("src#3", lease_seconds=-1) is idempotency.Claim.CLAIMED
    assert idempotency.claim("src#3") is idempotency.Claim.CLAIMED


def test_only_one_of_many_concurrent_claims_wins():
    results = []
    threads = [threading.Thread(target=lambda: results.append(idempotency.claim("race#1"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(idempotency.Claim.CLAIMED) == 1
