"""Events are not lost when the broker is down: they are parked and the scheduler's tick delivers
them later, with their original ids, oldest first; the state change is never undone."""

from __future__ import annotations

import pytest

from shared.events.envelope import build, to_http
from tests.conftest import AUTH


def tick(scheduler):
    event = build("dev.knative.sources.ping", {"purpose": "scheduler-tick"},
                  source="/apis/v1/namespaces/shoal/pingsources/scheduler-tick")
    headers, body = to_http(event)
    return scheduler.post("/", data=body, headers=headers)


def parked_events():
    from shared.events.outbox import SHARDS, parked

    return [r.doc for i in range(SHARDS) for r in parked.list_page(f"s{i}", limit=None)[0]]


def task_event(name: str):
    from shared.events.registry import data_for

    data = data_for("dev.shoal.task.deleted", namespace="ns", name=name, type="container", phase="Pending",
                    message=None)
    return build("dev.shoal.task.deleted", data, subject=f"ns/{name}")


@pytest.fixture
def apps(function_client):
    return function_client("tasks"), function_client("scheduler")


def test_a_task_created_while_the_broker_is_down_is_announced_on_the_next_tick(apps, event_sink):
    tasks, scheduler = apps
    event_sink.down = True
    response = tasks.post("/api/v1/tasks", json={"name": "while-down", "type": "container", "image": "busybox"},
                          headers=AUTH)
    assert response.status_code == 201  # the create stands: the broker's outage is not the caller's
    assert event_sink.of_type("dev.shoal.task.created") == []
    [doc] = parked_events()
    assert doc["event"]["type"] == "dev.shoal.task.created" and doc["reason"] == "event sink answered 503"
    parked_id = doc["event"]["id"]

    assert tick(scheduler).status_code < 300  # still down: kept, attempt counted
    [doc] = parked_events()
    assert doc["attempts"] == 2

    event_sink.down = False
    assert tick(scheduler).status_code < 300
    [delivered] = event_sink.of_type("dev.shoal.task.created")
    assert delivered.id == parked_id and delivered.subject == "default/while-down"
    assert parked_events() == []
    tick(scheduler)
    assert len(event_sink.of_type("dev.shoal.task.created")) == 1  # delivered once


def test_parked_events_are_delivered_oldest_first(aws, event_sink):
    from shared.events.outbox import SHARDS, drain, publish

    event_sink.down = True
    events = [task_event(f"t{i}") for i in range(6)]
    for event in events:
        publish(event)
    assert len(parked_events()) == 6
    event_sink.down = False
    assert drain() == 6
    got = [e.id for e in event_sink.events]
    for shard in range(SHARDS):  # each shard keeps parking order
        from shared.events.outbox import _shard

        mine = [e.id for e in events if _shard(e) == f"s{shard}"]
        assert [i for i in got if i in mine] == mine


def test_without_a_configured_sink_nothing_is_parked(aws, monkeypatch):
    from shared.config import reset_settings
    from shared.events.outbox import publish

    monkeypatch.delenv("K_SINK", raising=False)
    reset_settings()
    publish(task_event("t"))
    assert parked_events() == []


# -- a process that dies between finishing a task and announcing it -------------------------------------
def _create(tasks, name):
    response = tasks.post("/api/v1/tasks", json={"name": name, "type": "container", "image": "busybox"},
                          headers=AUTH)
    assert response.status_code == 201


def _live(name):
    from shared.tasks.repository import live, live_shards

    return name in {r.doc["name"] for shard in live_shards() for r in live.list_page(shard, limit=None)[0]}


def test_a_finish_never_announced_is_announced_by_the_next_tick(apps, event_sink):
    from shared.clock import now_rfc3339
    from shared.tasks.repository import tasks as store

    tasks, scheduler = apps
    _create(tasks, "orphan")
    # The store write of a finish, and then nothing: the process died before announcing it.
    store.update("default", "orphan", lambda d: d["status"].update(
        phase="Succeeded", phaseTransitionTime=now_rfc3339(), completionTime=now_rfc3339()))
    assert event_sink.of_type("dev.shoal.task.finished") == [] and _live("orphan")
    assert tick(scheduler).status_code < 300
    [finished] = event_sink.of_type("dev.shoal.task.finished")
    assert finished.subject == "default/orphan" and finished.data["phase"] == "Succeeded"
    assert finished.source == "/shoal/tasks" and not _live("orphan")


def test_announcing_a_finish_again_reuses_its_id(apps, event_sink):
    from shared.tasks.lifecycle import transition
    from shared.tasks.repository import mark_live

    tasks, scheduler = apps
    _create(tasks, "twice")
    transition("default", "twice", "Running")
    transition("default", "twice", "Succeeded")
    [first] = event_sink.of_type("dev.shoal.task.finished")
    mark_live("default", "twice")  # as if the process died after announcing, before leaving the index
    tick(scheduler)
    [_, again] = event_sink.of_type("dev.shoal.task.finished")
    assert (again.source, again.id) == (first.source, first.id)  # consumers dedupe on these: one event


# -- staged events: stored in the same transaction as the change they announce -----------------------------
def test_a_staged_event_exists_exactly_when_its_change_does(aws, event_sink):
    from shared.events.outbox import deliver, staged
    from shared.store import AlreadyExists, ObjectStore

    widgets = ObjectStore("widget")
    first = staged(task_event("w1"))
    widgets.create("ns", "w", {"v": 1}, companions=(first,))
    assert [d["event"]["id"] for d in parked_events()] == [first.doc["event"]["id"]]  # committed together
    deliver(first)
    assert [e.id for e in event_sink.of_type("dev.shoal.task.deleted")] == [first.doc["event"]["id"]]
    assert parked_events() == []  # delivered: unparked

    with pytest.raises(AlreadyExists):  # the change fails: its event was never written
        widgets.create("ns", "w", {"v": 2}, companions=(staged(task_event("w2")),))
    assert parked_events() == [] and widgets.get("ns", "w").doc == {"v": 1}

    def bump(doc):
        doc["v"] += 1

    widgets.update("ns", "w", bump, companions=lambda doc: (staged(task_event(f"v{doc['v']}")),))
    [doc] = parked_events()
    assert doc["event"]["subject"] == "ns/v2" and widgets.get("ns", "w").version == 2
    assert widgets.update("ns", "w", lambda doc: False, companions=lambda doc: (staged(task_event("x")),)).version == 2
    assert len(parked_events()) == 1  # no write, no event


def test_a_process_dying_between_commit_and_delivery_loses_no_event(aws, event_sink):
    """The commit happened, the delivery did not (the process died): the tick delivers it, same id."""
    from shared.events.outbox import drain, staged
    from shared.store import ObjectStore

    event = staged(task_event("orphan"))
    ObjectStore("widget").create("ns", "o", {}, companions=(event,))
    assert event_sink.of_type("dev.shoal.task.deleted") == []
    assert drain() == 1
    [delivered] = event_sink.of_type("dev.shoal.task.deleted")
    assert delivered.id == event.doc["event"]["id"] and parked_events() == []


def test_a_queued_scan_is_not_stranded_by_a_process_dying_before_its_event(function_client, event_sink, monkeypatch):
    from shared.events import outbox

    security = function_client("security")
    body = {"name": "app", "spec": {"repoURL": "https://github.com/example/app", "paths": ["api"],
                                    "analysisAgentRef": {"name": "security-reviewer"}}}
    assert security.post("/api/v1/security/repositories", json=body, headers=AUTH).status_code == 201
    with monkeypatch.context() as patch:
        patch.setattr(outbox, "deliver", lambda record: None)  # dies right after the commit
        run = security.post("/api/v1/security/repositories/app/scans", headers=AUTH).get_json()
    assert event_sink.of_type("dev.shoal.security.scan.queued") == []
    outbox.drain()
    [queued] = event_sink.of_type("dev.shoal.security.scan.queued")
    assert queued.data["scanRunID"] == run["id"]


def test_a_saved_chat_turns_event_is_stored_with_the_conversation(function_client, event_sink, monkeypatch):
    from shared.events import outbox

    chat = function_client("chat")
    with monkeypatch.context() as patch:
        patch.setattr(outbox, "deliver", lambda record: None)  # dies right after saving the turn
        answer = chat.post("/api/v1/chat", json={"message": "hi", "sessionId": "s-1"},
                           headers={**AUTH, "Accept": "application/json"})
    assert answer.status_code == 200 and answer.get_json()["message"] == "Hello from shoal-mock. You said: hi"
    assert event_sink.of_type("dev.shoal.chat.turn.completed") == []
    [parked] = parked_events()
    assert parked["event"]["type"] == "dev.shoal.chat.turn.completed" and parked["attempts"] == 0
    assert outbox.drain() == 1
    [event] = event_sink.of_type("dev.shoal.chat.turn.completed")
    assert event.data["name"] == "s-1" and event.data["status"] == "completed"
