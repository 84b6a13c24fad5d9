"""A task's feed takes its numbers from the task item (shared.tasks.feed): one write per announced
event, and under concurrent writers (transitions that claim a number with their task write, progress
events that take one with an ADD) no number is given twice and no record is lost. moto in process,
with its writes made atomic as DynamoDB's are."""

from __future__ import annotations

import threading

import pytest

from shared.store import VersionConflict, streams
from shared.tasks.feed import append_feed, feed_stream, read_feed
from shared.tasks.repository import tasks
from shared.tasks.service import store_new_task
from shared.tasks.validation import new_task_document
from tests.support.store_calls import store_calls

pytestmark = pytest.mark.usefixtures("aws", "event_sink")


def new_task(name: str = "t"):
    return store_new_task("default", new_task_document(name, {"type": "ai", "prompt": "p"}, {}, {}))


def read_all(record) -> list[tuple[int, dict]]:
    out, after = [], 0
    while batch := read_feed(record, after, limit=100):
        out += batch
        after = batch[-1][0]
    return out


def test_concurrent_task_writes_and_progress_events_number_the_feed_exactly_once_each():
    created = new_task()
    rounds, writers = 15, 3

    def task_writer(k: int) -> None:  # as a transition: the task write takes the number, then one PutItem
        for i in range(rounds):
            for _ in range(20):
                try:
                    record = tasks.update("default", "t",
                                          lambda doc, k=k, i=i: doc["status"].update(message=f"{k}-{i}"),
                                          claim_seq=True)
                    break
                except VersionConflict:
                    # update's 8 attempts all lost to the other writers' ADDs (a loaded machine schedules
                    # that): the 409 a caller gets, and tries again. It wrote and claimed nothing.
                    continue
            else:
                raise AssertionError("a transition lost 160 times in a row")
            append_feed(record, "moved", {"k": k, "i": i})

    def progress(k: int) -> None:  # as a worker's progress: the task as read once, a number by ADD
        record = tasks.get("default", "t")
        for i in range(rounds):
            append_feed(record, "progress", {"k": k, "i": i})

    failed: list[BaseException] = []

    def run(fn, k: int) -> None:  # a writer that raised must fail the test, not leave its records missing
        try:
            fn(k)
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=run, args=(fn, k)) for k in range(writers) for fn in (task_writer, progress)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    records = read_all(created)
    total = 1 + 2 * writers * rounds
    assert [seq for seq, _ in records] == list(range(1, total + 1))  # no number twice, none skipped
    seen = [(r["event"], r["data"].get("k"), r["data"].get("i")) for _, r in records[1:]]
    assert sorted(seen) == sorted((kind, k, i) for kind in ("moved", "progress")
                                  for k in range(writers) for i in range(rounds))  # none lost
    assert records[0][1]["event"] == "task.created"
    for kind in ("moved", "progress"):  # each writer's own records in its order
        for k in range(writers):
            assert [i for e, kk, i in seen if e == kind and kk == k] == list(range(rounds))
    assert tasks.get("default", "t").seq == total


def test_an_announced_transition_writes_its_feed_record_in_one_call_and_progress_in_two():
    from shared.tasks.lifecycle import transition

    created = new_task()
    with store_calls() as calls:
        transition("default", "t", "Running")
    assert calls == ["GetItem", "PutItem", "PutItem"]
    with store_calls() as calls:
        assert append_feed(tasks.get("default", "t"), "log", {"text": "x"}) == 3
    assert calls == ["GetItem", "UpdateItem", "PutItem"]
    assert [(seq, r["event"]) for seq, r in read_all(created)] == [(1, "task.created"), (2, "task.started"),
                                                                   (3, "log")]


def test_a_number_used_once_is_not_used_again():
    created = new_task()
    assert created.claimed_seq is None  # the created event used it
    assert append_feed(created, "log", {}) == 2  # so this one takes the next from the task


def test_a_deleted_tasks_last_record_goes_after_the_streams_last_and_a_recreated_task_starts_afresh():
    created = new_task()
    append_feed(created, "log", {})
    assert tasks.delete("default", "t", expected_version=created.version)
    assert append_feed(created, "task.deleted", {}) == 3  # no task to number it: after the last record
    again = new_task()
    assert feed_stream(again) != feed_stream(created)  # named by the task's uid
    assert [(seq, r["event"]) for seq, r in read_all(again)] == [(1, "task.created")]
    assert [seq for seq, _ in read_all(created)] == [1, 2, 3]


def test_a_task_created_without_a_sequence_keeps_its_counter_numbered_stream():
    from shared.tasks.lifecycle import transition

    doc = new_task_document("old", {"type": "ai", "prompt": "p"}, {}, {})
    legacy = tasks.create("default", "old", doc)  # as stored before the feed's numbers moved onto the task
    streams.append("task#default/old", {"event": "task.created", "data": {}})
    assert feed_stream(legacy) == "task#default/old"
    transition("default", "old", "Running")
    assert tasks.get("default", "old").seq is None
    assert [(seq, r["event"]) for seq, r in read_all(legacy)] == [(1, "task.created"), (2, "task.started")]
