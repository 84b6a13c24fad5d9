"""The objects repository against moto: conditional create, optimistic versions, cursor pages."""

from __future__ import annotations

import threading

import pytest

from shared.errors import Invalid, NotFound
from shared.store import AlreadyExists, ObjectStore, VersionConflict

pytestmark = pytest.mark.usefixtures("aws")


def test_create_then_duplicate_is_already_exists_409_and_keeps_the_first():
    store = ObjectStore("widget")
    store.create("ns", "a", {"v": 1})
    with pytest.raises(AlreadyExists) as exc:
        store.create("ns", "a", {"v": 2}, exists_message="widget already exists")
    assert exc.value.status == 409 and exc.value.message == "widget already exists"
    assert store.get("ns", "a").doc == {"v": 1}


def test_same_name_in_other_namespace_or_kind_is_independent():
    ObjectStore("widget").create("ns", "a", {"v": 1})
    ObjectStore("widget").create("other", "a", {"v": 2})
    ObjectStore("gadget").create("ns", "a", {"v": 3})
    assert ObjectStore("widget").get("other", "a").doc == {"v": 2}
    assert ObjectStore("gadget").get("ns", "a").doc == {"v": 3}


def test_replace_checks_the_version_and_increments_it():
    store = ObjectStore("widget")
    first = store.create("ns", "a", {"v": 1})
    second = store.replace("ns", "a", {"v": 2}, expected_version=first.version)
    assert second.version == 2
    with pytest.raises(VersionConflict):
        store.replace("ns", "a", {"v": 3}, expected_version=first.version)
    assert store.get("ns", "a").doc == {"v": 2}


def test_concurrent_updates_lose_nothing():
    store = ObjectStore("counter")
    store.create("ns", "c", {"n": 0})

    def bump():
        for _ in range(5):
            store.update("ns", "c", lambda doc: doc.update(n=doc["n"] + 1), attempts=50)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    record = store.get("ns", "c")
    assert record.doc["n"] == 20
    assert record.version == 21


def test_update_of_missing_record_is_not_found():
    with pytest.raises(NotFound):
        ObjectStore("widget").update("ns", "nope", lambda doc: None, not_found_message="widget not found")


def test_delete_reports_whether_it_existed_and_honours_the_version():
    store = ObjectStore("widget")
    record = store.create("ns", "a", {"v": 1})
    with pytest.raises(VersionConflict):
        store.delete("ns", "a", expected_version=record.version + 1)
    assert store.delete("ns", "a", expected_version=record.version) is True
    assert store.delete("ns", "a") is False
    assert store.get("ns", "a") is None


def test_list_pages_with_cursor_and_no_cursor_on_the_last_page():
    store = ObjectStore("widget")
    for i in range(7):
        store.create("ns", f"w{i}", {"i": i})
    store.create("elsewhere", "x", {})
    seen, cursor, pages = [], None, 0
    while True:
        records, cursor = store.list_page("ns", limit=3, cursor=cursor)
        seen += [r.name for r in records]
        pages += 1
        if cursor is None:
            break
    assert seen == [f"w{i}" for i in range(7)]
    assert pages == 3
    everything, cursor = store.list_page("ns", limit=None)
    assert len(everything) == 7 and cursor is None


def test_exact_multiple_page_gives_no_empty_trailing_page():
    store = ObjectStore("widget")
    for i in range(4):
        store.create("ns", f"w{i}", {})
    records, cursor = store.list_page("ns", limit=2)
    records, cursor = store.list_page("ns", limit=2, cursor=cursor)
    assert [r.name for r in records] == ["w2", "w3"] and cursor is None


def test_cursor_of_another_list_or_garbage_is_invalid():
    a, b = ObjectStore("widget"), ObjectStore("gadget")
    for i in range(3):
        a.create("ns", f"w{i}", {})
    _, cursor = a.list_page("ns", limit=1)
    with pytest.raises(Invalid):
        b.list_page("ns", limit=1, cursor=cursor)
    with pytest.raises(Invalid):
        a.list_page("other", limit=1, cursor=cursor)
    with pytest.raises(Invalid):
        a.list_page("ns", limit=1, cursor="%%%")


def test_documents_over_the_item_limit_live_in_the_bucket():
    from shared.store.clients import client
    from shared.store.tables import bucket_name, table_name

    store = ObjectStore("big")
    doc = {"text": "x" * 150_000}
    store.create("ns", "b", doc)
    item = client("dynamodb").get_item(TableName=table_name("objects"),
                                       Key={"pk": {"S": "big#ns"}, "sk": {"S": "b"}})["Item"]
    assert "doc" not in item and item["blob"]["S"] == "objects/big/ns/b/v1.json"
    assert store.get("ns", "b").doc == doc
    store.replace("ns", "b", {"text": "small"}, expected_version=1)
    assert store.get("ns", "b").doc == {"text": "small"}
    keys = [o["Key"] for o in client("s3").list_objects_v2(Bucket=bucket_name()).get("Contents", [])]
    assert keys == []  # the old blob went with its version


def test_expired_records_are_invisible_and_their_key_reusable(monkeypatch):
    import shared.store.objects as objects

    store = ObjectStore("lease")
    store.create("ns", "l", {"v": 1}, expiry=1_000)
    monkeypatch.setattr(objects, "_now", lambda: 2_000)
    assert store.get("ns", "l") is None
    assert store.list_page("ns", limit=10)[0] == []
    store.create("ns", "l", {"v": 2})
    assert store.get("ns", "l").doc == {"v": 2}


def test_companions_are_written_in_the_same_transaction_and_blobs_still_follow_versions():
    from shared.store import Companion
    from shared.store.clients import client
    from shared.store.tables import bucket_name

    store, notes = ObjectStore("big"), ObjectStore("note")
    store.create("ns", "b", {"text": "x" * 150_000}, companions=(Companion(notes, "ns", "n1", {"n": 1}),))
    assert notes.get("ns", "n1").doc == {"n": 1}
    updated = store.update("ns", "b", lambda doc: doc.update(text="y" * 150_000),
                           companions=lambda doc: (Companion(notes, "ns", "n2", {"n": 2}, expiry=4_000_000_000),))
    assert updated.companions[0].name == "n2" and notes.get("ns", "n2").expiry == 4_000_000_000
    keys = [o["Key"] for o in client("s3").list_objects_v2(Bucket=bucket_name()).get("Contents", [])]
    assert keys == ["objects/big/ns/b/v2.json"]  # the replaced version's blob went with it
    with pytest.raises(VersionConflict):  # the write's condition fails: no companion either
        store.replace("ns", "b", {"text": "z"}, expected_version=1, companions=(Companion(notes, "ns", "n3", {}),))
    assert notes.get("ns", "n3") is None
    with pytest.raises(Exception) as caught:  # a companion's key is taken: nothing is written
        store.replace("ns", "b", {"text": "z"}, expected_version=2, companions=(Companion(notes, "ns", "n1", {}),))
    assert not isinstance(caught.value, VersionConflict) and store.get("ns", "b").version == 2


def test_an_update_keeps_the_records_expiry_unless_told_otherwise():
    """A lease flagged for cancellation, or a parked event counted once more, must still expire."""
    store = ObjectStore("lease")
    store.create("ns", "l", {"v": 1}, expiry=4_000_000_000)
    assert store.get("ns", "l").expiry == 4_000_000_000
    updated = store.update("ns", "l", lambda doc: doc.update(v=2))
    assert (updated.expiry, store.get("ns", "l").expiry, store.get("ns", "l").doc) == (
        4_000_000_000, 4_000_000_000, {"v": 2})
    store.update("ns", "l", lambda doc: doc.update(v=3), expiry=lambda doc: 4_100_000_000 + doc["v"])
    assert store.get("ns", "l").expiry == 4_100_000_003
    store.update("ns", "l", lambda doc: doc.update(v=4), expiry=lambda doc: None)
    assert store.get("ns", "l").expiry is None


def test_the_emulator_applies_conditional_writes_atomically(monkeypatch):
    """moto checks a condition and then writes without a lock; the tests and the local platform make
    its writes atomic (shared/local/moto_atomic.py). With the check slowed down so two writers are
    both inside it, exactly one optimistic replace of version 1 may win."""
    import threading
    import time

    import moto.dynamodb.models.table as table_module

    from shared.store import ObjectStore, VersionConflict

    store = ObjectStore("race")
    store.create("ns", "a", {"n": 0})
    original = table_module.get_filter_expression

    def slow(*args, **kwargs):
        op = original(*args, **kwargs)
        check = op.expr

        def expr(item):
            time.sleep(0.05)
            return check(item)

        op.expr = expr
        return op

    monkeypatch.setattr(table_module, "get_filter_expression", slow)
    outcomes: list[str] = []

    def writer(n: int) -> None:
        try:
            store.replace("ns", "a", {"n": n}, expected_version=1)
            outcomes.append("won")
        except VersionConflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost", "won"]
    assert store.get("ns", "a").version == 2


def test_the_emulator_never_shows_a_read_half_a_transaction(monkeypatch):
    """moto applies a TransactWriteItems one item after the other; DynamoDB never lets a read see the
    first item without the second. Held between its two puts, the write must keep a reader out until
    both are in (a monitor's claim read without its companion run let a second run in)."""
    import moto.dynamodb.models.table as table_module

    from shared.store import Companion

    claims, runs = ObjectStore("claim"), ObjectStore("claimrun")
    between, read = threading.Event(), threading.Event()
    original = table_module.Table.put_item

    def put_item(self, item_attrs, *args, **kwargs):
        if item_attrs["pk"]["S"].startswith("claimrun#"):
            between.set()
            read.wait(timeout=0.5)  # the reader's chance to look; with the lock it waits for us instead
        return original(self, item_attrs, *args, **kwargs)

    monkeypatch.setattr(table_module.Table, "put_item", put_item)
    writer = threading.Thread(target=claims.create, args=("ns", "a", {"run": "r"}),
                              kwargs={"companions": (Companion(runs, "ns", "r", {"phase": "queued"}),)})
    writer.start()
    assert between.wait(timeout=30)
    seen = (claims.get("ns", "a") is not None, runs.get("ns", "r") is not None)
    read.set()
    writer.join()
    assert seen == (True, True)


def test_get_together_reads_records_of_several_kinds_in_order_with_missing_as_none(monkeypatch):
    from shared.store import objects

    widgets, gadgets = ObjectStore("widget"), ObjectStore("gadget")
    widgets.create("ns", "a", {"v": 1})
    gadgets.create("ns", "a", {"big": "x" * 2048})
    monkeypatch.setattr(objects.get_settings(), "max_item_bytes", 1024, raising=False)
    assert gadgets.create("ns", "b", {"big": "y" * 2048}).blob  # a large document lives in the bucket
    calls = []
    real = objects.client

    def counting(service):
        raw = real(service)
        calls.append(service)
        return raw

    monkeypatch.setattr(objects, "client", counting)
    got = objects.get_together((gadgets, "ns", "b"), (widgets, "ns", "a"), (widgets, "ns", "zz"),
                               (gadgets, "ns", "a"), (widgets, "ns", "a"))
    assert [r.doc if r else None for r in got] == [{"big": "y" * 2048}, {"v": 1}, None, {"big": "x" * 2048},
                                                   {"v": 1}]
    assert [(r.kind, r.name) for r in got if r] == [("gadget", "b"), ("widget", "a"), ("gadget", "a"),
                                                      ("widget", "a")]
    assert calls == ["dynamodb"]  # one round trip for all of them


def test_update_with_the_record_just_read_skips_the_read_and_leaves_the_callers_copy_alone():
    from tests.support.store_calls import store_calls

    store = ObjectStore("widget")
    read = store.create("ns", "a", {"v": 1, "tags": []})
    with store_calls() as calls:
        updated = store.update("ns", "a", lambda doc: doc["tags"].append("x"), current=read)
    assert calls == ["PutItem"]
    assert updated.version == 2 and updated.doc == {"v": 1, "tags": ["x"]}
    assert read.doc == {"v": 1, "tags": []}  # mutate worked on a copy
    assert store.get("ns", "a").doc == {"v": 1, "tags": ["x"]}


def test_update_with_a_stale_record_reads_again_and_applies_to_the_stored_version():
    from tests.support.store_calls import store_calls

    store = ObjectStore("widget")
    stale = store.create("ns", "a", {"n": 1})
    store.replace("ns", "a", {"n": 10}, expected_version=1)  # another writer, after `stale` was read
    with store_calls() as calls:
        updated = store.update("ns", "a", lambda doc: doc.update(n=doc["n"] + 1), current=stale)
    assert calls == ["PutItem", "GetItem", "PutItem"]  # the conflict, the fresh read, the write
    assert updated.version == 3 and store.get("ns", "a").doc == {"n": 11}


# -- a record's sequence (a task's feed numbers) ------------------------------------------------------
def test_a_sequence_starts_with_the_create_and_a_claiming_update_takes_the_next_number():
    store = ObjectStore("widget")
    created = store.create("ns", "a", {"v": 1}, seq=1)
    assert (created.seq, created.claimed_seq) == (1, 1)
    quiet = store.update("ns", "a", lambda doc: doc.update(v=2))
    assert (quiet.seq, quiet.claimed_seq) == (1, None)  # kept, nothing taken
    moved = store.update("ns", "a", lambda doc: doc.update(v=3), claim_seq=True)
    assert (moved.seq, moved.claimed_seq, moved.version) == (2, 2, 3)
    assert store.next_seq("ns", "a") == 3
    read = store.get("ns", "a")
    assert (read.seq, read.claimed_seq, read.version, read.doc) == (3, None, 3, {"v": 3})  # ADD keeps the version


def test_a_number_taken_meanwhile_makes_the_write_read_again_and_take_the_one_after():
    from tests.support.store_calls import store_calls

    store = ObjectStore("widget")
    store.create("ns", "a", {"v": 1}, seq=1)
    stale = store.get("ns", "a")
    assert store.next_seq("ns", "a") == 2  # e.g. a worker's progress event
    with store_calls() as calls:
        moved = store.update("ns", "a", lambda doc: doc.update(v=2), current=stale, claim_seq=True)
    assert calls == ["PutItem", "GetItem", "PutItem"]  # refused on the number, not only the version
    assert (moved.seq, moved.claimed_seq) == (3, 3)
    with pytest.raises(VersionConflict):  # the same holds for a bare replace
        store.replace("ns", "a", {"v": 9}, expected_version=moved.version, seq=(2, 3))
    assert store.get("ns", "a").doc == {"v": 2}


def test_a_record_without_a_sequence_gets_none_and_keeps_none():
    store = ObjectStore("widget")
    store.create("ns", "a", {"v": 1})
    assert store.next_seq("ns", "a") is None and store.next_seq("ns", "gone") is None
    moved = store.update("ns", "a", lambda doc: doc.update(v=2), claim_seq=True)
    assert (moved.seq, moved.claimed_seq) == (None, None)
    assert store.get("ns", "a").seq is None and store.get("ns", "gone") is None  # nor was "gone" created
