"""Maintained counters: atomic ADDs on one item per counter set, read back with one GetItem.

A counter set lives in the objects table at pk = "counters#<set>", sk = "<scope>" (e.g. the job
statistics of one namespace), with one numeric attribute per counter. ADD is atomic, so concurrent
replicas never lose an increment, and reading the aggregate never needs a Scan.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from shared.store.clients import client
from shared.store.tables import table_name

_SAFE = re.compile(r"[^A-Za-z0-9_.:/@-]")


def _key(counter_set: str, scope: str) -> dict:
    return {"pk": {"S": f"counters#{counter_set}"}, "sk": {"S": scope}}


def add(counter_set: str, scope: str, deltas: dict[str, int]) -> None:
    """Atomically add each delta to its counter (created at 0 when new)."""
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return
    names, values, parts = {}, {}, []
    for i, (name, delta) in enumerate(sorted(deltas.items())):
        names[f"#c{i}"] = "c_" + _SAFE.sub("_", name)
        values[f":d{i}"] = {"N": str(delta)}
        parts.append(f"#c{i} :d{i}")
    client("dynamodb").update_item(TableName=table_name("objects"), Key=_key(counter_set, scope),
                                   UpdateExpression="ADD " + ", ".join(parts),
                                   ExpressionAttributeNames=names, ExpressionAttributeValues=values)


def _figures(item: dict) -> dict[str, int]:
    return {k[2:]: int(v["N"]) for k, v in item.items() if k.startswith("c_") and "N" in v}


def read(counter_set: str, scope: str) -> dict[str, int]:
    """Every counter of the set (names as given to `add`, after sanitising)."""
    item = client("dynamodb").get_item(TableName=table_name("objects"), Key=_key(counter_set, scope),
                                       ConsistentRead=True).get("Item") or {}
    return _figures(item)


@dataclass(frozen=True)
class CounterSet:
    """A counter set whose scope is named by (namespace, name), readable beside records in one round
    trip: `objects.get_together((tasks, ns, n), (CounterSet(...), ns, n))` gives its counters as a dict
    (None when never counted)."""

    counter_set: str
    scope: Callable[[str, str], str]

    def _key(self, namespace: str, name: str) -> dict:
        return _key(self.counter_set, self.scope(namespace, name))

    def _record(self, item: dict) -> dict[str, int]:
        return _figures(item)

    def get(self, namespace: str, name: str, *, consistent: bool = True) -> dict[str, int]:
        return read(self.counter_set, self.scope(namespace, name))


def delete(counter_set: str, scope: str) -> None:
    """Forget every counter of the set for this scope (its owner is gone)."""
    client("dynamodb").delete_item(TableName=table_name("objects"), Key=_key(counter_set, scope))
