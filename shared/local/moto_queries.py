"""moto's Query reads only the partition it asks for, as DynamoDB does.

moto 5 answers every Query by sorting *all* items of the table (`Table.all_items`) and then filtering
them, so a page of 50 tasks costs O(table · log table): 600 ms once the store holds 10 000 tasks,
against a few milliseconds on DynamoDB. That made `make run`'s embedded store (and every test) slow
exactly where the design is O(page). Here a Query sees only its partition: the main table's items
under the hash key (moto keeps them in a dict by hash key), or a GSI's items with the queried hash
values (read from the table's partition when the index shares the table's hash key, as `by-order`
does: a GSI Query after a write is then O(partition), not O(table)), cached per table until the next
write; of a partition kept in moto's order (the main table's, and such a GSI's), a plain page gets only
the items from its ExclusiveStartKey to one past its Limit. moto's own query code still does the rest
(sort, key conditions, filters, paging, limits), so results and cursors are unchanged; only the
candidates it starts from are fewer.

A write invalidates only what it can have changed (shared.local.moto_atomic calls `written` after each
DynamoDB write, applied or failed): the table's partition of each item it names, which is also that
item's partition of an index sharing the table's hash key (an item never changes hash key); an index
with another hash key is read whole (above), so any write to the table invalidates it (an update can
move an item between its partitions). A write whose items cannot be told, and a table created, changed
or deleted, invalidate everything (`bump`). Each invalidation takes the next tick of one clock and
marks what it touched; a cached partition is used only if nothing it depends on was marked after the
tick read before it was built, so a read racing a write rebuilds on its next call (moto_atomic's lock
serialises them anyway). So a write to one partition no longer re-sorts every other one on its next
Query (~25 ms at 10 000 items: docs/performance.md).

Nor its own: a sorted partition that was current up to a write is updated in place by it (`_Cached.apply`:
each written item's old position, remembered by its range key, is removed and its stored state, read back
from the table, inserted by bisection), where re-sorting it cost 0.3–0.5 s at 100 000 items. Only where
that is exactly the order moto's sort gives: the table has a range key (so no two items tie), the sort
keys compare (one type), nothing else was written since the partition was built. Anything else leaves it
to be rebuilt as before.
"""

from __future__ import annotations

import bisect
import functools
import inspect
import threading
import weakref
from collections.abc import Iterable
from typing import Any

MARKED_PARTITIONS = 4096  # marks kept per table; past that the table's cache starts over (bounded memory)
_ANY = ("any",)  # a table's mark: some item of it was written (what an index read whole depends on)
_ALL = ("all",)  # a table's mark: everything of it is stale
_clock = 0  # the tick of the latest invalidation
_everything = 0  # the tick of the latest invalidation of every table (`bump`)
_marks: weakref.WeakKeyDictionary[Any, dict[Any, int]] = weakref.WeakKeyDictionary()
_cache: weakref.WeakKeyDictionary[Any, dict[Any, _Cached]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def bump() -> None:
    """Every cached partition may be stale (a write whose items are unknown, a table's schema changed)."""
    global _clock, _everything
    with _cache_lock:
        _clock += 1
        _everything = _clock


def touched(table: Any, hash_values: list[Any]) -> None:
    """Items of `table` with these hash key values (DynamoType) were written, or may have been."""
    with _cache_lock:
        _mark(table, hash_values)


def _mark(table: Any, hash_values: Iterable[Any]) -> None:
    """`touched`, under _cache_lock."""
    global _clock
    _clock += 1
    marks = _marks.setdefault(table, {})
    if len(marks) > MARKED_PARTITIONS:
        marks.clear()
        marks[_ALL] = _clock
    for value in hash_values:
        marks["p", value] = _clock  # tuples: never compared with a sentinel by DynamoType.__eq__
    marks[_ANY] = _clock


def written(backend: Any, operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """DynamoDBBackend.<operation>(*args, **kwargs) ran (applied or not): the sorted partitions current up
    to it take its items' stored state in place; everything else it may have changed is invalidated
    (everything when its items cannot be told). Called under moto_atomic's lock, as every Query runs."""
    try:
        found = _written_items(backend, operation, _signature(operation).bind(backend, *args, **kwargs).arguments)
    except Exception:  # an unknown table, a malformed key, another moto: the safe choice
        bump()
        return
    for table, keys in found.items():
        _written_to(table, keys)


def _written_to(table: Any, keys: list[tuple[Any, Any]]) -> None:
    """Items of `table` with these (hash, range) keys (DynamoType; range None without a range key) were
    written, or may have been."""
    with _cache_lock:
        partitions = {("p", hash_value) for hash_value, _ in keys}
        current = [(key, cached) for key, cached in _cache.get(table, {}).items()
                   if cached.where is not None and cached.depends in partitions
                   and _fresh(table, cached.fresh, cached.depends)]
        _mark(table, [hash_value for hash_value, _ in keys])
        for key, cached in current:
            ranges = [range_value for hash_value, range_value in keys if ("p", hash_value) == cached.depends]
            if cached.apply(table, cached.depends[1], ranges):
                cached.fresh = _clock
            else:  # half applied, or not in moto's order: built again by the next Query
                del _cache[table][key]


@functools.cache
def _signature(operation: str) -> inspect.Signature:
    from moto.dynamodb.models import DynamoDBBackend

    return inspect.signature(getattr(DynamoDBBackend, operation))  # follows moto_atomic's functools.wraps


def _written_items(backend: Any, operation: str, call: dict[str, Any]) -> dict[Any, list[tuple[Any, Any]]]:
    """The (hash, range) keys (DynamoType; range None without a range key) each table's written items
    have: a KeyError or ValueError for an operation or a shape not known here."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    found: dict[Any, list[tuple[Any, Any]]] = {}

    def item(table_name: str, key: dict[str, Any]) -> None:
        table = backend.get_table(table_name)
        found.setdefault(table, []).append((DynamoType(key[table.hash_key_attr]),
                                            DynamoType(key[table.range_key_attr]) if table.range_key_attr else None))

    if operation == "put_item":
        item(call["table_name"], call["item_attrs"])
    elif operation in ("update_item", "delete_item"):
        item(call["table_name"], call["key"])
    elif operation == "transact_write_items":  # also what a rollback restored: only these items
        for entry in call["transact_items"]:
            ((op_type, op),) = entry.items()
            item(op["TableName"], op["Item"] if op_type == "Put" else op["Key"])
    elif operation == "batch_write_item":
        for table_name, requests in call.get("table_map", {}).items():  # moto 5's takes none: writes nothing
            for request in requests:
                ((kind, body),) = request.items()
                item(table_name, body["Item"] if kind == "PutRequest" else body["Key"])
    else:
        raise KeyError(operation)
    return found


def _fresh(table: Any, stamp: int, depends: Any) -> bool:
    """Whether a partition built after tick `stamp`, from the items under `depends` (("p", hash key
    value), or _ANY: the whole table), is still current (under _cache_lock)."""
    marks = _marks.get(table, {})
    return _everything <= stamp and marks.get(_ALL, 0) <= stamp and marks.get(depends, 0) <= stamp


class _Partition:
    """The table as its Query sees it: everything of the table, except that `all_items` is one partition."""

    def __init__(self, table: Any, items: list[Any]) -> None:
        self._table = table
        self._items = items

    def all_items(self) -> list[Any]:
        return self._items

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


class _Cached:
    """A cached partition: the items a Query of it starts from, in `order` (when not empty) with their sort
    keys (`keys`: the cast values of `order`'s attributes); `where`: each item's sort key by its range key,
    when the partition can be updated in place (sorted, and `order` ends with the table's range key, so
    no two items tie), else None; `wanted`: an index's sort key, which an item must carry to be listed;
    `fresh`: the tick up to which it is current; `built`: the tick it was built at."""

    __slots__ = ("built", "depends", "fresh", "items", "keys", "order", "wanted", "where")

    def __init__(self, stamp: int, depends: Any, items: list[Any], order: list[str], keys: list[tuple] | None = None,
                 *, range_attr: str | None = None, wanted: str | None = None) -> None:
        self.fresh = self.built = stamp
        self.depends, self.items, self.order, self.keys, self.wanted = depends, items, order, keys, wanted
        self.where: dict[Any, tuple] | None = None
        if keys is not None and range_attr and order and order[-1] == range_attr:
            self.where = {item.attrs[range_attr]: key for item, key in zip(items, keys, strict=True)}
            if len(self.where) != len(items):  # two items under one range key: never placed one by one
                self.where = None

    def apply(self, table: Any, hash_value: Any, ranges: list[Any]) -> bool:
        """Take the stored state of the items under (`hash_value`, each of `ranges`) into the partition:
        remove each one's old place, insert it where it sorts now (if it is still there and, for an index,
        carries the index's sort key). False when that cannot be done exactly (it may be half done)."""
        assert self.where is not None and self.keys is not None
        stored = table.items.get(hash_value)  # .get: never creates a partition
        try:
            for range_value in ranges:
                old = self.where.pop(range_value, None)
                if old is not None:
                    at = bisect.bisect_left(self.keys, old)
                    if at == len(self.keys) or self.keys[at] != old:
                        return False
                    del self.keys[at], self.items[at]
                item = stored.get(range_value) if stored is not None else None
                if item is None or (self.wanted is not None and not _carries(item, self.wanted)):
                    continue
                key = _key(item, self.order)
                at = bisect.bisect_left(self.keys, key)
                if at < len(self.keys) and self.keys[at] == key:
                    return False
                self.keys.insert(at, key)
                self.items.insert(at, item)
                self.where[range_value] = key
        except (TypeError, KeyError, AttributeError):  # sort keys that do not compare, or not there
            return False
        return True


def _partition(table: Any, index_name: str | None, hash_key: Any,
               hash_key_conditions: list[tuple[str, Any]] | None) -> _Cached | None:
    """The items a Query can return and the attributes they are sorted by within the partition (as moto
    orders them; empty: not in an order a page can be cut from); None: let moto scan (a case not covered)."""
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
    with _cache_lock:
        stamp = _clock  # read before the items: a write from now on marks a later tick
        cached = _cache.setdefault(table, {}).get(key)
        if cached is not None and _fresh(table, cached.fresh, cached.depends):
            return cached
    if index_name is None:
        found = table.items.get(hash_key)  # .get: never creates a partition in moto's defaultdict
        if table.range_key_attr:
            order = [table.hash_key_attr, table.range_key_attr]  # the hash key places a start key of another
            items, keys = _sorted(found.values() if found is not None else [], order)  # partition as moto does
            built = _Cached(stamp, ("p", hash_key), items, order, keys, range_attr=table.range_key_attr)
        else:
            built = _Cached(stamp, ("p", hash_key), [found] if found is not None else [], [])
    else:
        wanted = dict(hash_key_conditions or [])
        built = _index_partition(table, index_name, wanted, stamp)
        if not built.order:
            built.items = [item for item in built.items if all(
                item.attrs.get(name) is not None and item.attrs[name] == value for name, value in wanted.items())]
            built.items.sort(key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
    with _cache_lock:
        _cache.setdefault(table, {})[key] = built
    return built


def _key(item: Any, order: list[str]) -> tuple:
    return tuple(item.attrs[name].cast_value for name in order)


def _sorted(items: Any, order: list[str]) -> tuple[list[Any], list[tuple]]:
    """Items by the cast values of `order`'s attributes (moto's DynamoType order, which compares cast
    values), each key computed once rather than per comparison; and those keys. TypeError for keys of
    mixed types, which moto's own sort refuses too."""
    keyed = sorted(((_key(item, order), item) for item in items), key=lambda pair: pair[0])  # stable, as moto's
    return [item for _, item in keyed], [key for key, _ in keyed]


def _carries(item: Any, attribute: str) -> bool:
    """Whether moto lists `item` in an index whose sort key is `attribute` (as its own GSI read does)."""
    return bool(item.attrs.get(attribute))


def _index_partition(table: Any, index_name: str, wanted: dict[str, Any], stamp: int) -> _Cached:
    """A GSI's partition. When the index's hash key is the table's (Shoal's `by-order`), only the table's
    partition of that value is read, and with one sort key the items that carry it are kept in the
    order moto sorts them (index sort key, then the table's), so a page can be cut from it: O(partition)
    after a write (O(log partition) when it was current up to that write), O(page) when cached. Else every
    item of the table, as moto reads them (O(table) each time a write made the cache stale), unsorted,
    depending on every item of the table (_ANY)."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    hashes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"] if index else []
    if hashes != [table.hash_key_attr] or table.hash_key_attr not in wanted or len(wanted) != 1:
        return _Cached(stamp, _ANY, [item for partition in list(table.items.values())
                                     for item in (partition.values() if table.range_key_attr else [partition])], [])
    value = wanted[table.hash_key_attr]
    found = table.items.get(value)  # .get: never creates a partition
    items = [] if found is None else list(found.values()) if table.range_key_attr else [found]
    ranges = [key["AttributeName"] for key in index.schema if key["KeyType"] == "RANGE"]
    if len(ranges) != 1:
        return _Cached(stamp, ("p", value), items, [])
    order = [table.hash_key_attr, *ranges] + ([table.range_key_attr] if table.range_key_attr else [])
    try:  # moto lists only the items that carry the index's sort key
        listed, keys = _sorted([item for item in items if _carries(item, ranges[0])], order)
        return _Cached(stamp, ("p", value), listed, order, keys, range_attr=table.range_key_attr, wanted=ranges[0])
    except TypeError:  # sort keys of mixed types, which moto's own sort refuses too: let it
        return _Cached(stamp, ("p", value), items, [])


def _window(cached: _Cached, call: dict[str, Any]) -> list[Any]:
    """Of a partition sorted by `order`, the items a plain page can reach: those after ExclusiveStartKey
    in the query's direction, `limit` of them plus one (moto sets LastEvaluatedKey when it meets an item
    beyond the limit). Only without a sort-key condition or legacy filters, which could skip items and
    need more; a FilterExpression applies after the limit, as in DynamoDB."""
    items, order = cached.items, cached.order
    limit, start, forward = call.get("limit"), call.get("exclusive_start_key"), call.get("scan_index_forward", True)
    if (not order or call.get("range_comparison") or call.get("range_key_conditions") or call.get("filter_kwargs")
            or not isinstance(limit, int) or limit <= 0):
        return items
    if start:
        if not all(name in start for name in order):
            return items  # a start key moto must place itself
        from moto.dynamodb.models.dynamo_type import DynamoType

        try:
            mark = tuple(DynamoType(start[name]).cast_value for name in order)
            keys = cached.keys
            cut = bisect.bisect_right(keys, mark) if forward else bisect.bisect_left(keys, mark)
        except TypeError:  # a start key of another type than the keys: moto's own answer
            return items
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
        found = _partition(self, call.get("index_name"), call.get("hash_key"), call.get("hash_key_conditions"))
        if found is None:
            return original(self, *args, **kwargs)
        return original(_Partition(self, _window(found, call)), *args, **kwargs)

    query._partitioned = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
