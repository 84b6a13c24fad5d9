"""Store round trips of the hot paths (docs/performance.md): counted with botocore's event hooks
against moto, never timed. Each test also checks the state the calls leave behind."""

from __future__ import annotations

import pytest

from shared.events.envelope import build
from shared.store.outages import StoreUnavailable
from shared.tasks.repository import live, live_name, live_shard, tasks, unmark_live
from tests.conftest import AUTH
from tests.support.store_calls import store_calls

CRON = {"name": "nightly", "type": "ai", "prompt": "p", "schedule": "0 3 * * *"}


def live_entry(name: str):
    return live.get(live_shard("default", name), live_name("default", name))


@pytest.fixture
def api(function_client):
    return function_client("tasks")


def test_create_writes_the_live_entry_and_the_task_without_reading_first(api):
    with store_calls() as calls:
        response = api.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "p"}, headers=AUTH)
    assert response.status_code == 201
    # live entry, task, then the created event's feed record (sequence counter, record)
    assert calls == ["PutItem", "PutItem", "UpdateItem", "PutItem"]
    assert live_entry("job").doc == {"namespace": "default", "name": "job"}


def test_a_duplicate_create_is_409_and_keeps_the_first_task_and_its_entry(api):
    assert api.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "first"},
                    headers=AUTH).status_code == 201
    response = api.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "second"}, headers=AUTH)
    assert response.status_code == 409
    assert response.get_json() == {"error": {"code": 409, "message": "task already exists"}}
    assert tasks.get("default", "job").doc["spec"]["prompt"] == "first"
    assert live_entry("job") is not None


def test_a_create_the_store_fails_leaves_no_live_entry_behind(api, monkeypatch):
    def down(*args, **kwargs):
        raise StoreUnavailable("the store is unavailable")

    monkeypatch.setattr(tasks, "create", down)
    response = api.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "p"}, headers=AUTH)
    assert response.status_code == 503
    assert live_entry("job") is None


def test_get_reads_task_and_plan_in_one_batch(api):
    assert api.post("/api/v1/tasks", json=CRON, headers=AUTH).status_code == 201
    with store_calls() as calls:
        response = api.get("/api/v1/tasks/nightly", headers=AUTH)
    assert response.status_code == 200 and response.get_json()["metadata"]["name"] == "nightly"
    assert calls == ["BatchGetItem"]


def test_dispatching_a_cron_task_reads_it_once_and_writes_it_once(api):
    from shared.tasks.dispatch import on_task_created

    assert api.post("/api/v1/tasks", json=CRON, headers=AUTH).status_code == 201
    with store_calls() as calls:
        on_task_created(build("dev.shoal.task.created", {"namespace": "default", "name": "nightly"}))
    assert calls == ["GetItem", "PutItem"]
    status = tasks.get("default", "nightly").doc["status"]
    assert status["phase"] == "Scheduled" and status["nextScheduleTime"]
    assert live_entry("nightly") is not None  # still listed for the scheduler's tick


def test_a_retry_puts_the_task_back_in_the_live_index(api):
    from shared.tasks.lifecycle import transition

    assert api.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    assert transition("default", "job", "Running") is not None
    assert transition("default", "job", "Failed", message="boom") is not None
    unmark_live("default", "job")  # as the tick does for a failed task without a retry
    assert transition("default", "job", "Pending", only_from=frozenset({"Failed"})) is not None
    assert live_entry("job") is not None


@pytest.fixture
def internal(api, function_client):
    assert api.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    return function_client("internal")


def test_a_status_report_reads_the_task_once(internal):
    with store_calls() as calls:
        response = internal.post("/internal/v1/status/default/job", json={"phase": "Running"}, headers=AUTH)
    assert response.status_code == 204
    assert calls.count("GetItem") == 1
    assert tasks.get("default", "job").doc["status"]["phase"] == "Running"


def test_saving_a_plan_reads_task_and_plan_in_one_batch(internal, api):
    body = {"summary": "one", "progress_pct": 10, "goal_complete": False, "plan_document": "# Plan"}
    with store_calls() as first:
        assert internal.post("/internal/v1/plans/default/job", json=body, headers=AUTH).status_code == 204
    with store_calls() as second:
        assert internal.post("/internal/v1/plans/default/job", json={**body, "summary": "two"},
                             headers=AUTH).status_code == 204
    for calls in (first, second):
        assert calls[:2] == ["BatchGetItem", "PutItem"] and "GetItem" not in calls
    plan = api.get("/api/v1/tasks/job", headers=AUTH).get_json()["plan"]
    assert plan["summary"] == "two" and plan["progressPct"] == 10
