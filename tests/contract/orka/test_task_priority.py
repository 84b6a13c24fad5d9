"""Task priority with a per-namespace concurrency cap (SHOAL_MAX_RUNNING_TASKS_PER_NAMESPACE).

With the cap reached, Pending tasks wait; a finished task (or the scheduler tick) starts the
highest `spec.priority` waiting task first, FIFO within a priority; two dispatchers never both
start a task past the cap. Without the cap (the default) tasks start at once.
"""

from __future__ import annotations

import threading

import pytest

from tests.conftest import AUTH
from tests.support.events import deliver
from tests.support.fake_kube import use_kubernetes_executor


@pytest.fixture
def capped(function_client, fake_kube, monkeypatch):
    use_kubernetes_executor(monkeypatch, SHOAL_MAX_RUNNING_TASKS_PER_NAMESPACE="2")
    return function_client("tasks"), function_client("dispatcher")


def create(tasks, dispatcher, event_sink, name: str, priority: int | None = None) -> None:
    body = {"name": name, "type": "ai", "prompt": "p", **({"priority": priority} if priority is not None else {})}
    assert tasks.post("/api/v1/tasks", json=body, headers=AUTH).status_code == 201
    [created] = [e for e in event_sink.of_type("dev.shoal.task.created") if e.data["name"] == name]
    deliver(dispatcher, created)


def phases() -> dict[str, str]:
    from shared.tasks.repository import tasks

    records, _ = tasks.list_page("default", limit=None)
    return {r.name: r.doc.get("status", {}).get("phase", "Pending") for r in records}


def running() -> set[str]:
    return {name for name, phase in phases().items() if phase == "Running"}


def finish(dispatcher, event_sink, name: str) -> None:
    from shared.tasks.lifecycle import transition

    seen = len(event_sink.events)
    assert transition("default", name, "Succeeded", message="done") is not None
    [finished] = [e for e in event_sink.events[seen:] if e.type == "dev.shoal.task.finished"]
    deliver(dispatcher, finished)


def test_waiting_tasks_start_highest_priority_first_fifo_within_a_priority(capped, event_sink, fake_kube):
    tasks, dispatcher = capped
    create(tasks, dispatcher, event_sink, "first", 10)
    create(tasks, dispatcher, event_sink, "second", 10)
    assert running() == {"first", "second"}
    for name, priority in [("low", 100), ("mid-a", None), ("high-a", 900), ("mid-b", 500), ("high-b", 900)]:
        create(tasks, dispatcher, event_sink, name, priority)
    assert running() == {"first", "second"}  # the cap holds: the rest wait, Pending
    assert phases()["high-a"] == "Pending"
    order = []
    current = ["first", "second"]
    while len(order) < 5:
        before = running()
        finish(dispatcher, event_sink, sorted(current)[0] if not order else order[-1])
        started = running() - before
        assert len(started) == 1
        order.append(started.pop())
        current = []
        assert len(running()) == 2
    assert order == ["high-a", "high-b", "mid-a", "mid-b", "low"]
    jobs = [r["body"]["metadata"]["name"] for r in fake_kube.requests
            if r["method"] == "POST" and r["path"].endswith("/jobs")]
    assert len(jobs) == 7  # every task started exactly once


def test_enqueueing_again_keeps_a_tasks_place_in_line(capped, event_sink):
    tasks, dispatcher = capped
    create(tasks, dispatcher, event_sink, "r1")
    create(tasks, dispatcher, event_sink, "r2")
    create(tasks, dispatcher, event_sink, "older")
    create(tasks, dispatcher, event_sink, "newer")
    # The scheduler re-enqueues every waiting task each tick: "newer" keeps its place behind "older".
    from shared.tasks import queue
    from shared.tasks.repository import tasks as task_store

    queue.enqueue(task_store.get("default", "newer"))
    queue.enqueue(task_store.get("default", "older"))
    assert [e.doc["name"] for e in queue.waiting.list_page("default", limit=None)[0]] == ["older", "newer"]
    finish(dispatcher, event_sink, "r1")
    assert running() == {"r2", "older"}


def test_the_scheduler_tick_starts_waiting_tasks_when_a_finished_event_was_lost(capped, event_sink,
                                                                                function_client, monkeypatch):
    from shared.tasks import slots
    from shared.tasks.lifecycle import transition
    from shared.tasks.scheduler import run_tick

    tasks, dispatcher = capped
    for name, priority in [("r1", None), ("r2", None), ("low", 1), ("high", 999)]:
        create(tasks, dispatcher, event_sink, name, priority)
    assert running() == {"r1", "r2"}
    transition("default", "r1", "Succeeded")  # its finished event never reaches the dispatcher
    monkeypatch.setattr(slots, "CLAIM_GRACE_SECONDS", 0.0)
    run_tick()
    assert running() == {"r2", "high"}
    run_tick()
    assert running() == {"r2", "high"}  # a tick does not start past the cap


def test_a_start_failure_frees_the_slot_at_once(capped, event_sink, fake_kube):
    tasks, dispatcher = capped
    # A missing agent fails the start (the dispatcher resolves it before creating the Job).
    body = {"name": "broken", "type": "ai", "prompt": "p", "agentRef": "nobody"}
    assert tasks.post("/api/v1/tasks", json=body, headers=AUTH).status_code == 201
    [created] = [e for e in event_sink.of_type("dev.shoal.task.created") if e.data["name"] == "broken"]
    deliver(dispatcher, created)
    assert phases()["broken"] == "Failed"
    create(tasks, dispatcher, event_sink, "a")
    create(tasks, dispatcher, event_sink, "b")
    assert running() == {"a", "b"}


def test_two_concurrent_dispatchers_never_start_past_the_cap(function_client, capped, event_sink, fake_kube):
    from shared.tasks.repository import tasks as task_store

    tasks, first = capped
    second = function_client("dispatcher")
    names = [f"t{i}" for i in range(8)]
    priorities = [100, 800, 300, 800, 500, 900, 200, 700]
    for name, priority in zip(names, priorities, strict=True):
        assert tasks.post("/api/v1/tasks", json={"name": name, "type": "ai", "prompt": "p", "priority": priority},
                          headers=AUTH).status_code == 201
    created = [e for e in event_sink.of_type("dev.shoal.task.created")]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(dispatcher, events):
        try:
            barrier.wait()
            for event in events:
                deliver(dispatcher, event)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    # Both replicas get every event (at-least-once delivery), in opposite orders, at the same time.
    threads = [threading.Thread(target=run, args=(first, created)),
               threading.Thread(target=run, args=(second, list(reversed(created))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(running()) == 2
    started_jobs = [r for r in fake_kube.requests if r["method"] == "POST" and r["path"].endswith("/jobs")]
    assert len(started_jobs) == 2

    # Finish the running tasks one at a time, each finished event delivered to both replicas at once:
    # the cap holds and the waiting tasks start by priority.
    waiting_order = [n for _, n in sorted(((-p, names.index(n)), n) for n, p in zip(names, priorities, strict=True)
                                          if n not in running())]
    started_order: list[str] = []
    while len(started_order) < len(waiting_order):
        victim = sorted(running())[0]
        seen = len(event_sink.events)
        from shared.tasks.lifecycle import transition

        transition("default", victim, "Succeeded")
        [finished] = [e for e in event_sink.events[seen:] if e.type == "dev.shoal.task.finished"]
        before = running()
        threads = [threading.Thread(target=run, args=(d, [finished])) for d in (first, second)]
        barrier.reset()
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors
        now = running()
        assert len(now) <= 2
        started_order.extend(sorted(now - before))
    # Highest priority first; between equal priorities the first to be queued wins, and which of two
    # racing replicas queued a task first is not fixed.
    priority = dict(zip(names, priorities, strict=True))
    assert [priority[n] for n in started_order] == [priority[n] for n in waiting_order]
    assert sorted(started_order) == sorted(waiting_order)
    phases_left = {r.doc["status"]["phase"] for r in task_store.list_page("default", limit=None)[0]}
    assert phases_left <= {"Running", "Succeeded"}


def test_without_a_cap_tasks_start_at_once(function_client, fake_kube, event_sink, monkeypatch):
    use_kubernetes_executor(monkeypatch)
    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    for i in range(4):
        create(tasks, dispatcher, event_sink, f"free-{i}", 1)
    assert running() == {f"free-{i}" for i in range(4)}


def test_many_simultaneous_drains_claim_slots_conditionally(capped, event_sink, fake_kube, monkeypatch):
    """Below the event layer (no consumer dedupe): six replicas drain the same queue at once."""
    from shared.config import reset_settings
    from shared.tasks import queue
    from shared.tasks.dispatch import start_task
    from shared.tasks.repository import tasks as task_store

    tasks, _ = capped
    monkeypatch.setenv("SHOAL_MAX_RUNNING_TASKS_PER_NAMESPACE", "3")
    reset_settings()
    priorities = {"p1": 10, "p2": 950, "p3": 400, "p4": 950, "p5": 600, "p6": 20, "p7": 700, "p8": 1}
    for name, priority in priorities.items():
        assert tasks.post("/api/v1/tasks", json={"name": name, "type": "ai", "prompt": "p", "priority": priority},
                          headers=AUTH).status_code == 201
        queue.enqueue(task_store.get("default", name))
    barrier, errors = threading.Barrier(6), []

    def replica():
        try:
            barrier.wait()
            queue.drain("default", start_task)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert running() == {"p2", "p4", "p7"}  # the three highest priorities, nothing past the cap
    assert len([r for r in fake_kube.requests if r["method"] == "POST" and r["path"].endswith("/jobs")]) == 3


def test_a_late_finished_event_of_an_earlier_attempt_keeps_the_retrys_slot(capped, event_sink, fake_kube):
    from shared.tasks import queue
    from shared.tasks.lifecycle import transition

    tasks, dispatcher = capped
    create(tasks, dispatcher, event_sink, "r1")
    seen = len(event_sink.events)
    assert transition("default", "r1", "Failed", message="boom") is not None
    [failed] = [e for e in event_sink.events[seen:] if e.type == "dev.shoal.task.finished"]
    seen = len(event_sink.events)
    assert transition("default", "r1", "Pending", message="retry 1 of 1") is not None  # the retry
    [retried] = [e for e in event_sink.events[seen:] if e.type == "dev.shoal.task.retried"]
    deliver(dispatcher, retried)  # attempt 2 takes the slot attempt 1 held
    assert running() == {"r1"} and set(queue._pool("default").read()["tasks"]) == {"r1"}
    deliver(dispatcher, failed)  # attempt 1's finished event, late: attempt 2 keeps its slot
    assert set(queue._pool("default").read()["tasks"]) == {"r1"}
    create(tasks, dispatcher, event_sink, "r2")
    create(tasks, dispatcher, event_sink, "r3")
    assert running() == {"r1", "r2"}  # the cap (2) holds: r3 waits
