"""A task's event feed: every task event (and worker progress) appended to one ordered stream.

`GET /api/v1/tasks/{id}/stream` replays and follows it from any replica; sequence numbers are
the SSE `id:` lines, so a client resumes with `Last-Event-ID`.

The feed's numbers come from the task item's own sequence (`ObjectStore` `seq`): a write of the task
that announces takes the next number under its version check (`claimed_seq`), so its event costs one
PutItem; a writer that does not write the task (worker progress, a plan save) takes one with an
atomic ADD on the task item (two calls, as the stream's counter took). Every record write is
conditional on its number being free. A task created before this (no `seq`) keeps its counter-numbered
stream; a task's stream is named by its uid, so a task recreated under the same name starts afresh.
"""

from __future__ import annotations

from typing import Any

from shared.clock import now_rfc3339
from shared.store import Record, streams
from shared.tasks.repository import tasks

FIRST = 1  # the number a task's create takes (its created event)


def feed_stream(record: Record) -> str:
    if record.seq is None:  # created before the feed's numbers moved onto the task
        return f"task#{record.namespace}/{record.name}"
    return _stream(record.namespace, record.doc)


def _stream(namespace: str, doc: dict[str, Any]) -> str:
    return f"task#{namespace}/{doc['metadata']['name']}#{doc['metadata']['uid']}"


def _entry(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event": kind, "data": data, "time": now_rfc3339()}


def first_record(namespace: str, doc: dict[str, Any], kind: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A new task's first feed record (its created event, number FIRST) as a (table, item) to write
    before the task itself: its stream is named by the task's fresh uid, so nothing else can be there."""
    return streams.new_item(_stream(namespace, doc), FIRST, _entry(kind, data))


def drop_first_record(namespace: str, doc: dict[str, Any]) -> None:
    """Undo `first_record` for a task that was not stored after all."""
    streams.delete_record(_stream(namespace, doc), FIRST)


def append_feed(record: Record, kind: str, data: dict[str, Any]) -> int:
    """Append to the feed of the task `record` is (a version of); its sequence number.

    The number the write that returned `record` claimed is used once; else one is taken from the task.
    When the task is gone (deleted meanwhile), the record goes after the stream's last one.
    """
    entry = _entry(kind, data)
    stream = feed_stream(record)
    if record.seq is None:
        return streams.append(stream, entry)
    seq, record.claimed_seq = record.claimed_seq, None
    if seq is not None and streams.put_new(stream, seq, entry):
        return seq
    seq = tasks.next_seq(record.namespace, record.name)
    if seq is not None and streams.put_new(stream, seq, entry):
        return seq
    return streams.Writer(stream).append(entry)


def read_feed(record: Record, after: int = 0, limit: int = 100) -> list[tuple[int, dict[str, Any]]]:
    return streams.read(feed_stream(record), after=after, limit=limit)
