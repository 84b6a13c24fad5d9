"""Maintained counters against moto: concurrent ADDs lose nothing; batch reads; delete."""

from __future__ import annotations

import threading

import pytest

from shared.store import counters

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


def test_read_many_answers_the_counted_scopes_across_batches_and_delete_forgets():
    scopes = [f"ns/t{i}" for i in range(130)]  # more than one BatchGetItem
    for i, scope in enumerate(scopes[:120]):
        counters.add("usage", scope, {"in": i + 1})
    found = counters.read_many("usage", [*scopes, scopes[0]])
    assert len(found) == 120 and found["ns/t0"] == {"in": 1} and found["ns/t119"] == {"in": 120}
    assert "ns/t125" not in found
    counters.delete("usage", "ns/t0")
    assert counters.read("usage", "ns/t0") == {} and "ns/t0" not in counters.read_many("usage", ["ns/t0"])
