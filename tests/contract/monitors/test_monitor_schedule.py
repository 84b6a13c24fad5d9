"""Scheduled monitor runs on spec.schedule: the scheduler's PingSource tick queues a due run once."""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import AUTH

PING = {"ce-specversion": "1.0", "ce-type": "dev.knative.sources.ping", "ce-source": "/apis/v1/pingsources/tick",
        "ce-id": "tick", "Content-Type": "application/json"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def security(function_client, fake_kube):
    from shared.store import ObjectStore

    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "claude"},
                                                     "data": {"ANTHROPIC_API_KEY": b64("k")}})
    ObjectStore("agent").create("default", "reviewer", {"spec": {"runtime": {"type": "claude",
                                                                               "secretRef": {"name": "claude"}}}})
    return function_client("security")


def create(security, name: str, schedule: str | None = "*/30 * * * *"):
    spec = {"repoURL": "https://github.com/example/app", "agents": {"reviewer": {"name": "reviewer"}}}
    if schedule:
        spec["schedule"] = schedule
    response = security.post("/api/v1/monitors/repositories", json={"name": name, "spec": spec}, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def runs_of(security, name: str) -> list[dict]:
    return security.get(f"/api/v1/monitors/repositories/{name}/runs", headers=AUTH).get_json()["items"]


def due(name: str) -> datetime:
    from shared.clock import parse_rfc3339
    from shared.monitors.store import monitors

    return parse_rfc3339(monitors.get("default", name).doc["status"]["nextScheduleTime"])


def test_create_sets_the_next_run_and_two_ticks_queue_one_run(security, event_sink):
    from shared.monitors.schedule import run_tick

    monitor = create(security, "app")
    create(security, "manual", schedule=None)
    first = due("app")
    assert first > datetime.now(UTC) and first.minute % 30 == 0 and first.second == 0
    assert monitor["status"]["nextScheduleTime"] == first.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert run_tick(first - timedelta(seconds=1)) == 0  # not due yet
    assert run_tick(first) == 1
    assert run_tick(first) == 0  # the second tick (another replica) finds the slot taken
    [run] = runs_of(security, "app")
    assert run["trigger"] == "schedule" and run["phase"] == "queued"
    assert runs_of(security, "manual") == []
    [event] = event_sink.of_type("dev.shoal.monitor.run.queued")
    assert event.data["runID"] == run["id"] and event.data["trigger"] == "schedule"
    assert due("app") == first + timedelta(minutes=30)
    # the scheduled run holds the one-active-run slot: a manual run is refused
    response = security.post("/api/v1/monitors/repositories/app/runs", headers=AUTH)
    assert response.status_code == 409
    assert response.get_json() == {"error": {"code": 409, "message": "repository monitor already has an active run"}}


def test_concurrent_ticks_on_two_replicas_queue_one_run(security, event_sink):
    from shared.monitors.schedule import run_tick

    create(security, "app")
    moment = due("app")
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def tick():
        barrier.wait()
        counts.append(run_tick(moment))

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == [0, 1] and len(runs_of(security, "app")) == 1


def test_a_due_monitor_with_an_active_run_is_skipped_not_queued_twice(security, event_sink):
    from shared.monitors.schedule import run_tick

    create(security, "app")
    manual = security.post("/api/v1/monitors/repositories/app/runs", headers=AUTH).get_json()
    moment = due("app")
    assert run_tick(moment) == 0
    assert [r["id"] for r in runs_of(security, "app")] == [manual["id"]]
    assert due("app") == moment + timedelta(minutes=30)  # the slot passed; the next one stands
    skipped = security.get("/api/v1/monitors/events?name=app&eventType=ScheduledRunSkipped",
                           headers=AUTH).get_json()["items"]
    assert len(skipped) == 1


def test_the_scheduler_function_tick_queues_runs_and_schedule_changes_follow(security, function_client,
                                                                             event_sink):
    from shared.monitors.schedule import schedules

    create(security, "app")
    spec = security.get("/api/v1/monitors/repositories/app", headers=AUTH).get_json()["spec"]
    spec["schedule"] = "* * * * *"  # every minute: due within a minute; move it into the past
    assert security.put("/api/v1/monitors/repositories/app", json={"spec": spec}, headers=AUTH).status_code == 200
    from shared.monitors.store import monitors

    monitors.update("default", "app", lambda doc: doc["status"].update(nextScheduleTime="2020-01-01T00:00:00Z"))
    response = function_client("scheduler").post("/", data=b"{}", headers=PING)
    assert response.status_code == 200
    [run] = runs_of(security, "app")
    assert run["trigger"] == "schedule"
    # an unscheduled or deleted monitor leaves the index
    del spec["schedule"]
    assert security.put("/api/v1/monitors/repositories/app", json={"spec": spec}, headers=AUTH).status_code == 200
    assert "nextScheduleTime" not in monitors.get("default", "app").doc["status"]
    assert sum(len(schedules.list_page(f"shard-{i:02d}", limit=None)[0]) for i in range(4)) == 0
    create(security, "other")
    assert security.delete("/api/v1/monitors/repositories/other", headers=AUTH).status_code == 204
    assert sum(len(schedules.list_page(f"shard-{i:02d}", limit=None)[0]) for i in range(4)) == 0
