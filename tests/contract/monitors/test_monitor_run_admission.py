"""Manual monitor runs are admitted atomically: the active-run claim and the queued run are one write
(docs/reliability.md "Atomic admission"); concurrent requests get exactly one 201."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import AUTH
from tests.contract.monitors.test_monitors import create, err
from tests.contract.monitors.test_monitors import security as security  # noqa: F401 - the fixture

RUNS = "/api/v1/monitors/repositories/example-app/runs"
ACTIVE = err(409, "repository monitor already has an active run")


@pytest.fixture
def slow_run_building(monkeypatch):
    """Building the run's document takes a while: the window in which a second request used to find the
    slot claimed but no run stored under its id, take the claim for a finished run and claim it again."""
    import shared.monitors.runs as module

    real = module.now_rfc3339

    def slow() -> str:
        time.sleep(0.2)
        return real()

    monkeypatch.setattr(module, "now_rfc3339", slow)


def concurrently(client, count: int) -> list[tuple[int, dict]]:
    app, start, answers = client.application, threading.Barrier(count), []

    def post() -> None:
        own = app.test_client()
        start.wait()
        response = own.post(RUNS, headers=AUTH)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=post) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.parametrize("count", [2, 8])
def test_concurrent_manual_runs_admit_exactly_one(security, event_sink, slow_run_building, count):  # noqa: F811
    from shared.monitors.store import runs, scope

    assert create(security).status_code == 201
    answers = concurrently(security, count)
    assert sorted(status for status, _ in answers) == [201] + [409] * (count - 1)
    assert all(body == ACTIVE for status, body in answers if status == 409)
    [created] = [body for status, body in answers if status == 201]
    stored, _ = runs.list_page(scope("default", "example-app"), limit=None)
    assert [run.name for run in stored] == [created["id"]] and stored[0].doc["phase"] == "queued"
    monitor = security.get("/api/v1/monitors/repositories/example-app", headers=AUTH).get_json()
    assert monitor["status"]["activeRun"] == created["id"]
    assert [e.data["runID"] for e in event_sink.of_type("dev.shoal.monitor.run.queued")] == [created["id"]]
