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


def test_a_sole_writer_appends_in_one_call_each_after_the_number_it_knows():
    from tests.support.store_calls import store_calls

    first = streams.Writer("w")  # no number known: the first append reserves from the counter
    assert first.append({"n": 1}) == 1
    writer = streams.Writer("w", last=1)  # e.g. handed on by the lock's previous holder
    with store_calls() as calls:
        assert [writer.append({"n": n}) for n in (2, 3)] == [2, 3]
    assert calls == ["PutItem", "PutItem"]
    assert [(seq, r["n"]) for seq, r in streams.read("w")] == [(1, 1), (2, 2), (3, 3)]


def test_a_sole_writer_that_knows_no_number_reads_the_last_record_or_continues_the_counter():
    from tests.support.store_calls import store_calls

    with store_calls() as calls:
        assert streams.Writer("u").append({"n": 1}) == 1  # empty stream: its counter
    assert calls == ["Query", "UpdateItem", "PutItem"]
    streams.Writer("u", last=1).append({"n": 2})
    writer = streams.Writer("u")
    with store_calls() as calls:
        assert writer.append({"n": 3}) == 3
        assert writer.append({"n": 4}) == 4
    assert calls == ["Query", "PutItem", "PutItem"]


def test_a_stale_number_never_overwrites_and_falls_back_to_the_counter():
    streams.Writer("w", last=0).append({"n": 1})
    streams.Writer("w", last=1).append({"n": 2})
    stale = streams.Writer("w", last=0)  # believes the stream is empty
    assert stale.append({"n": 3}) == 3  # 1 is taken: the counter (behind at 0) is moved up past the records
    assert stale.append({"n": 4}) == 4
    assert [r["n"] for _, r in streams.read("w")] == [1, 2, 3, 4]  # nothing overwritten
    assert streams.append("w", {"n": 5}) == 5  # and the counter continues from there


def test_append_many_reserves_a_run_and_writes_it_in_one_batch():
    from tests.support.store_calls import store_calls

    assert streams.append("m", {"n": 0}) == 1
    with store_calls() as calls:
        assert streams.append_many("m", [{"n": n} for n in range(1, 31)]) == list(range(2, 32))
    assert calls == ["UpdateItem", "BatchWriteItem", "BatchWriteItem"]  # 25 records a batch
    assert streams.append_many("m", []) == []
    assert streams.append("m", {"n": 31}) == 32
    assert [r["n"] for _, r in streams.read("m", limit=100)] == list(range(32))


def test_a_deleted_stream_never_reuses_a_number_a_sole_writer_gave_out():
    writer = streams.Writer("d", last=0)
    for n in range(5):
        writer.append({"n": n})  # numbered 1..5 without the counter
    assert streams.delete("d") == 5
    assert streams.read("d") == []
    assert streams.append("d", {"n": "again"}) == 6


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


def test_items_of_two_tables_are_put_in_one_batch_and_a_record_can_be_deleted_again():
    from shared.store import ObjectStore
    from shared.store.batch import put_items
    from tests.support.store_calls import store_calls

    index = ObjectStore("index")
    with store_calls() as calls:
        put_items([index.new_item("ns", "a", {"n": 1}), streams.new_item("b", 7, {"n": 2})])
    assert calls == ["BatchWriteItem"]
    entry = index.get("ns", "a")
    assert (entry.version, entry.doc) == (1, {"n": 1})
    assert streams.read("b") == [(7, {"n": 2})]
    streams.delete_record("b", 7)
    assert streams.read("b") == []
