"""Contract: the worker API /internal/v1 (orka-behaviour.md §2, "Internal worker API")."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def apps(function_client):
    tasks = function_client("tasks")
    internal = function_client("internal")
    response = tasks.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "p"}, headers=AUTH)
    assert response.status_code == 201
    return tasks, internal


@pytest.mark.parametrize("method,path", [
    ("POST", "/internal/v1/results/default/job"), ("POST", "/internal/v1/plans/default/job"),
    ("GET", "/internal/v1/plans/default/job"), ("POST", "/internal/v1/status/default/job")])
def test_internal_routes_need_credentials(apps, method, path):
    _, internal = apps
    response = internal.open(path, method=method, data=b"x")
    assert response.status_code == 401
    assert response.get_json() == err(401, "missing authorization header")


def test_result_round_trip_marks_result_available_and_emits_event(apps, event_sink):
    tasks, internal = apps
    payload = "the answer\nwith ünïcode".encode()
    response = internal.post("/internal/v1/results/default/job", data=payload,
                             headers={**AUTH, "Content-Type": "application/octet-stream"})
    assert response.status_code == 204 and response.data == b""
    assert tasks.get("/api/v1/tasks/job/result", headers=AUTH).get_json() == {"result": payload.decode()}
    status = tasks.get("/api/v1/tasks/job", headers=AUTH).get_json()["status"]
    assert status["resultRef"] == {"available": True, "size": len(payload)}
    [saved] = event_sink.of_type("dev.shoal.task.result.saved")
    assert saved.data["size"] == len(payload)


def test_empty_result_is_400(apps):
    _, internal = apps
    response = internal.post("/internal/v1/results/default/job", data=b"", headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == err(400, "empty request body")


def test_result_over_10_mib_is_413_and_stores_nothing(apps):
    tasks, internal = apps
    response = internal.post("/internal/v1/results/default/job", data=b"x" * (10 * 1024 * 1024 + 1), headers=AUTH)
    assert response.status_code == 413
    assert response.get_json() == err(413, "result exceeds 10MB limit")
    assert tasks.get("/api/v1/tasks/job/result", headers=AUTH).status_code == 404


def test_result_of_exactly_10_mib_is_accepted(apps):
    _, internal = apps
    response = internal.post("/internal/v1/results/default/job", data=b"x" * (10 * 1024 * 1024), headers=AUTH)
    assert response.status_code == 204


def test_result_for_unknown_task_is_404(apps):
    _, internal = apps
    response = internal.post("/internal/v1/results/default/nope", data=b"x", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == err(404, "task not found")


def test_plan_snake_case_in_pascal_case_out_camel_case_in_task(apps, event_sink):
    tasks, internal = apps
    assert internal.get("/internal/v1/plans/default/job", headers=AUTH).get_json() == err(404, "plan not found")
    body = {"summary": "Completed phase 1", "progress_pct": 25, "goal_complete": False, "plan_document": "# Plan"}
    assert internal.post("/internal/v1/plans/default/job", json=body, headers=AUTH).status_code == 204
    plan = internal.get("/internal/v1/plans/default/job", headers=AUTH).get_json()
    assert {k: plan[k] for k in ("TaskName", "Namespace", "Iteration", "Summary", "ProgressPct", "GoalComplete",
                                 "PlanDocument")} == {
        "TaskName": "job", "Namespace": "default", "Iteration": 0, "Summary": "Completed phase 1",
        "ProgressPct": 25, "GoalComplete": False, "PlanDocument": "# Plan"}
    assert plan["CreatedAt"] and plan["UpdatedAt"]
    assert tasks.get("/api/v1/tasks/job/plan", headers=AUTH).get_json() == plan
    assert tasks.get("/api/v1/tasks/job", headers=AUTH).get_json()["plan"] == {
        "summary": "Completed phase 1", "progressPct": 25, "goalComplete": False, "planDocument": "# Plan",
        "iteration": 0}
    body["progress_pct"] = 60
    assert internal.post("/internal/v1/plans/default/job", json=body, headers=AUTH).status_code == 204
    assert internal.get("/internal/v1/plans/default/job", headers=AUTH).get_json()["ProgressPct"] == 60
    assert len(event_sink.of_type("dev.shoal.task.plan.saved")) == 2


@pytest.mark.parametrize("body,message", [
    ("not json", "invalid request body"), (json.dumps([1]), "invalid request body"),
    (json.dumps({"progress_pct": 101}), "progress_pct: Input should be less than or equal to 100"),
    (json.dumps({"summary": 3}), "summary: Input should be a valid string"),
    (json.dumps({"summary": "s", "progress": 5}), "progress: unknown field"),
])
def test_bad_plan_body_is_400_naming_the_field(apps, body, message):
    _, internal = apps
    response = internal.post("/internal/v1/plans/default/job", data=body,
                             headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json() == err(400, message)


def test_status_reports_move_the_phase_and_refuse_illegal_moves(apps, event_sink):
    tasks, internal = apps
    post = lambda body: internal.post("/internal/v1/status/default/job", json=body, headers=AUTH)  # noqa: E731
    assert post({"phase": "Succeeded"}).get_json() == err(409, "task is Pending, cannot move to Succeeded")
    assert post({"phase": "Running"}).status_code == 204
    assert post({"phase": "Succeeded", "message": "done"}).status_code == 204
    assert post({"phase": "Succeeded", "message": "done"}).status_code == 204  # a retried report
    assert post({"phase": "Failed"}).get_json() == err(409, "task is Succeeded, cannot move to Failed")
    assert post({"phase": "Cancelled"}).get_json() == err(400, "phase must be one of Running, Succeeded, Failed")
    assert post({"phase": "Running", "extra": 1}).get_json() == err(400, "extra: unknown field")
    status = tasks.get("/api/v1/tasks/job", headers=AUTH).get_json()["status"]
    assert status["phase"] == "Succeeded" and status["message"] == "done"
    assert status["startTime"] and status["completionTime"] and status["attempts"] == 1
    assert [e.data["phase"] for e in event_sink.events if e.type != "dev.shoal.task.created"] == [
        "Running", "Succeeded"]
    assert [e.type for e in event_sink.events] == [
        "dev.shoal.task.created", "dev.shoal.task.started", "dev.shoal.task.finished"]


def test_a_service_account_of_another_namespace_is_403_cross_namespace(apps, monkeypatch):
    from shared.auth import resolver
    from shared.auth.principal import Principal

    def team_b_worker(token, headers):
        if token == "team-b-sa":
            return Principal(kind="serviceaccount", subject="system:serviceaccount:team-b:worker",
                             username="system:serviceaccount:team-b:worker", namespace="team-b")
        return None

    monkeypatch.setattr(resolver, "AUTHENTICATORS", [team_b_worker, *resolver.AUTHENTICATORS])
    _, internal = apps
    response = internal.post("/internal/v1/results/default/job", data=b"x",
                             headers={"Authorization": "Bearer team-b-sa"})
    assert response.status_code == 403
    assert response.get_json() == err(403, "cross-namespace access denied")
    assert internal.get("/internal/v1/plans/default/job", headers={"Authorization": "Bearer team-b-sa"}
                        ).get_json() == err(403, "cross-namespace access denied")
