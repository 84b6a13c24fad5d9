"""moto's Query reads only the partition it asks for, as DynamoDB does.

moto 5 answers every Query by sorting *all* items of the table (`Table.all_items`) and then filtering
them, so a page of 50 tasks costs O(table · log table): 600 ms once the store holds 10 000 tasks,
against a few milliseconds on DynamoDB. That made `make run`'s embedded store (and every test) slow
exactly where the design is O(page). Here a Query sees only its partition: the main table's items
under the hash key (moto keeps them in a dict by hash key), or a GSI's items with the queried hash
values (read from the table's partition when the index shares the table's hash key, as `by-order`
does: a GSI Query after a write is then O(partition), not O(table)), cached per table until the next
write. moto's own query code still does the rest (sort within the partition, key conditions, filters,
paging, limits), so results and cursors are unchanged; only the candidates it starts from are fewer.

The cache is invalidated by a generation counter that every DynamoDB write bumps after it applied
(shared.local.moto_atomic wraps the writes); a read racing a write rebuilds on its next call.
"""

from __future__ import annotations

import bisect
import functools
import inspect
import threading
import weakref
from typing import Any

_generation = 0
_cache: weakref.WeakKeyDictionary[Any, dict[Any, tuple[int, list[Any]]]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def bump() -> None:
    """A write was applied: every cached partition may be stale."""
    global _generation
    _generation += 1


class _Partition:
    """The table as its Query sees it: everything of the table, except that `all_items` is one partition."""

    def __init__(self, table: Any, items: list[Any]) -> None:
        self._table = table
        self._items = items

    def all_items(self) -> list[Any]:
        return self._items

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def _partition(table: Any, index_name: str | None, hash_key: Any,
               hash_key_conditions: list[tuple[str, Any]] | None) -> list[Any] | None:
    """The items a Query can return, in moto's all_items order; None: let moto scan (a case not covered)."""
    if index_name is None:
        if hash_key is None:
            return None
        key: Any = ("table", hash_key)
    elif hash_key_conditions:
        key = ("index", index_name, tuple(hash_key_conditions))
    else:
        return None
    try:
        hash(key)
    except TypeError:  # a hash value of a type DynamoDB keys never have (map, list): moto's own way
        return None
    generation = _generation
    with _cache_lock:
        cached = _cache.setdefault(table, {}).get(key)
    if cached is not None and cached[0] == generation:
        return cached[1]
    if index_name is None:
        found = table.items.get(hash_key)  # .get: never creates a partition in moto's defaultdict
        if found is None:
            items: list[Any] = []
        elif table.range_key_attr:
            items = sorted(found.values(), key=lambda item: item.range_key)
        else:
            items = [found]
    else:
        wanted = dict(hash_key_conditions or [])
        items = [item for item in _index_candidates(table, index_name, wanted)
                 if all(item.attrs.get(name) is not None and item.attrs[name] == value
                        for name, value in wanted.items())]
        items.sort(key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
    with _cache_lock:
        _cache.setdefault(table, {})[key] = (generation, items)
    return items


def _index_candidates(table: Any, index_name: str, wanted: dict[str, Any]) -> list[Any]:
    """The items that can be in a GSI's partition: when the index's hash key is the table's (Shoal's
    `by-order`), only the table's partition of that value; else every item of the table, as moto reads
    them (O(table) each time a write made the cache stale)."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    hashes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"] if index else []
    if hashes == [table.hash_key_attr] and table.hash_key_attr in wanted:
        found = table.items.get(wanted[table.hash_key_attr])  # .get: never creates a partition
        if found is None:
            return []
        return list(found.values()) if table.range_key_attr else [found]
    return [item for partition in list(table.items.values())
            for item in (partition.values() if table.range_key_attr else [partition])]


def _window(table: Any, items: list[Any], call: dict[str, Any]) -> list[Any]:
    """Of a main-table partition (sorted by range key), the items a plain page can reach: those after
    ExclusiveStartKey in the query's direction, `limit` of them plus one (moto sets LastEvaluatedKey
    when it meets an item beyond the limit). Only without a sort-key condition or legacy filters, which
    could skip items and need more; a FilterExpression applies after the limit, as in DynamoDB."""
    limit, start, forward = call.get("limit"), call.get("exclusive_start_key"), call.get("scan_index_forward", True)
    if call.get("range_comparison") or call.get("filter_kwargs") or not isinstance(limit, int) or limit <= 0:
        return items
    if start and table.range_key_attr in start:
        from moto.dynamodb.models.dynamo_type import DynamoType

        at = DynamoType(start[table.range_key_attr])
        cut = bisect.bisect_right(items, at, key=lambda item: item.range_key) if forward else \
            bisect.bisect_left(items, at, key=lambda item: item.range_key)
        items = items[cut:] if forward else items[:cut]
    return items[:limit + 1] if forward else items[-(limit + 1):]


def read_partitions_only() -> None:
    """Patch moto's Table.query (idempotent)."""
    from moto.dynamodb.models.table import Table

    original = Table.query
    if getattr(original, "_partitioned", False):
        return
    signature = inspect.signature(original)

    @functools.wraps(original)
    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = signature.bind(self, *args, **kwargs).arguments
        items = _partition(self, call.get("index_name"), call.get("hash_key"), call.get("hash_key_conditions"))
        if items is None:
            return original(self, *args, **kwargs)
        if call.get("index_name") is None and self.range_key_attr:
            items = _window(self, items, call)
        return original(_Partition(self, items), *args, **kwargs)

    query._partitioned = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
