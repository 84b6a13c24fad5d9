"""Worker leases: heartbeats, the scheduler's reclaim of lost workers, and fencing by attempt (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import AUTH

LEASE, GRACE = 60.0, 120.0  # the defaults of SHOAL_TASK_LEASE_SECONDS and SHOAL_TASK_STARTUP_GRACE_SECONDS


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def as_attempt(attempt: int) -> dict[str, str]:
    return {**AUTH, "X-Shoal-Task-Attempt": str(attempt)}


@pytest.fixture
def apps(function_client):
    return function_client("tasks"), function_client("internal")


def create_running(tasks, name: str, **fields) -> None:
    from shared.tasks.lifecycle import transition

    body = {"name": name, "type": "ai", "prompt": "p", **fields}
    assert tasks.post("/api/v1/tasks", json=body, headers=AUTH).status_code == 201
    assert transition("default", name, "Running") is not None


def status(tasks, name: str) -> dict:
    return tasks.get(f"/api/v1/tasks/{name}", headers=AUTH).get_json()["status"]


def beat(internal, name: str, attempt: int):
    return internal.post(f"/internal/v1/heartbeat/default/{name}", json={"attempt": attempt}, headers=AUTH)


def lost(current: dict) -> list[dict]:
    return [c for c in current.get("conditions", []) if c["type"] == "WorkerLost"]


# -- the heartbeat route ---------------------------------------------------------------------------------
def test_a_heartbeat_renews_the_current_attempts_lease_and_refuses_others(apps):
    from shared.tasks.leases import leases

    tasks, internal = apps
    create_running(tasks, "hb")
    assert beat(internal, "hb", 1).status_code == 204
    assert leases.get("default", "hb").doc["attempt"] == 1
    assert beat(internal, "hb", 2).get_json() == err(409, "stale attempt")  # not started yet
    # the attempt may come in the header instead of the body (the worker client sends it on every call)
    assert internal.post("/internal/v1/heartbeat/default/hb", headers=as_attempt(1)).status_code == 204
    assert internal.post("/internal/v1/heartbeat/default/hb", json={}, headers=AUTH).get_json() == err(
        400, "attempt is required")
    for bad in (0, -1, "x", True, 1.5):
        answer = internal.post("/internal/v1/heartbeat/default/hb", json={"attempt": bad}, headers=AUTH)
        assert answer.get_json() == err(400, "attempt must be a positive integer"), bad
    assert beat(internal, "ghost", 1).get_json() == err(404, "task not found")
    assert internal.post("/internal/v1/heartbeat/default/hb", json={"attempt": 1}).status_code == 401


def test_a_late_beat_of_an_older_attempt_never_moves_the_lease_back(apps):
    from shared.tasks.leases import leases, renew
    from shared.tasks.repository import tasks as store

    tasks, _ = apps
    create_running(tasks, "mono")
    record = store.get("default", "mono")
    renew(record, 2, now=1000.0)
    renew(record, 1, now=2000.0)  # slipped past the route's check while attempt 2 took over
    assert leases.get("default", "mono").doc == {"attempt": 2, "renewed": 1000.0}


# -- reclaim -----------------------------------------------------------------------------------------------
def test_a_running_task_whose_heartbeat_lapsed_fails_with_worker_lost(apps, event_sink):
    from shared.tasks.scheduler import run_tick

    tasks, internal = apps
    create_running(tasks, "gone")
    assert beat(internal, "gone", 1).status_code == 204
    run_tick(later(LEASE - 5))  # within the lease
    assert status(tasks, "gone")["phase"] == "Running"
    run_tick(later(LEASE + 5))
    current = status(tasks, "gone")
    assert current["phase"] == "Failed" and current["attempts"] == 1
    assert current["message"].startswith("worker lost: no heartbeat for ") and current["message"].endswith(
        "s (attempt 1)")
    [condition] = lost(current)
    assert condition["status"] == "True" and condition["reason"] == "WorkerLost"
    assert "nextRetryTime" not in current  # no retryPolicy: finished for good
    assert event_sink.of_type("dev.shoal.task.finished")[-1].data["message"] == current["message"]


def test_a_task_that_never_heartbeated_gets_the_startup_grace(apps):
    from shared.tasks.scheduler import run_tick

    tasks, _ = apps
    create_running(tasks, "slow-start")
    run_tick(later(LEASE + GRACE - 10))  # the pod may still be pulling its image
    assert status(tasks, "slow-start")["phase"] == "Running"
    run_tick(later(LEASE + GRACE + 10))
    current = status(tasks, "slow-start")
    assert current["phase"] == "Failed" and lost(current)


def test_a_lost_attempt_is_retried_per_its_policy_and_its_late_reports_are_refused(apps, event_sink):
    from shared.tasks.lifecycle import transition
    from shared.tasks.scheduler import run_tick

    tasks, internal = apps
    create_running(tasks, "again", retryPolicy={"maxRetries": 1, "backoff": "1s"})
    assert beat(internal, "again", 1).status_code == 204
    run_tick(later(LEASE + 5))
    first = status(tasks, "again")
    assert first["phase"] == "Failed" and first["nextRetryTime"] and lost(first)  # a retry follows
    run_tick(later(LEASE + 10))
    assert status(tasks, "again")["message"] == "retry 1 of 1"
    assert transition("default", "again", "Running") is not None  # the dispatcher starts attempt 2
    assert status(tasks, "again")["attempts"] == 2

    # attempt 1's worker was only cut off: everything it still sends is refused, never merged
    old = as_attempt(1)
    assert beat(internal, "again", 1).get_json() == err(409, "stale attempt")
    assert internal.post("/internal/v1/status/default/again", json={"phase": "Succeeded"},
                         headers=old).get_json() == err(409, "stale attempt")
    assert internal.post("/internal/v1/results/default/again", data=b"late", headers=old).get_json() == err(
        409, "stale attempt")
    assert internal.post("/internal/v1/plans/default/again", json={"summary": "old"}, headers=old).get_json() == err(
        409, "stale attempt")
    assert internal.post("/internal/v1/events/default/again", json={"event": "log", "data": {}},
                         headers=old).get_json() == err(409, "stale attempt")
    assert internal.get("/internal/v1/tasks/default/again/spec", headers=old).get_json() == err(409, "stale attempt")
    current = status(tasks, "again")
    assert current["phase"] == "Running" and not current.get("resultRef", {}).get("available")
    assert tasks.get("/api/v1/tasks/again/plan", headers=AUTH).status_code == 404

    # attempt 2's lease starts afresh: attempt 1's beats do not count for it
    run_tick(later(LEASE + 5))
    assert status(tasks, "again")["phase"] == "Running"  # in its startup grace
    now = as_attempt(2)
    assert beat(internal, "again", 2).status_code == 204
    assert internal.post("/internal/v1/results/default/again", data=b"done", headers=now).status_code == 204
    assert internal.post("/internal/v1/status/default/again", json={"phase": "Succeeded"},
                         headers=now).status_code == 204
    assert internal.post("/internal/v1/status/default/again", json={"phase": "Succeeded"},
                         headers=now).status_code == 204  # a repeated report stays harmless
    assert tasks.get("/api/v1/tasks/again/result", headers=AUTH).get_json() == {"result": "done"}
    assert status(tasks, "again")["phase"] == "Succeeded"


def test_a_reclaimed_attempt_without_retries_cannot_report_success_afterwards(apps):
    from shared.tasks.scheduler import run_tick

    tasks, internal = apps
    create_running(tasks, "late")
    run_tick(later(LEASE + GRACE + 5))
    assert status(tasks, "late")["phase"] == "Failed"
    response = internal.post("/internal/v1/status/default/late", json={"phase": "Succeeded"}, headers=as_attempt(1))
    assert response.get_json() == err(409, "stale attempt")
    assert internal.post("/internal/v1/results/default/late", data=b"x", headers=as_attempt(1)).status_code == 409
    assert status(tasks, "late")["phase"] == "Failed"


def test_a_report_that_lands_first_wins_over_the_reclaim(apps):
    """The tick read the task Running with a lapsed lease; the worker's report lands before the reclaim's write:
    the reclaim is fenced by the attempt and the phase, so the task stays Succeeded."""
    from shared.tasks import scheduler
    from shared.tasks.repository import tasks as store

    tasks, internal = apps
    create_running(tasks, "photo")
    seen = store.get("default", "photo")  # what the tick read
    assert internal.post("/internal/v1/status/default/photo", json={"phase": "Succeeded"},
                         headers=as_attempt(1)).status_code == 204
    scheduler._reclaim(seen, LEASE + 1)
    current = status(tasks, "photo")
    assert current["phase"] == "Succeeded" and not lost(current)


def test_container_tasks_hold_no_lease(apps):
    from shared.tasks.scheduler import run_tick

    tasks, _ = apps
    create_running(tasks, "box", type="container", image="busybox", prompt=None)
    run_tick(later(LEASE + GRACE + 600))  # their Job's state tells (Kubernetes read-back), not heartbeats
    assert status(tasks, "box")["phase"] == "Running"


def test_deleting_a_task_drops_its_lease(apps):
    from shared.tasks.leases import leases

    tasks, internal = apps
    create_running(tasks, "bye")
    assert beat(internal, "bye", 1).status_code == 204
    assert tasks.delete("/api/v1/tasks/bye", headers=AUTH).status_code == 204
    assert leases.get("default", "bye") is None


# -- the local executor's watcher ------------------------------------------------------------------------------
class _Exited:
    def __init__(self, code: int) -> None:
        self.code = code

    def wait(self) -> int:
        return self.code


class _Out:
    def close(self) -> None:
        pass


def test_the_watcher_fails_only_the_attempt_it_watched(apps, tmp_path):
    """A worker killed under a live dispatcher fails its own attempt at once (WorkerLost); the watcher of an
    attempt that was already reclaimed and retried leaves the new attempt alone."""
    from shared.executor.local import LocalExecutor
    from shared.tasks.dispatch import worker_exited
    from shared.tasks.lifecycle import transition

    tasks, _ = apps
    create_running(tasks, "w", retryPolicy={"maxRetries": 1})
    transition("default", "w", "Failed", message="worker lost")
    transition("default", "w", "Pending")
    transition("default", "w", "Running")  # attempt 2
    log_path = tmp_path / "w.log"
    log_path.write_text('Traceback:\n  File "/work/checkout/shared/worker/run.py", line 1\nKilled\n')
    LocalExecutor.instance()._watch("default", "w", 1, _Exited(-9), _Out(), log_path, None, worker_exited)
    assert status(tasks, "w")["phase"] == "Running"
    LocalExecutor.instance()._watch("default", "w", 2, _Exited(-9), _Out(), log_path, None, worker_exited)
    current = status(tasks, "w")
    assert current["phase"] == "Failed" and lost(current)
    assert current["message"] == ('worker exited with code -9 without reporting: Traceback:\n'
                                  '  File "run.py", line 1\nKilled')
