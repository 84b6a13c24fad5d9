"""The sparse `by-order` index: newest-first pages with a filter, O(page) reads, exact cursors."""

from __future__ import annotations

import pytest

from shared.errors import Invalid
from shared.store import ObjectStore

pytestmark = pytest.mark.usefixtures("aws")


def _store() -> ObjectStore:
    return ObjectStore("thing", order=lambda doc: f"{doc['at']}#{doc['id']}")


def test_pages_newest_first_and_the_last_page_has_no_cursor():
    store = _store()
    for i in range(7):
        store.create("ns", f"t{i}", {"id": f"t{i}", "at": f"2026-01-0{i + 1}"})
    first, cursor = store.list_ordered("ns", limit=3)
    assert [r.name for r in first] == ["t6", "t5", "t4"]
    second, cursor = store.list_ordered("ns", limit=3, cursor=cursor)
    assert [r.name for r in second] == ["t3", "t2", "t1"]
    third, cursor = store.list_ordered("ns", limit=3, cursor=cursor)
    assert [r.name for r in third] == ["t0"] and cursor is None


def test_exact_fit_has_no_cursor_and_filters_apply_before_paging():
    store = _store()
    for i in range(6):
        store.create("ns", f"t{i}", {"id": f"t{i}", "at": f"2026-01-0{i + 1}", "even": i % 2 == 0})
    page, cursor = store.list_ordered("ns", limit=3, accept=lambda d: d["even"])
    assert [r.name for r in page] == ["t4", "t2", "t0"] and cursor is None
    page, cursor = store.list_ordered("ns", limit=2, accept=lambda d: d["even"])
    assert [r.name for r in page] == ["t4", "t2"]
    page, cursor = store.list_ordered("ns", limit=2, accept=lambda d: d["even"], cursor=cursor)
    assert [r.name for r in page] == ["t0"] and cursor is None


def test_updates_move_a_record_and_other_kinds_stay_out():
    store = _store()
    store.create("ns", "a", {"id": "a", "at": "1"})
    store.create("ns", "b", {"id": "b", "at": "2"})
    ObjectStore("thing2").create("ns", "z", {"id": "z", "at": "9"})
    store.update("ns", "a", lambda d: d.update(at="3"))
    assert [r.name for r in store.list_ordered("ns", limit=10)[0]] == ["a", "b"]
    assert [r.name for r in store.list_ordered("other", limit=10)[0]] == []


def test_a_cursor_of_another_list_is_refused():
    store = _store()
    for i in range(3):
        store.create("ns", f"t{i}", {"id": f"t{i}", "at": str(i)})
    _, cursor = store.list_ordered("ns", limit=1)
    with pytest.raises(Invalid):
        store.list_ordered("other", limit=1, cursor=cursor)


def test_filtered_pages_across_big_query_pages_lose_and_repeat_nothing():
    store = _store()
    for i in range(150):
        store.create("ns", f"t{i:03}", {"id": f"t{i:03}", "at": f"{i:03}", "keep": i % 3 == 0})
    seen, cursor = [], None
    while True:
        page, cursor = store.list_ordered("ns", limit=7, cursor=cursor, accept=lambda d: d["keep"])
        seen += [r.name for r in page]
        if cursor is None:
            break
    assert seen == [f"t{i:03}" for i in range(149, -1, -1) if i % 3 == 0]


def test_an_objects_table_from_before_the_index_gets_it_on_bootstrap():
    """Upgrading over existing state: ensure_state adds the GSI an older objects table lacks, and the
    records written before it become listable newest-first."""
    from dataclasses import replace

    from shared.store.bootstrap import ensure_state
    from shared.store.clients import client
    from shared.store.tables import TABLES, create_table_request, table_name

    ddb = client("dynamodb")
    name = table_name("objects")
    ddb.delete_table(TableName=name)
    [objects] = [t for t in TABLES if t.key == "objects"]
    ddb.create_table(**create_table_request(replace(objects, indexes=(), extra_attributes=())))  # the old shape
    store = _store()
    store.create("ns", "old", {"id": "old", "at": "2026-01-01"})
    ensure_state()
    indexes = ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
    assert [i["IndexName"] for i in indexes] == ["by-order"]
    store.create("ns", "new", {"id": "new", "at": "2026-01-02"})
    assert [r.name for r in store.list_ordered("ns", limit=10)[0]] == ["new", "old"]
    ensure_state()  # idempotent: nothing more to add
    assert len(ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]) == 1
