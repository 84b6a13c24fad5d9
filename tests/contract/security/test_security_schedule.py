"""Scheduled security scans on spec.schedule: the scheduler's tick starts a due scan once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import AUTH

BASE = "/api/v1/security/repositories"
PING = {"ce-specversion": "1.0", "ce-type": "dev.knative.sources.ping", "ce-source": "/apis/v1/pingsources/tick",
        "ce-id": "tick", "Content-Type": "application/json"}


def test_due_scan_starts_once_and_holds_the_slot(function_client):
    from shared.clock import parse_rfc3339
    from shared.security.schedule import run_tick
    from shared.security.store import repositories

    security = function_client("security")
    for name, schedule in (("nightly", "*/30 * * * *"), ("manual", None)):
        spec = {"repoURL": "https://github.com/example/app", "analysisAgentRef": {"name": "reviewer"}}
        if schedule:
            spec["schedule"] = schedule
        assert security.post(BASE, json={"name": name, "spec": spec}, headers=AUTH).status_code == 201
    due = parse_rfc3339(repositories.get("default", "nightly").doc["status"]["nextScheduleTime"])
    assert due > datetime.now(UTC) and due.minute % 30 == 0
    assert run_tick(due - timedelta(seconds=1)) == 0
    assert run_tick(due) == 1
    assert run_tick(due) == 0  # another replica's tick finds the slot taken
    [run] = security.get(f"{BASE}/nightly/scans", headers=AUTH).get_json()["items"]
    assert run["trigger"] == "schedule" and run["phase"] == "queued"
    assert security.get(f"{BASE}/manual/scans", headers=AUTH).get_json()["items"] == []
    assert security.post(f"{BASE}/nightly/scans", headers=AUTH).status_code == 409
    # the next slot while the scan still runs is skipped, never started twice
    later = due + timedelta(minutes=30)
    assert run_tick(later) == 0 and len(security.get(f"{BASE}/nightly/scans", headers=AUTH).get_json()["items"]) == 1
    # removing the schedule takes the repository out of the index
    spec = security.get(f"{BASE}/nightly", headers=AUTH).get_json()["spec"]
    spec.pop("schedule")
    updated = security.put(f"{BASE}/nightly", json={"spec": spec}, headers=AUTH).get_json()
    assert "nextScheduleTime" not in updated["status"]
    assert run_tick(later + timedelta(hours=1)) == 0


def test_scheduler_function_tick_reaches_security_scans(function_client):
    security, scheduler = function_client("security"), function_client("scheduler")
    spec = {"repoURL": "https://github.com/example/app", "analysisAgentRef": {"name": "reviewer"},
            "schedule": "* * * * *"}
    assert security.post(BASE, json={"name": "app", "spec": spec}, headers=AUTH).status_code == 201
    from shared.security.store import repositories

    repositories.update("default", "app", lambda d: d["status"].update(nextScheduleTime="2020-01-01T00:00:00Z"))
    assert scheduler.post("/", data=b"{}", headers=PING).status_code == 200
    [run] = security.get(f"{BASE}/app/scans", headers=AUTH).get_json()["items"]
    assert run["trigger"] == "schedule"

