"""The scheduler function: PingSource ticks (timeouts, retries, lost dispatches, cron, suspend) and webhookURL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug import Response

from shared.events.envelope import build, to_http
from tests.conftest import AUTH


@pytest.fixture
def apps(function_client):
    return function_client("tasks"), function_client("scheduler"), function_client("dispatcher")


def tick(scheduler):
    event = build("dev.knative.sources.ping", {"purpose": "scheduler-tick"},
                  source="/apis/v1/namespaces/shoal/pingsources/scheduler-tick")
    headers, body = to_http(event)
    return scheduler.post("/", data=body, headers=headers)


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def status(tasks, name):
    return tasks.get(f"/api/v1/tasks/{name}", headers=AUTH).get_json()["status"]


def live_names():
    from shared.tasks.repository import live, live_shards

    return sorted(r.name for shard in live_shards() for r in live.list_page(shard, limit=None)[0])


def test_a_tick_times_out_a_running_task(apps, event_sink):
    from shared.tasks.lifecycle import transition
    from shared.tasks.repository import tasks as store

    tasks, scheduler, _ = apps
    assert tasks.post("/api/v1/tasks", json={"name": "slow", "type": "ai", "prompt": "p", "timeout": "10m"},
                      headers=AUTH).status_code == 201
    transition("default", "slow", "Running")
    assert tick(scheduler).status_code == 200  # within its timeout (a generous one: loaded CI machines are slow): nothing happens
    assert status(tasks, "slow")["phase"] == "Running"
    store.update("default", "slow", lambda doc: doc["status"].update(phaseTransitionTime="2020-01-01T00:00:00Z"))
    response = tick(scheduler)
    assert response.status_code == 200 and response.data == b""
    current = status(tasks, "slow")
    assert current["phase"] == "Failed" and current["message"] == "task timed out after 10m"
    assert any(c["type"] == "TimedOut" and c["status"] == "True" for c in current["conditions"])
    assert live_names() == []
    assert event_sink.of_type("dev.shoal.task.finished")[-1].data["message"] == "task timed out after 10m"


def test_failed_tasks_retry_with_backoff_until_the_policy_is_spent(apps, event_sink):
    from shared.clock import parse_rfc3339
    from shared.tasks.lifecycle import transition
    from shared.tasks.scheduler import run_tick

    tasks, _, _ = apps
    body = {"name": "flaky", "type": "ai", "prompt": "p",
            "retryPolicy": {"maxRetries": 2, "backoff": "10s", "backoffMultiplier": 3}}
    assert tasks.post("/api/v1/tasks", json=body, headers=AUTH).status_code == 201
    transition("default", "flaky", "Running")
    transition("default", "flaky", "Failed", message="boom")
    first = status(tasks, "flaky")
    # measured from the failure's own stamp, not from now: under load the status read may come seconds later
    wait = (parse_rfc3339(first["nextRetryTime"]) - parse_rfc3339(first["completionTime"])).total_seconds()
    assert 9 <= wait <= 11
    assert live_names() == ["default/flaky"]
    run_tick(later(5))  # backoff not over yet
    assert status(tasks, "flaky")["phase"] == "Failed"
    run_tick(later(12))
    again = status(tasks, "flaky")
    assert again["phase"] == "Pending" and again["message"] == "retry 1 of 2" and "nextRetryTime" not in again
    [retried] = event_sink.of_type("dev.shoal.task.retried")
    assert retried.data == {"namespace": "default", "name": "flaky", "type": "ai", "phase": "Pending",
                            "message": "retry 1 of 2"}
    transition("default", "flaky", "Running")
    transition("default", "flaky", "Failed", message="boom")
    second = status(tasks, "flaky")
    assert second["attempts"] == 2
    assert 29 <= (parse_rfc3339(second["nextRetryTime"])
                  - parse_rfc3339(second["completionTime"])).total_seconds() <= 31  # 10s × 3
    run_tick(later(32))
    transition("default", "flaky", "Running")
    transition("default", "flaky", "Failed", message="boom")
    final = status(tasks, "flaky")
    assert final["attempts"] == 3 and "nextRetryTime" not in final and live_names() == []


def test_a_cancelled_retry_does_not_come_back(apps):
    from shared.tasks.lifecycle import transition
    from shared.tasks.scheduler import run_tick

    tasks, _, _ = apps
    assert tasks.post("/api/v1/tasks", json={"name": "r", "type": "ai", "prompt": "p",
                                             "retryPolicy": {"maxRetries": 1}}, headers=AUTH).status_code == 201
    transition("default", "r", "Running")
    transition("default", "r", "Failed")
    assert tasks.post("/api/v1/tasks/r/cancel", json={"reason": "stop"}, headers=AUTH).status_code == 409
    current = status(tasks, "r")
    assert "nextRetryTime" not in current and current["message"] == "stop" and live_names() == []
    run_tick(later(3600))
    assert status(tasks, "r")["phase"] == "Failed"


def test_an_entry_without_its_task_is_kept_while_fresh_and_dropped_once_old(aws):
    """A create writes the live entry just before the task: a tick in that gap must not drop it."""
    from shared.store.batch import put_items
    from shared.tasks.repository import live_entry
    from shared.tasks.scheduler import LIVE_ENTRY_GRACE_SECONDS, run_tick

    put_items([live_entry("default", "arriving")])  # as store_new_task's batch, its task not stored yet
    run_tick()
    assert live_names() == ["default/arriving"]
    run_tick(later(LIVE_ENTRY_GRACE_SECONDS - 10))
    assert live_names() == ["default/arriving"]
    run_tick(later(LIVE_ENTRY_GRACE_SECONDS + 10))  # no task came: a create that failed left it
    assert live_names() == []


def test_a_pending_task_whose_created_event_was_lost_is_dispatched_again(apps, event_sink):
    from shared.tasks.scheduler import run_tick

    tasks, _, _ = apps
    assert tasks.post("/api/v1/tasks", json={"name": "lost", "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    assert tasks.post("/api/v1/tasks", json={"name": "paused", "type": "ai", "prompt": "p", "suspend": True},
                      headers=AUTH).status_code == 201
    run_tick(later(10))
    assert event_sink.of_type("dev.shoal.task.retried") == []
    run_tick(later(61))
    [again] = event_sink.of_type("dev.shoal.task.retried")
    assert again.data["name"] == "lost"  # the suspended one is left alone
    run_tick()  # just redispatched: not again on the next tick
    assert len(event_sink.of_type("dev.shoal.task.retried")) == 1
    assert status(tasks, "lost")["redispatchTime"]


def test_cron_tasks_are_scheduled_and_fire_one_run_per_due_time(apps, event_sink):
    from shared.tasks.scheduler import run_tick

    tasks, _, dispatcher = apps
    body = {"name": "nightly", "type": "ai", "prompt": "report", "schedule": "*/5 * * * *", "labels": {"app": "r"}}
    assert tasks.post("/api/v1/tasks", json=body, headers=AUTH).status_code == 201
    [created] = event_sink.of_type("dev.shoal.task.created")
    headers, data = to_http(created)
    assert dispatcher.post("/", data=data, headers=headers).status_code == 200
    parent = status(tasks, "nightly")
    assert parent["phase"] == "Scheduled" and parent["nextScheduleTime"]
    assert parent["message"] == f"next run at {parent['nextScheduleTime']}"
    run_tick()  # not due yet
    assert tasks.get("/api/v1/tasks/nightly/children", headers=AUTH).get_json()["items"] == []
    when = later(301)
    run_tick(when)
    run_tick(when)  # the same due time never fires twice
    [run] = tasks.get("/api/v1/tasks/nightly/children", headers=AUTH).get_json()["items"]
    due = int(datetime.fromisoformat(parent["nextScheduleTime"].replace("Z", "+00:00")).timestamp())
    assert run["metadata"]["name"] == f"nightly-{due}"
    assert run["metadata"]["labels"] == {"app": "r", "orka.ai/parent-task": "nightly", "orka.ai/scheduled-by": "nightly"}
    assert run["spec"] == {"type": "ai", "prompt": "report", "priority": 500}
    assert run["status"]["phase"] == "Pending"
    after = status(tasks, "nightly")
    assert after["lastScheduleTime"] == parent["nextScheduleTime"]
    assert after["nextScheduleTime"] > parent["nextScheduleTime"]
    assert [e.data["name"] for e in event_sink.of_type("dev.shoal.task.created")] == ["nightly", run["metadata"]["name"]]


def test_suspended_cron_tasks_do_not_fire(apps):
    from shared.tasks.repository import tasks as store
    from shared.tasks.scheduler import run_tick

    tasks, _, _ = apps
    assert tasks.post("/api/v1/tasks", json={"name": "c", "type": "ai", "prompt": "p", "schedule": "* * * * *"},
                      headers=AUTH).status_code == 201
    store.update("default", "c", lambda doc: (doc["status"].update(phase="Scheduled",
                                                                    nextScheduleTime="2020-01-01T00:00:00Z"),
                                              doc["spec"].update(suspend=True)))
    run_tick()
    assert tasks.get("/api/v1/tasks/c/children", headers=AUTH).get_json()["items"] == []


# -- webhookURL ---------------------------------------------------------------------------------------
def finish_with_webhook(tasks, scheduler, event_sink, url):
    from shared.tasks.lifecycle import transition

    assert tasks.post("/api/v1/tasks", json={"name": "w", "type": "ai", "prompt": "p", "webhookURL": url},
                      headers=AUTH).status_code == 201
    transition("default", "w", "Running")
    transition("default", "w", "Succeeded", message="done")
    [finished] = event_sink.of_type("dev.shoal.task.finished")
    headers, body = to_http(finished)
    return scheduler.post("/", data=body, headers=headers)


def test_webhook_is_notified_once_with_orkas_payload(apps, event_sink, httpserver, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1")
    reset_settings()
    received = []

    def hook(request):
        received.append((dict(request.headers), json.loads(request.data)))
        return Response(status=200)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(hook)
    tasks, scheduler, _ = apps
    response = finish_with_webhook(tasks, scheduler, event_sink, httpserver.url_for("/hook"))
    assert response.status_code == 200
    [(headers, payload)] = received
    assert headers["X-Orka-Task"] == "w" and headers["X-Orka-Namespace"] == "default"
    current = status(tasks, "w")
    assert payload == {"taskName": "w", "taskNamespace": "default", "phase": "Succeeded", "message": "done",
                       "startTime": current["startTime"], "completionTime": current["completionTime"],
                       "attempts": 1, "resultRef": {"available": False}}
    [cond] = [c for c in current["conditions"] if c["type"] == "WebhookDelivered"]
    assert cond["status"] == "True"


def test_webhook_to_a_private_address_is_refused_by_the_ssrf_guard(apps, event_sink, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("")
    tasks, scheduler, _ = apps
    assert finish_with_webhook(tasks, scheduler, event_sink, httpserver.url_for("/hook")).status_code == 200
    assert not [r for r, _ in httpserver.log if r.path == "/hook"]
    [cond] = [c for c in status(tasks, "w")["conditions"] if c["type"] == "WebhookDelivered"]
    assert cond["status"] == "False" and cond["reason"] == "Blocked"
    assert cond["message"].startswith("address ") and cond["message"].endswith(" of host localhost is not allowed")


def test_a_failing_webhook_makes_the_broker_retry(apps, event_sink, httpserver, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1")
    reset_settings()
    httpserver.expect_request("/hook", method="POST").respond_with_data("down", status=503)
    tasks, scheduler, _ = apps
    assert finish_with_webhook(tasks, scheduler, event_sink, httpserver.url_for("/hook")).status_code == 500


def test_a_finished_child_is_recorded_on_its_parent(apps, event_sink):
    from shared.auth.principal import Principal
    from shared.tasks.lifecycle import transition
    from shared.tasks.service import create_task

    tasks, scheduler, _ = apps
    assert tasks.post("/api/v1/tasks", json={"name": "boss", "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    create_task({"name": "kid", "type": "ai", "prompt": "p"}, Principal(kind="dev", subject="dev", username="dev"),
                server_labels={"orka.ai/parent-task": "boss", "orka.ai/delegated-agent": "helper"})
    transition("default", "kid", "Running")
    transition("default", "kid", "Succeeded")
    [finished] = event_sink.of_type("dev.shoal.task.finished")
    headers, body = to_http(finished)
    assert scheduler.post("/", data=body, headers=headers).status_code == 200
    assert status(tasks, "boss")["childTasks"] == [{"name": "kid", "agent": "helper", "phase": "Succeeded"}]


def test_a_tick_is_not_logged_at_info_level(apps, caplog):
    """`make run` wrote the scheduler's tick (every 5 s) to the terminal as an `event` line, forever."""
    import logging

    _, scheduler, _ = apps
    with caplog.at_level(logging.DEBUG, logger="shoal.events"):
        assert tick(scheduler).status_code == 200
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "shoal.events"]
    assert lines == [(logging.DEBUG, "event")]
