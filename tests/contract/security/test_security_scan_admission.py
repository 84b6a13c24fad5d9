"""Manual scans are admitted atomically: the active-scan claim and the queued run are one write
(docs/reliability.md "Atomic admission"); concurrent requests get exactly one 201."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import AUTH

BASE = "/api/v1/security/repositories"
RUNNING = {"error": {"code": 409, "message": "a security scan is already running for this repository"}}


@pytest.fixture
def security(function_client):
    client = function_client("security")
    body = {"name": "app", "spec": {"repoURL": "https://github.com/example/app",
                                    "analysisAgentRef": {"name": "security-reviewer"}}}
    assert client.post(BASE, json=body, headers=AUTH).status_code == 201
    return client


@pytest.fixture
def slow_event_building(monkeypatch):
    """Building the run's `scan.queued` event takes a while: the window in which a second request
    used to find the slot claimed but no run stored, and claim it again."""
    import shared.events.outbox as outbox

    real = outbox.staged

    def slow(event):
        time.sleep(0.2)
        return real(event)

    monkeypatch.setattr(outbox, "staged", slow)


def concurrently(security, count: int) -> list[tuple[int, dict]]:
    app, start, answers = security.application, threading.Barrier(count), []

    def post() -> None:
        client = app.test_client()
        start.wait()
        response = client.post(f"{BASE}/app/scans", headers=AUTH)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=post) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def stored_runs() -> list:
    from shared.security.store import repo_scope, repositories, runs

    records, _ = runs.list_page(repo_scope(repositories.get("default", "app")), limit=None)
    return records


@pytest.mark.parametrize("count", [2, 8])
def test_concurrent_manual_scans_admit_exactly_one(security, event_sink, slow_event_building, count):
    answers = concurrently(security, count)
    assert sorted(status for status, _ in answers) == [201] + [409] * (count - 1)
    assert all(body == RUNNING for status, body in answers if status == 409)
    [run] = stored_runs()
    [created] = [body for status, body in answers if status == 201]
    assert run.name == created["id"] and run.doc["phase"] == "queued"
    repo = security.get(f"{BASE}/app", headers=AUTH).get_json()
    assert repo["status"]["activeScan"] == run.name
    assert [e.data["scanRunID"] for e in event_sink.of_type("dev.shoal.security.scan.queued")] == [run.name]


def test_a_scheduled_scan_and_a_manual_one_admit_exactly_one(security, event_sink, slow_event_building):
    from datetime import UTC, datetime, timedelta

    from shared.security.schedule import fire_if_due
    from shared.security.store import repositories

    repositories.update("default", "app", lambda doc: doc.update(
        spec={**doc["spec"], "schedule": "0 2 * * *"},
        status={**doc.get("status", {}), "nextScheduleTime": "2020-01-01T02:00:00Z"}))
    fired: list[bool] = []
    tick = threading.Thread(target=lambda: fired.append(fire_if_due("default", "app",
                                                                    datetime.now(UTC) + timedelta(minutes=1))))
    tick.start()
    manual = security.post(f"{BASE}/app/scans", headers=AUTH)
    tick.join()
    assert (manual.status_code == 201) != fired[0]  # exactly one of them started a scan
    assert len(stored_runs()) == 1
