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
    from shared.events.catalogue import data_for

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
