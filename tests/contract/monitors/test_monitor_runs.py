"""What a monitor run does, against a fake GitHub REST API (runs executed by the github function)."""

from __future__ import annotations

import pytest

from shared.events.envelope import to_http
from tests.conftest import AUTH
from tests.support.fake_github import pull
from tests.support.monitors import monitor_world

SHA1, SHA2, SHA3 = "a" * 40, "b" * 40, "c" * 40


@pytest.fixture
def env(function_client, fake_kube, monkeypatch):
    with monitor_world(fake_kube, monkeypatch) as github_api:
        security, github, tasks = function_client("security"), function_client("github"), function_client("tasks")
        body = {"name": "app", "spec": {"repoURL": "https://github.com/example/app", "gitSecretRef": {"name": "gh"},
                                        "agents": {"reviewer": {"name": "reviewer"}},
                                        "targets": {"pullRequests": {"maxPerRun": 5}},
                                        "policy": {"pauseLabels": ["orka:pause"]}}}
        assert security.post("/api/v1/monitors/repositories", json=body, headers=AUTH).status_code == 201
        yield security, github, tasks, github_api


def run_and_execute(security, github, event_sink, body=None) -> dict:
    response = security.post("/api/v1/monitors/repositories/app/runs", json=body, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    run_id = response.get_json()["id"]
    [event] = [e for e in event_sink.of_type("dev.shoal.monitor.run.queued") if e.data["runID"] == run_id]
    headers, data = to_http(event)
    assert github.post("/", data=data, headers=headers).status_code == 200
    runs = security.get("/api/v1/monitors/repositories/app/runs?limit=500", headers=AUTH).get_json()["items"]
    return next(r for r in runs if r["id"] == run_id)


def test_inventory_queues_one_review_per_head_and_frees_the_monitor(env, event_sink):
    security, github, tasks, github_api = env
    github_api.pulls["example/app"] = [pull(1, SHA1), pull(2, SHA2, draft=True), pull(3, SHA3, labels=("orka:pause",))]
    run = run_and_execute(security, github, event_sink)
    assert run["phase"] == "succeeded" and run["pullRequests"] == 1 and run["reviewsQueued"] == 1
    assert github_api.requests[0]["authorization"] == "Bearer ghp_secret"
    assert github_api.requests[0]["query"]["state"] == "open" and github_api.requests[0]["query"]["per_page"] == "5"
    [item] = security.get("/api/v1/monitors/repositories/app/items", headers=AUTH).get_json()["items"]
    assert item["number"] == 1 and item["headSHA"] == SHA1 and item["state"] == "reviewing"
    task = tasks.get(f"/api/v1/tasks/{item['reviewTask']}", headers=AUTH).get_json()
    assert task["spec"]["type"] == "agent" and task["spec"]["agentRef"] == {"name": "reviewer"}
    assert task["spec"]["workspace"] == {"gitRepo": "https://github.com/example/app.git", "ref": "branch-1",
                                         "push": False}  # read-only: never pushed
    assert "gitSecretRef" not in task["spec"]["workspace"]  # a review never gets push credentials
    assert "ghp_secret" not in str(task)
    # the slot is free again: a second run of the same heads queues no new review
    again = run_and_execute(security, github, event_sink)
    assert again["phase"] == "succeeded" and again["reviewsQueued"] == 0
    events = security.get("/api/v1/monitors/events?name=app&eventType=ReviewQueued", headers=AUTH).get_json()
    assert len(events["items"]) == 1


def test_new_head_gets_a_new_review_and_closed_prs_are_retired(env, event_sink):
    security, github, _, github_api = env
    github_api.pulls["example/app"] = [pull(1, SHA1), pull(4, SHA3)]
    run_and_execute(security, github, event_sink)
    github_api.pulls["example/app"] = [pull(1, SHA2)]  # PR 1 got a push; PR 4 was closed
    run = run_and_execute(security, github, event_sink)
    assert run["reviewsQueued"] == 1
    states = {i["number"]: (i["state"], i["headSHA"]) for i in
              security.get("/api/v1/monitors/repositories/app/items", headers=AUTH).get_json()["items"]}
    assert states == {1: ("reviewing", SHA2), 4: ("closed", SHA3)}


def test_exact_head_run_skips_a_moved_head(env, event_sink):
    security, github, _, github_api = env
    github_api.pulls["example/app"] = [pull(7, SHA2)]
    run = run_and_execute(security, github, event_sink, {"targetNumber": 7, "targetSHA": SHA1})
    assert run["phase"] == "succeeded" and run["reviewsQueued"] == 0
    assert github_api.requests[-1]["path"] == "/repos/example/app/pulls/7"
    moved = security.get("/api/v1/monitors/events?name=app&eventType=HeadMoved", headers=AUTH).get_json()["items"]
    assert moved[0]["itemNumber"] == 7


def test_github_failure_fails_the_run_and_frees_the_monitor(env, event_sink):
    security, github, _, _ = env
    run = run_and_execute(security, github, event_sink, {"targetNumber": 99})  # the fake answers 404
    assert run["phase"] == "failed" and run["message"] == "GitHub answered 404 for /repos/example/app/pulls/99"
    assert security.post("/api/v1/monitors/repositories/app/runs", headers=AUTH).status_code == 201


def test_redelivered_run_event_executes_once(env, event_sink):
    security, github, _, github_api = env
    github_api.pulls["example/app"] = [pull(1, SHA1)]
    run_and_execute(security, github, event_sink)
    calls = len(github_api.requests)
    [event] = event_sink.of_type("dev.shoal.monitor.run.queued")
    from dataclasses import replace

    headers, data = to_http(replace(event, id="another-id"))  # same run, new event id: the run is finished
    assert github.post("/", data=data, headers=headers).status_code == 200
    assert len(github_api.requests) == calls


# -- stale-review handling (review.staleReviewTTL) -------------------------------------------------------
def _set_ttl(security, ttl: str) -> None:
    spec = security.get("/api/v1/monitors/repositories/app", headers=AUTH).get_json()["spec"]
    spec["review"]["staleReviewTTL"] = ttl
    assert security.put("/api/v1/monitors/repositories/app", json={"spec": spec}, headers=AUTH).status_code == 200


def _age_review(number: int, seconds: int) -> None:
    from datetime import UTC, datetime, timedelta

    from shared.monitors.execute import item_key
    from shared.monitors.store import items, scope

    stamp = (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    items.update(scope("default", "app"), item_key(number), lambda doc: doc.update(reviewedAt=stamp))


def test_a_review_older_than_the_ttl_on_the_same_head_is_reviewed_again(env, event_sink):
    security, github, _, github_api = env
    _set_ttl(security, "24h")
    github_api.pulls["example/app"] = [pull(1, SHA1), pull(2, SHA2)]
    assert run_and_execute(security, github, event_sink)["reviewsQueued"] == 2
    first = {i["number"]: i["reviewTask"] for i in
             security.get("/api/v1/monitors/repositories/app/items", headers=AUTH).get_json()["items"]}
    _age_review(1, 23 * 3600)  # younger than the TTL: current
    assert run_and_execute(security, github, event_sink)["reviewsQueued"] == 0
    _age_review(1, 25 * 3600)  # older than the TTL on the same head: stale
    run = run_and_execute(security, github, event_sink)
    assert run["reviewsQueued"] == 1
    now = {i["number"]: i for i in
           security.get("/api/v1/monitors/repositories/app/items", headers=AUTH).get_json()["items"]}
    assert now[1]["headSHA"] == SHA1 and now[1]["reviewTask"] != first[1] and now[1]["reviewRound"] == 1
    assert now[1]["state"] == "reviewing" and now[2]["reviewTask"] == first[2]
    stale = security.get("/api/v1/monitors/events?name=app&eventType=StaleReviewRequeued",
                         headers=AUTH).get_json()["items"]
    assert [(e["itemNumber"], e["runID"]) for e in stale] == [(1, run["id"])]
    # the new review is fresh again: the next run queues nothing
    assert run_and_execute(security, github, event_sink)["reviewsQueued"] == 0


def test_a_new_head_is_reviewed_at_once_whatever_the_ttl(env, event_sink):
    security, github, _, github_api = env
    _set_ttl(security, "720h")
    github_api.pulls["example/app"] = [pull(1, SHA1)]
    run_and_execute(security, github, event_sink)
    github_api.pulls["example/app"] = [pull(1, SHA2)]
    assert run_and_execute(security, github, event_sink)["reviewsQueued"] == 1
    [item] = security.get("/api/v1/monitors/repositories/app/items", headers=AUTH).get_json()["items"]
    assert item["headSHA"] == SHA2 and item["reviewRound"] == 0


def test_a_named_git_secret_that_is_gone_fails_the_run_before_github_is_called(env, event_sink, fake_kube):
    security, github, _, github_api = env
    del fake_kube.objects[("/api/v1", "secrets", "default", "gh")]
    run = run_and_execute(security, github, event_sink)
    assert (run["phase"], run["message"]) == ("failed", 'git secret "gh" not found')
    assert github_api.requests == []  # never unauthenticated, never another Secret
