"""Maintained counters against moto: concurrent ADDs lose nothing; batch reads; delete."""

from __future__ import annotations

import threading

import pytest

from shared.store import counters
from shared.store.objects import get_together

pytestmark = pytest.mark.usefixtures("aws")


def test_concurrent_adds_are_all_counted():
    def work() -> None:
        for _ in range(10):
            counters.add("usage", "ns/t", {"in": 3, "out": 1})

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counters.read("usage", "ns/t") == {"in": 120, "out": 40}


USAGE = counters.CounterSet("usage", lambda namespace, name: f"{namespace}/{name}")


def test_counter_sets_read_together_across_batches_and_delete_forgets():
    names = [f"t{i}" for i in range(130)]  # more than one BatchGetItem
    for i, name in enumerate(names[:120]):
        counters.add("usage", f"ns/{name}", {"in": i + 1})
    found = get_together(*((USAGE, "ns", name) for name in [*names, names[0]]))
    assert found[0] == {"in": 1} and found[119] == {"in": 120} and found[130] == {"in": 1}
    assert found[120:130] == [None] * 10  # never counted
    counters.delete("usage", "ns/t0")
    assert counters.read("usage", "ns/t0") == {} and get_together((USAGE, "ns", "t0")) == [None]


def _record(name: str, counted: bool):
    from shared.store import Record

    return Record("task", "ns", name, 1, {"status": {"phase": "Running", **({"usage": {}} if counted else {})}})


def test_a_page_without_figures_reads_its_counters_in_one_batch():
    from shared.tasks.usage import add_usage, with_usage
    from tests.support.store_calls import store_calls

    add_usage("ns", "a", input_tokens=5, output_tokens=2)
    add_usage("ns", "a", input_tokens=1, output_tokens=1)
    records = [_record("a", True), _record("b", False), _record("c", True)]  # c: counting, no call yet
    views = [{"status": dict(r.doc["status"])} for r in records]
    with store_calls() as calls:
        got = with_usage(records, views)
    assert calls == ["BatchGetItem"]
    assert [v["status"].get("usage") for v in got] == [
        {"inputTokens": 6, "outputTokens": 3, "llmCalls": 2}, None,
        {"inputTokens": 0, "outputTokens": 0, "llmCalls": 0}]


def test_reading_a_pages_counters_gives_up_when_the_store_keeps_throttling(monkeypatch):
    """Throttled keys come back as UnprocessedKeys: asked again a bounded number of times, then 503."""
    from shared.store import objects
    from shared.store.clients import client
    from shared.store.outages import StoreUnavailable
    from shared.tasks.usage import add_usage, with_usage

    add_usage("ns", "a", input_tokens=5, output_tokens=2)
    monkeypatch.setattr(objects, "back_off", lambda attempt: None)  # the backoff is not what is tested
    calls: list[int] = []

    def throttle(parsed, model, **_):
        calls.append(1)
        assert len(calls) <= 20, "asked again without a limit"
        for table, items in parsed.get("Responses", {}).items():  # as DynamoDB when it throttles every key
            keys = [{"pk": item["pk"], "sk": item["sk"]} for item in items]
            parsed.setdefault("UnprocessedKeys", {}).setdefault(table, {"Keys": []})["Keys"].extend(keys)
            items.clear()

    events = client("dynamodb").meta.events
    events.register("after-call.dynamodb.BatchGetItem", throttle, unique_id="tests-throttle")
    try:
        with pytest.raises(StoreUnavailable):
            with_usage([_record("a", True)], [{"status": {}}])
    finally:
        events.unregister("after-call.dynamodb.BatchGetItem", unique_id="tests-throttle")
    assert len(calls) == objects.ATTEMPTS
