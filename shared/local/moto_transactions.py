"""moto's TransactWriteItems, undoing only the items it wrote.

moto 5 deep-copies every table a TransactWriteItems names, whole, before applying it, so that a
failure can put the copy back. All of Shoal's records live in one table (`objects`), so every
transaction (a chat turn, a claim, a run with its companion…) cost O(items in the store) while holding
moto_atomic's lock, which every other read and write waits on: 10 ms on an empty store, 1 s at 20 000
items (docs/performance.md), so a `make run` whose state persists got slower with every record.

Here the transaction is moto's own loop (the same order, unicity check, condition checks and
cancellation reasons; each write through the backend's put_item/update_item/delete_item, so the
expression semantics stay moto's), but before each write the one item it touches is deep-copied (or
noted absent), and a failure puts back those items only, newest first: O(items in the transaction).
It runs under moto_atomic's lock, which also invalidates moto_queries' cache after it (a rollback is a
write), so no reader sees a transaction half applied or half undone. Any failure undoes the items
written, including the ones moto itself re-raises without restoring (TransactWriteSingleOpException):
a transaction is all or nothing.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

MAX_ITEMS = 100  # DynamoDB's limit per transaction


class _Undo:
    """The items a transaction wrote, as they were before it (None: absent), and each stream's length."""

    def __init__(self) -> None:
        self._items: list[tuple[Any, Any, Any, Any]] = []
        self._streams: dict[int, tuple[Any, int]] = {}

    def keep(self, table: Any, hash_value: Any, range_value: Any, before: Any) -> None:
        if id(table) not in self._streams:
            shard = table.stream_shard
            self._streams[id(table)] = (shard, len(shard.items) if shard is not None else 0)
        self._items.append((table, hash_value, range_value, copy.deepcopy(before)))

    def restore(self) -> None:
        for table, hash_value, range_value, before in reversed(self._items):
            if table.range_key_attr is None:
                if before is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = before
                continue
            partition = table.items[hash_value]
            if before is None:
                partition.pop(range_value, None)
            else:
                partition[range_value] = before
            if not partition:  # as the whole-table copy had it: no empty partition left behind
                del table.items[hash_value]
        for shard, length in self._streams.values():
            if shard is not None:
                del shard.items[length:]  # the stream records of the undone writes


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """DynamoDBBackend.transact_write_items, with an undo of the touched items instead of table copies."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > MAX_ITEMS:
        raise TooManyTransactionsException()
    undo = _Undo()
    target_items: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []  # per item: (code, message, old item) or (None, None, None)
    try:
        for item in transact_items:
            original_item: dict[str, Any] | None = None
            if len(item) > 1:
                raise TransactWriteSingleOpException
            try:
                op_type, op = next(iter(item.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                condition_expression = op.get("ConditionExpression")
                names = op.get("ExpressionAttributeNames")
                values = op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    table = self.get_table(table_name)
                    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = op["Item"][table.range_key_attr]
                else:
                    key = op["Key"]
                unique = (str(table_name), str(dict(sorted(key.items()))))
                if unique in target_items:
                    raise MultipleTransactionsException()
                target_items.add(unique)

                current = self.get_item(table_name, key)
                if condition_expression is not None:
                    condition = get_filter_expression(condition_expression, names, values)
                    if not condition.expr(current):
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)

                if op_type != "ConditionCheck":
                    table = self.get_table(table_name)
                    undo.keep(table, *self.get_keys_value(table, key), current)
                if op_type == "Put":
                    self.put_item(table_name, op["Item"], condition_expression=condition_expression,
                                  expression_attribute_names=names, expression_attribute_values=values)
                elif op_type == "Delete":
                    self.delete_item(table_name, key, condition_expression=condition_expression,
                                     expression_attribute_names=names, expression_attribute_values=values)
                elif op_type == "Update":
                    self.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                     condition_expression=condition_expression,
                                     expression_attribute_names=names, expression_attribute_values=values)
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as e:
                errors.append(("ConditionalCheckFailed", str(e.message), original_item))
            except Exception as e:  # as moto: any other failure of an item is its cancellation reason
                errors.append((type(e).__name__, str(e), original_item))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
    except BaseException:
        undo.restore()
        raise


def install() -> None:
    """Replace DynamoDBBackend.transact_write_items (idempotent; before moto_atomic wraps it in its lock)."""
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_undoes_items", False):  # also seen through moto_atomic's functools.wraps
        return

    @functools.wraps(transact_write_items)
    def patched(self: Any, transact_items: list[dict[str, Any]]) -> None:
        return transact_write_items(self, transact_items)

    patched._undoes_items = True  # type: ignore[attr-defined]
    patched.moto = original  # type: ignore[attr-defined]  # moto's own, for the tests that compare
    DynamoDBBackend.transact_write_items = patched  # type: ignore[method-assign]
