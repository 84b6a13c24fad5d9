"""Repository monitor policy and review results (issue 19 "Repository monitors"): protected labels,
validation commands carried to the review task and gating its verdict, and the item's verdict and
automerge state from the review result, against a fake GitHub REST API and the real functions."""

from __future__ import annotations

import json

import pytest

from shared.events.envelope import to_http
from tests.conftest import AUTH
from tests.support.fake_github import pull
from tests.support.monitors import monitor_world
from tests.support.security import finish_task

SHA1, SHA2 = "a" * 40, "b" * 40


@pytest.fixture
def env(function_client, fake_kube, monkeypatch):
    with monitor_world(fake_kube, monkeypatch) as github_api:
        apps = {name: function_client(name) for name in ("security", "github", "tasks", "internal", "reactor")}
        body = {"name": "app", "spec": {"repoURL": "https://github.com/example/app", "gitSecretRef": {"name": "gh"},
                                        "agents": {"reviewer": {"name": "reviewer"}},
                                        "policy": {"protectedLabels": ["security-sensitive"],
                                                   "pauseLabels": ["orka:pause"]},
                                        "validation": {"commands": ["make lint", "make test"]}}}
        assert apps["security"].post("/api/v1/monitors/repositories", json=body, headers=AUTH).status_code == 201
        yield apps, github_api


def run(apps, event_sink) -> dict:
    response = apps["security"].post("/api/v1/monitors/repositories/app/runs", json={}, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    run_id = response.get_json()["id"]
    [event] = [e for e in event_sink.of_type("dev.shoal.monitor.run.queued") if e.data["runID"] == run_id]
    headers, data = to_http(event)
    assert apps["github"].post("/", data=data, headers=headers).status_code == 200
    runs = apps["security"].get("/api/v1/monitors/repositories/app/runs?limit=500", headers=AUTH).get_json()["items"]
    return next(r for r in runs if r["id"] == run_id)


def items(apps, query: str = "") -> dict[int, dict]:
    found = apps["security"].get(f"/api/v1/monitors/repositories/app/items{query}", headers=AUTH).get_json()["items"]
    return {i["number"]: i for i in found}


def test_a_protected_label_skips_the_pr_and_marks_its_item_blocked(env, event_sink):
    apps, github_api = env
    github_api.pulls["example/app"] = [pull(1, SHA1), pull(2, SHA2, labels=("Security-Sensitive",)),
                                       pull(3, "c" * 40, labels=("orka:pause",))]
    result = run(apps, event_sink)
    assert (result["phase"], result["pullRequests"], result["reviewsQueued"]) == ("succeeded", 1, 1)
    found = items(apps)
    assert set(found) == {1, 2}
    blocked = found[2]
    assert {k: blocked[k] for k in ("state", "verdict", "skipReason", "blockedLabel", "headSHA", "automergeState")} == {
        "state": "blocked", "verdict": "skipped", "skipReason": "blocked_label", "blockedLabel": "Security-Sensitive",
        "headSHA": SHA2, "automergeState": ""}
    assert "reviewTask" not in blocked
    assert list(items(apps, "?state=blocked")) == [2]
    events = apps["security"].get("/api/v1/monitors/events?name=app&eventType=ItemProtected",
                                  headers=AUTH).get_json()["items"]
    assert [(e["itemNumber"], e["message"]) for e in events] == [(2, "PR #2 skipped: protected label Security-Sensitive")]
    # only PR 1 got a review task
    names = [t["metadata"]["name"] for t in apps["tasks"].get("/api/v1/tasks", headers=AUTH).get_json()["items"]]
    assert names == [found[1]["reviewTask"]]

    # the label removed: the next run reviews it
    github_api.pulls["example/app"][1]["labels"] = []
    assert run(apps, event_sink)["reviewsQueued"] == 1
    again = items(apps)[2]
    assert again["state"] == "reviewing" and again["skipReason"] == "" and again["blockedLabel"] == ""


def test_the_review_task_is_read_only_and_carries_the_validation_commands(env, event_sink):
    apps, github_api = env
    github_api.pulls["example/app"] = [pull(1, SHA1)]
    run(apps, event_sink)
    task = apps["tasks"].get(f"/api/v1/tasks/{items(apps)[1]['reviewTask']}", headers=AUTH).get_json()
    assert task["spec"]["workspace"] == {"gitRepo": "https://github.com/example/app.git", "ref": "branch-1",
                                         "push": False, "validationCommands": ["make lint", "make test"]}
    assert '"verdict": "passed|needs_changes|needs_human|security_sensitive|skipped"' in task["spec"]["prompt"]


def finish_review(apps, event_sink, *, answer: str, validation: list[dict] | None, phase: str = "Succeeded") -> dict:
    from shared.tasks.lifecycle import transition

    item = items(apps)[1]
    name = item["reviewTask"]
    transition("default", name, "Running")
    if validation is not None:
        changes = json.dumps({"runtime": "claude", "validation": validation}).encode()
        response = apps["internal"].post(f"/internal/v1/artifacts/default/{name}/workspace-changes.json",
                                         data=changes, headers={**AUTH, "Content-Type": "application/json"})
        assert response.status_code == 201, response.get_json()
    finish_task(apps["internal"], apps["reactor"], event_sink, name, answer if phase == "Succeeded" else None,
                phase=phase)
    return items(apps)[1]


def verdict(value: str, sha: str = SHA1) -> str:
    return ("The change is fine.\n" + json.dumps({"schemaVersion": "orka.prReview.v1", "headSHA": sha,
                                                  "verdict": value, "summary": f"summary {value}"}))


PASSED = [{"command": "make lint", "exitCode": 0, "passed": True}, {"command": "make test", "exitCode": 0, "passed": True}]
FAILED = [{"command": "make lint", "exitCode": 0, "passed": True}, {"command": "make test", "exitCode": 2, "passed": False}]


@pytest.mark.parametrize("answer,validation,phase,expected", [
    (verdict("passed"), PASSED, "Succeeded",
     {"verdict": "passed", "skipReason": "", "automergeState": "merge_ready",
      "validation": {"state": "passed", "failedCommands": []}, "summary": "summary passed"}),
    (verdict("passed"), FAILED, "Succeeded",
     {"verdict": "needs_changes", "skipReason": "validation_failed", "automergeState": "",
      "validation": {"state": "failed", "failedCommands": ["make test"]}, "summary": "summary passed"}),
    (verdict("needs_human"), PASSED, "Succeeded",
     {"verdict": "needs_human", "skipReason": "", "automergeState": "",
      "validation": {"state": "passed", "failedCommands": []}, "summary": "summary needs_human"}),
    ("Looks good to me!", None, "Succeeded",
     {"verdict": "failed", "skipReason": "", "automergeState": "",
      "validation": {"state": "none", "failedCommands": []}, "summary": "the review answer carried no valid verdict"}),
    (verdict("passed", SHA2), PASSED, "Succeeded",
     {"verdict": "stale", "skipReason": "stale_head", "automergeState": "",
      "validation": {"state": "passed", "failedCommands": []}, "summary": "summary passed"}),
    (None, None, "Failed",
     {"verdict": "failed", "skipReason": "", "automergeState": "",
      "validation": {"state": "none", "failedCommands": []}, "summary": "review task failed"}),
])
def test_the_review_result_sets_the_items_verdict_gate_and_automerge_state(env, event_sink, answer, validation,
                                                                           phase, expected):
    apps, github_api = env
    github_api.pulls["example/app"] = [pull(1, SHA1)]
    run(apps, event_sink)
    item = finish_review(apps, event_sink, answer=answer, validation=validation, phase=phase)
    assert item["state"] == "reviewed"
    assert {k: item[k] for k in expected} == expected
    assert list(items(apps, f"?verdict={expected['verdict']}")) == [1]
    events = apps["security"].get("/api/v1/monitors/events?name=app&eventType=ReviewResultIngested",
                                  headers=AUTH).get_json()["items"]
    assert len(events) == 1 and events[0]["message"].endswith(f": {expected['verdict']}")


def test_a_redelivered_result_changes_nothing_and_a_blocking_repair_withholds_merge_ready(env, event_sink):
    from shared.monitors.execute import item_key
    from shared.monitors.store import items as item_store
    from shared.monitors.store import scope

    apps, github_api = env
    github_api.pulls["example/app"] = [pull(1, SHA1)]
    run(apps, event_sink)
    item_store.update(scope("default", "app"), item_key(1), lambda d: d.update(repairState="failed"))
    item = finish_review(apps, event_sink, answer=verdict("passed"), validation=PASSED)
    assert item["verdict"] == "passed" and item["automergeState"] == "" and item["repairState"] == "failed"
    [finished] = [e for e in event_sink.of_type("dev.shoal.task.finished") if e.data["name"] == item["reviewTask"]]
    headers, body = to_http(finished)
    assert apps["reactor"].post("/", data=body, headers=headers).status_code == 200
    assert items(apps)[1] == item
    events = apps["security"].get("/api/v1/monitors/events?name=app&eventType=ReviewResultIngested",
                                  headers=AUTH).get_json()["items"]
    assert len(events) == 1


def test_a_task_with_malformed_validation_commands_is_400(env):
    apps, _ = env
    response = apps["tasks"].post("/api/v1/tasks", headers=AUTH, json={
        "name": "t", "type": "agent", "agentRef": {"name": "reviewer"}, "prompt": "p",
        "workspace": {"gitRepo": "https://github.com/example/app.git", "validationCommands": "make test"}})
    assert (response.status_code, response.get_json()) == (400, {"error": {
        "code": 400, "message": "invalid spec.workspace.validationCommands: must be a list of at most 20 commands"}})
    assert apps["tasks"].get("/api/v1/tasks", headers=AUTH).get_json()["items"] == []
