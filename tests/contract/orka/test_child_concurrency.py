"""Orka's `coordination.maxConcurrentChildren`: a coordinator's delegated children beyond its Agent's limit
stay Pending (marked waiting) and start as soon as a running sibling ends; the slot claim is conditional,
so two dispatchers never admit past the limit; every way a child ends frees its slot (moto, the fake
Kubernetes API; events delivered to the dispatcher as the broker would)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import AUTH
from tests.support.events import deliver
from tests.support.fake_kube import use_kubernetes_executor

WAITING = 'coordination concurrency limit reached: parent task "coord" runs {n} children (maxConcurrentChildren {n}); waiting'


@pytest.fixture
def apps(function_client, fake_kube, monkeypatch):
    use_kubernetes_executor(monkeypatch)
    return function_client("tasks"), function_client("internal"), function_client("dispatcher")


def coordinator(tasks, coordination: dict, name: str = "coord") -> None:
    """`name` runs an attempt whose resolved Agent has these coordination settings (what the dispatcher
    stores when it starts the attempt)."""
    from shared.tasks.lifecycle import transition
    from shared.tasks.repository import resolved_agents

    assert tasks.post("/api/v1/tasks", json={"name": name, "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    moved = transition("default", name, "Running", only_from=frozenset({"Pending"}))
    resolved_agents.create("default", name, {"attempt": moved.doc["status"]["attempts"],
                                             "agent": {"coordination": coordination}})


def delegate(internal, dispatcher, event_sink, name: str, *, dispatch: bool = True, parent: str = "coord") -> None:
    """The coordinator's `delegate_task`: the child is created through the worker API, then dispatched."""
    response = internal.post("/internal/v1/tasks/default", headers=AUTH,
                             json={"parentTask": parent, "name": name, "type": "ai", "prompt": "p"})
    assert response.status_code == 201
    if dispatch:
        [created] = [e for e in event_sink.of_type("dev.shoal.task.created") if e.data["name"] == name]
        deliver(dispatcher, created)


def view(tasks, name: str) -> dict:
    return tasks.get(f"/api/v1/tasks/{name}", headers=AUTH).get_json()["status"]


def phases(tasks, names) -> dict[str, str]:
    return {name: view(tasks, name)["phase"] for name in names}


def condition(status: dict) -> dict | None:
    found = [c for c in status.get("conditions", []) if c["type"] == "ConcurrencyLimited"]
    return {k: found[0][k] for k in ("status", "reason", "message")} if found else None


def retried_since(event_sink, seen: int) -> list:
    return [e for e in event_sink.events[seen:] if e.type == "dev.shoal.task.retried"]


def end(dispatcher, event_sink, name: str, phase: str = "Succeeded") -> list:
    """The child ends (its worker reports); its finished event reaches the dispatcher. The wake-ups it sent."""
    from shared.tasks.lifecycle import transition

    seen = len(event_sink.events)
    assert transition("default", name, phase, message="done") is not None
    [finished] = [e for e in event_sink.events[seen:] if e.type == "dev.shoal.task.finished"]
    deliver(dispatcher, finished)
    return retried_since(event_sink, seen)


def holders(parent: str = "coord") -> set[str]:
    from shared.tasks.child_slots import _pools

    record = _pools.get("default", parent)
    return set(record.doc["tasks"]) if record is not None else set()


def jobs(fake_kube) -> list[str]:
    """The tasks whose Job was created (a Job is named `<task>-<attempt>`)."""
    return [r["body"]["metadata"]["name"].rsplit("-", 1)[0] for r in fake_kube.requests
            if r["method"] == "POST" and r["path"].endswith("/jobs")]


def test_children_past_the_limit_wait_pending_and_the_next_starts_when_one_ends(apps, event_sink, fake_kube):
    tasks, internal, dispatcher = apps
    coordinator(tasks, {"enabled": True, "maxConcurrentChildren": 2})
    kids = [f"c{i}" for i in range(1, 6)]
    for kid in kids:
        delegate(internal, dispatcher, event_sink, kid)
    assert phases(tasks, kids) == {"c1": "Running", "c2": "Running", "c3": "Pending", "c4": "Pending",
                                   "c5": "Pending"}
    waiting = view(tasks, "c4")
    assert waiting["message"] == WAITING.format(n=2)
    assert condition(waiting) == {"status": "True", "reason": "MaxConcurrentChildren", "message": WAITING.format(n=2)}
    assert "jobName" not in waiting
    assert condition(view(tasks, "c1")) is None  # admitted at once: never marked
    assert holders() == {"c1", "c2"}

    # c1 ends: the dispatcher frees its slot and announces the oldest waiting sibling, one per free slot,
    # at once (no scheduler tick)
    woken = end(dispatcher, event_sink, "c1")
    assert [e.data["name"] for e in woken] == ["c3"]
    deliver(dispatcher, woken[0])
    assert phases(tasks, kids) == {"c1": "Succeeded", "c2": "Running", "c3": "Running", "c4": "Pending",
                                   "c5": "Pending"}
    started = view(tasks, "c3")
    assert "message" not in started  # the waiting message went with the admission
    assert condition(started) == {"status": "False", "reason": "SlotClaimed", "message": ""}
    assert holders() == {"c2", "c3"}

    # another announcement of a waiting child (the scheduler's re-announce) changes nothing, writes nothing
    version = tasks.get("/api/v1/tasks/c4", headers=AUTH).get_json()["metadata"]["resourceVersion"]
    [created] = [e for e in event_sink.of_type("dev.shoal.task.created") if e.data["name"] == "c4"]
    deliver(dispatcher, dataclasses.replace(created, id="re-announced", type="dev.shoal.task.retried"))
    assert tasks.get("/api/v1/tasks/c4", headers=AUTH).get_json()["metadata"]["resourceVersion"] == version
    assert sorted(jobs(fake_kube)) == ["c1", "c2", "c3"]  # every started child once, none of the waiting ones


def test_two_dispatchers_claiming_the_last_slot_at_once_admit_exactly_one(apps, event_sink, fake_kube, monkeypatch):
    """Both read the pool before either writes (a barrier in front of the write): the conditional write
    lets one through; the other re-reads, finds the pool full and waits."""
    from shared.tasks import child_slots
    from shared.tasks.dispatch import start_task
    from shared.tasks.repository import tasks as task_store

    tasks, internal, dispatcher = apps
    coordinator(tasks, {"enabled": True, "maxConcurrentChildren": 2})
    delegate(internal, dispatcher, event_sink, "c1")
    delegate(internal, dispatcher, event_sink, "c2", dispatch=False)
    delegate(internal, dispatcher, event_sink, "c3", dispatch=False)
    barrier, first, errors, results = threading.Barrier(2), threading.local(), [], {}
    real_replace = child_slots._pools.replace

    def replace(*args, **kwargs):
        if not getattr(first, "done", False):
            first.done = True
            barrier.wait(timeout=10)  # both claims have read the same version of the pool
        return real_replace(*args, **kwargs)

    monkeypatch.setattr(child_slots._pools, "replace", replace)

    def dispatcher_replica(name: str) -> None:
        try:
            results[name] = start_task(task_store.get("default", name))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=dispatcher_replica, args=(name,)) for name in ("c2", "c3")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(results.values()) == [False, True]
    [winner] = [name for name, started in results.items() if started]
    [loser] = [name for name, started in results.items() if not started]
    assert view(tasks, winner)["phase"] == "Running"
    assert view(tasks, loser)["phase"] == "Pending" and view(tasks, loser)["message"] == WAITING.format(n=2)
    assert holders() == {"c1", winner}
    assert sorted(jobs(fake_kube)) == sorted(["c1", winner])


def test_every_way_a_child_ends_frees_its_slot(apps, event_sink, fake_kube):
    """Failed, Cancelled, a reclaimed attempt (worker lost) and a deletion each start the next waiting child."""
    from shared.tasks.leases import renew
    from shared.tasks.repository import tasks as task_store
    from shared.tasks.scheduler import run_tick

    tasks, internal, dispatcher = apps
    coordinator(tasks, {"enabled": True, "maxConcurrentChildren": 1})
    kids = ["k1", "k2", "k3", "k4", "k5"]
    for kid in kids:
        delegate(internal, dispatcher, event_sink, kid)
    assert phases(tasks, kids) == {"k1": "Running", "k2": "Pending", "k3": "Pending", "k4": "Pending",
                                   "k5": "Pending"}

    def start_woken(woken: list, name: str) -> None:
        assert [e.data["name"] for e in woken] == [name]
        deliver(dispatcher, woken[0])
        assert view(tasks, name)["phase"] == "Running" and holders() == {name}

    start_woken(end(dispatcher, event_sink, "k1", "Failed"), "k2")

    seen = len(event_sink.events)
    cancelled = internal.post("/internal/v1/tasks/default/k2/cancel", json={"reason": "enough"}, headers=AUTH)
    assert cancelled.get_json() == {"name": "k2", "cancelled": True, "phase": "Cancelled"}
    [finished] = [e for e in event_sink.events[seen:] if e.type == "dev.shoal.task.finished"]
    deliver(dispatcher, finished)
    start_woken(retried_since(event_sink, seen), "k3")

    # k3's worker goes silent: the scheduler reclaims the attempt (the coordinator still beats)
    future = datetime.now(UTC) + timedelta(hours=1)
    renew(task_store.get("default", "coord"), 1, now=future.timestamp())
    seen = len(event_sink.events)
    run_tick(future)
    current = view(tasks, "k3")
    assert current["phase"] == "Failed" and current["message"].startswith("worker lost: no heartbeat")
    [finished] = [e for e in event_sink.events[seen:] if e.type == "dev.shoal.task.finished"]
    seen = len(event_sink.events)  # the tick re-announced the waiting children too: only the wake counts here
    deliver(dispatcher, finished)
    start_woken(retried_since(event_sink, seen), "k4")

    seen = len(event_sink.events)
    assert tasks.delete("/api/v1/tasks/k4", headers=AUTH).status_code == 204
    start_woken(retried_since(event_sink, seen), "k5")  # freed where it was deleted, its sibling woken
    assert sorted(jobs(fake_kube)) == kids


def test_a_retry_of_a_child_waits_for_a_slot_again_and_a_late_event_keeps_its_new_slot(apps, event_sink, fake_kube):
    from shared.tasks.lifecycle import transition

    tasks, internal, dispatcher = apps
    coordinator(tasks, {"enabled": True, "maxConcurrentChildren": 1})
    delegate(internal, dispatcher, event_sink, "r1")
    seen = len(event_sink.events)
    assert transition("default", "r1", "Failed", message="boom") is not None
    [failed] = [e for e in event_sink.events[seen:] if e.type == "dev.shoal.task.finished"]
    delegate(internal, dispatcher, event_sink, "r2")  # the finished event is late: r1 still holds the slot
    assert view(tasks, "r2")["phase"] == "Pending"
    seen = len(event_sink.events)
    assert transition("default", "r1", "Pending", message="retry 1 of 1") is not None  # the retry
    [retried] = [e for e in event_sink.events[seen:] if e.type == "dev.shoal.task.retried"]
    deliver(dispatcher, retried)  # attempt 2 replaces attempt 1's claim: one slot, one holder
    assert view(tasks, "r1")["phase"] == "Running" and holders() == {"r1"}
    deliver(dispatcher, failed)  # attempt 1's finished event, late: attempt 2 keeps its slot
    assert holders() == {"r1"} and view(tasks, "r2")["phase"] == "Pending"


def test_the_scheduler_starts_a_waiting_child_when_the_finished_event_was_lost(apps, event_sink, fake_kube,
                                                                              monkeypatch):
    from shared.tasks import slots
    from shared.tasks.leases import renew
    from shared.tasks.lifecycle import transition
    from shared.tasks.repository import tasks as task_store
    from shared.tasks.scheduler import run_tick

    tasks, internal, dispatcher = apps
    coordinator(tasks, {"enabled": True, "maxConcurrentChildren": 1})
    delegate(internal, dispatcher, event_sink, "s1")
    delegate(internal, dispatcher, event_sink, "s2")
    assert transition("default", "s1", "Succeeded") is not None  # its finished event never reaches the dispatcher
    monkeypatch.setattr(slots, "CLAIM_GRACE_SECONDS", 0.0)
    future = datetime.now(UTC) + timedelta(seconds=90)  # past SHOAL_REDISPATCH_AFTER_SECONDS (60)
    renew(task_store.get("default", "coord"), 1, now=future.timestamp())
    seen = len(event_sink.events)
    run_tick(future)
    [redispatched] = [e for e in retried_since(event_sink, seen) if e.data["name"] == "s2"]
    deliver(dispatcher, redispatched)
    assert view(tasks, "s2")["phase"] == "Running" and holders() == {"s2"}  # s1's stale slot reclaimed


def test_without_a_limit_nothing_changes_and_an_enabled_coordinator_gets_orkas_default_of_five(
        apps, event_sink, fake_kube):
    tasks, internal, dispatcher = apps
    coordinator(tasks, {"enabled": False}, name="plain")  # no coordination: no children at all, as in Orka
    refused = internal.post("/internal/v1/tasks/default", headers=AUTH,
                            json={"parentTask": "plain", "name": "f0", "type": "ai", "prompt": "p"})
    assert refused.status_code == 400 and holders("plain") == set()
    # a task that coordinates by its own spec (Shoal's opt-in, no Agent) is bounded as an Agent is: its
    # block's maxConcurrentChildren, else Orka's default of five
    assert tasks.post("/api/v1/tasks", json={"name": "spec-opt-in", "type": "ai", "prompt": "p",
                                             "coordination": {"enabled": True}}, headers=AUTH).status_code == 201
    opted = [f"f{i}" for i in range(6)]
    for kid in opted:
        delegate(internal, dispatcher, event_sink, kid, parent="spec-opt-in")
    assert [phases(tasks, opted)[k] for k in opted] == ["Running"] * 5 + ["Pending"]
    assert holders("spec-opt-in") == set(opted[:5])
    assert tasks.post("/api/v1/tasks", json={"name": "ai-opt-in", "type": "ai", "prompt": "p", "ai": {
        "coordination": {"enabled": True, "maxConcurrentChildren": 2, "maxDepth": "deep"}}},
        headers=AUTH).status_code == 201
    own = [f"g{i}" for i in range(3)]
    for kid in own:
        delegate(internal, dispatcher, event_sink, kid, parent="ai-opt-in")
    assert [phases(tasks, own)[k] for k in own] == ["Running", "Running", "Pending"]
    coordinator(tasks, {"enabled": True})
    kids = [f"d{i}" for i in range(6)]
    for kid in kids:
        delegate(internal, dispatcher, event_sink, kid)
    assert [phases(tasks, kids)[k] for k in kids] == ["Running"] * 5 + ["Pending"]
    assert view(tasks, "d5")["message"] == WAITING.format(n=5)
    # an ordinary task (no parent) never touches a pool
    assert tasks.post("/api/v1/tasks", json={"name": "solo", "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    [created] = [e for e in event_sink.of_type("dev.shoal.task.created") if e.data["name"] == "solo"]
    deliver(dispatcher, created)
    assert view(tasks, "solo")["phase"] == "Running"


def test_deleting_the_coordinator_drops_its_pool(apps, event_sink, fake_kube):
    tasks, internal, dispatcher = apps
    coordinator(tasks, {"enabled": True, "maxConcurrentChildren": 1})
    delegate(internal, dispatcher, event_sink, "x1")
    assert holders() == {"x1"}
    assert tasks.delete("/api/v1/tasks/coord", headers=AUTH).status_code == 204
    assert holders() == set()


def test_behind_the_namespace_cap_a_waiting_child_holds_no_namespace_slot(apps, event_sink, fake_kube, monkeypatch):
    """With SHOAL_MAX_RUNNING_TASKS_PER_NAMESPACE, a child its parent keeps waiting leaves the namespace's
    queue (it would block the line) and joins it again when it is woken."""
    from shared.config import reset_settings
    from shared.tasks import queue

    tasks, internal, dispatcher = apps
    monkeypatch.setenv("SHOAL_MAX_RUNNING_TASKS_PER_NAMESPACE", "3")
    reset_settings()
    coordinator(tasks, {"enabled": True, "maxConcurrentChildren": 1})
    delegate(internal, dispatcher, event_sink, "w1")
    delegate(internal, dispatcher, event_sink, "w2")
    assert phases(tasks, ["w1", "w2"]) == {"w1": "Running", "w2": "Pending"}
    assert queue.waiting.list_page("default", limit=None)[0] == []
    for name in ("a", "b"):
        assert tasks.post("/api/v1/tasks", json={"name": name, "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
        [created] = [e for e in event_sink.of_type("dev.shoal.task.created") if e.data["name"] == name]
        deliver(dispatcher, created)
    assert phases(tasks, ["a", "b"]) == {"a": "Running", "b": "Running"}  # w2 took no namespace slot
    woken = end(dispatcher, event_sink, "w1")
    assert [e.data["name"] for e in woken] == ["w2"]
    deliver(dispatcher, woken[0])
    assert view(tasks, "w2")["phase"] == "Running" and holders() == {"w2"}
