"""Event triggers, the signed GitHub receiver, chains run by the reactor, and callbacks."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest

from shared.events.envelope import to_http
from tests.conftest import AUTH, ROOT

FIXTURE = (ROOT / "tests" / "fixtures" / "github" / "issues.labeled.json").read_bytes()
SECRET = "webhook-secret-1"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(body: bytes, *, delivery: str | None = None, secret: str = SECRET) -> dict:
    return {"X-Hub-Signature-256": sign(body, secret), "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()), "Content-Type": "application/json"}


@pytest.fixture
def apps(function_client):
    return function_client("jobs"), function_client("webhooks"), function_client("reactor")


def chain_agents(jobs):
    link = {"condition": "on-success", "failurePolicy": "stop"}
    agents = [
        {"name": "triage", "triggerName": "ai-triage", "eventTriggers": [
            {"source": "github", "events": ["issues.labeled"], "instruction": "triage", "filters": {"label": ["bug"]},
             "next": {"agentTriggerName": "ai-architect", **link}}]},
        {"name": "architect", "triggerName": "ai-architect", "eventTriggers": [
            {"source": "github", "events": ["chain"], "instruction": "design",
             "next": {"agentTriggerName": "ai-developer", **link}}]},
        {"name": "developer", "triggerName": "ai-developer", "eventTriggers": [
            {"source": "github", "events": ["chain"], "instruction": "implement", "config": {"model": "opus"}}]},
        {"name": "other", "triggerName": "ai-other", "eventTriggers": [
            {"source": "github", "events": ["issues.labeled"], "filters": {"label": ["enhancement"]}}]},
    ]
    for agent in agents:
        assert jobs.post("/api/agents", headers=AUTH, json=agent).status_code == 201
    jobs.post("/api/instructions", headers=AUTH, json={"name": "triage", "content": "Triage the issue.", "scope": "local"})
    jobs.post("/api/instructions", headers=AUTH, json={"name": "house-rules", "content": "Be brief.", "scope": "global"})


def run_to_end(reactor, event_sink, job_id, phase="Succeeded"):
    """Play the executor: Running, a result, the terminal phase; hand task events to the reactor."""
    from shared.store.blobs import put_blob
    from shared.tasks.lifecycle import transition
    from shared.tasks.repository import result_key, tasks

    seen = len(event_sink.events)
    transition("default", job_id, "Running")
    put_blob(result_key("default", job_id), f"result of {job_id}".encode())
    tasks.update("default", job_id, lambda d: d["status"].update(resultRef={"available": True, "size": 1}))
    transition("default", job_id, phase, message=f"{phase.lower()} by test")
    for event in event_sink.events[seen:]:
        if event.type in ("dev.shoal.task.started", "dev.shoal.task.finished"):
            headers, body = to_http(event)
            assert reactor.post("/", data=body, headers=headers).status_code == 200


def new_jobs(event_sink, before):
    return [e.data["name"] for e in event_sink.events[before:] if e.type == "dev.shoal.task.created"]


def test_signed_github_payload_runs_a_chain_of_three_agents_to_the_end(apps, event_sink):
    jobs, webhooks, reactor = apps
    chain_agents(jobs)
    jobs.post("/api/webhook-sources", headers=AUTH, json={"name": "gh", "secret": SECRET})
    delivery = str(uuid.uuid4())
    response = webhooks.post("/api/webhooks/github", data=FIXTURE, headers=github_headers(FIXTURE, delivery=delivery))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["event"] == "issues.labeled" and body["matched"] == 1
    assert [j["agent"] for j in body["jobs"]] == ["triage"]
    first = body["jobs"][0]["jobId"]

    order, current = [first], first
    while True:
        before = len(event_sink.events)
        run_to_end(reactor, event_sink, current)
        created = new_jobs(event_sink, before)
        if not created:
            break
        assert len(created) == 1
        current = created[0]
        order.append(current)
    assert len(order) == 3

    details = [jobs.get(f"/api/jobs/{j}", headers=AUTH).get_json() for j in order]
    chain_id = details[0]["chainId"]
    assert [d["chainId"] for d in details] == [chain_id] * 3
    assert [d["chainDepth"] for d in details] == [0, 1, 2]
    assert [d["parentJobId"] for d in details] == [None, order[0], order[1]]
    assert details[2]["chainPath"] == ["ai-triage", "ai-architect", "ai-developer"]
    assert [d["agentRole"] for d in details] == ["ai-triage", "ai-architect", "ai-developer"]
    assert all(d["status"] == "completed" for d in details)
    assert details[0]["repo"] == "Codertocat/Hello-World" and details[2]["repo"] == "Codertocat/Hello-World"
    assert details[2]["config"]["model"] == "opus"
    assert details[0]["prompt"].startswith("Be brief.\n\nTriage the issue.\n\nEvent: github issues.labeled")
    assert f"result of {order[1]}" in details[2]["prompt"]
    listed = jobs.get(f"/api/jobs?chainId={chain_id}", headers=AUTH).get_json()
    assert [j["id"] for j in listed["jobs"]] == order and listed["total"] == 3
    stats = jobs.get("/api/stats", headers=AUTH).get_json()
    assert stats["totals"]["completed"] == 3 and stats["totals"]["inFlight"] == 0

    # The same delivery again is acknowledged without new jobs.
    again = webhooks.post("/api/webhooks/github", data=FIXTURE, headers=github_headers(FIXTURE, delivery=delivery))
    assert again.get_json()["duplicate"] is True and again.get_json()["jobs"] == []
    # A redelivered task.finished of the first job starts no second link.
    finished = next(e for e in event_sink.events if e.type == "dev.shoal.task.finished" and e.data["name"] == first)
    before = len(event_sink.events)
    from shared.events.envelope import build

    replay = build(finished.type, finished.data, subject=finished.subject)
    headers, data = to_http(replay)
    assert reactor.post("/", data=data, headers=headers).status_code == 200
    assert new_jobs(event_sink, before) == []


def test_github_signature_is_checked_with_the_source_secret(apps):
    jobs, webhooks, _ = apps
    jobs.post("/api/webhook-sources", headers=AUTH, json={"name": "gh", "secret": SECRET})
    wrong = webhooks.post("/api/webhooks/github", data=FIXTURE, headers=github_headers(FIXTURE, secret="other-secret"))
    assert wrong.status_code == 401 and wrong.get_json() == {"error": "invalid signature"}
    headers = github_headers(FIXTURE)
    del headers["X-Hub-Signature-256"]
    missing = webhooks.post("/api/webhooks/github", data=FIXTURE, headers=headers)
    assert missing.status_code == 401 and missing.get_json() == {"error": "missing X-Hub-Signature-256 header"}
    tampered = FIXTURE.replace(b"bug", b"bog")
    assert webhooks.post("/api/webhooks/github", data=tampered, headers=github_headers(FIXTURE)).status_code == 401
    jobs.patch("/api/webhook-sources/gh", headers=AUTH, json={"enabled": False})
    assert webhooks.post("/api/webhooks/github", data=FIXTURE, headers=github_headers(FIXTURE)).status_code == 401
    jobs.patch("/api/webhook-sources/gh", headers=AUTH, json={"enabled": True})
    ok = webhooks.post("/api/webhooks/github?source=gh", data=FIXTURE, headers=github_headers(FIXTURE))
    assert ok.status_code == 200 and ok.get_json()["matched"] == 0
    unknown = webhooks.post("/api/webhooks/github?source=nope", data=FIXTURE, headers=github_headers(FIXTURE))
    assert unknown.status_code == 404 and unknown.get_json() == {"error": "Webhook source not found"}


def test_event_ingest(apps, event_sink):
    jobs, webhooks, _ = apps
    assert webhooks.post("/api/events/ingest", json={}).status_code == 401
    chain_agents(jobs)
    jobs.patch("/api/agents/other", headers=AUTH, json={"enabled": False})
    payload = json.loads(FIXTURE)
    response = webhooks.post("/api/events/ingest", headers=AUTH,
                             json={"source": "github", "event": "issues.labeled", "payload": payload})
    assert response.status_code == 200
    body = response.get_json()
    assert body["matched"] == 1 and body["jobs"][0]["agent"] == "triage" and body["jobs"][0]["jobId"].startswith("ir-")
    none = webhooks.post("/api/events/ingest", headers=AUTH, json={"source": "gitlab", "event": "push", "payload": {}})
    assert none.get_json() == {"matched": 0, "jobs": []}
    for bad, message in [({"event": "x"}, "source is required"), ({"source": "x"}, "event is required"),
                         ({"source": "x", "event": "y", "payload": []}, "payload must be an object")]:
        response = webhooks.post("/api/events/ingest", headers=AUTH, json=bad)
        assert response.status_code == 400 and response.get_json() == {"error": message}


def test_failed_link_stops_the_chain_and_depth_is_limited(apps, event_sink, monkeypatch):
    jobs, webhooks, reactor = apps
    chain_agents(jobs)
    payload = json.loads(FIXTURE)
    first = webhooks.post("/api/events/ingest", headers=AUTH, json={
        "source": "github", "event": "issues.labeled", "payload": payload}).get_json()["jobs"][0]["jobId"]
    before = len(event_sink.events)
    run_to_end(reactor, event_sink, first, phase="Failed")
    assert new_jobs(event_sink, before) == []  # on-success + stop

    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_JOBS_MAX_CHAIN_DEPTH", "2")
    reset_settings()
    second = webhooks.post("/api/events/ingest", headers=AUTH, json={
        "source": "github", "event": "issues.labeled", "payload": payload}).get_json()["jobs"][0]["jobId"]
    before = len(event_sink.events)
    run_to_end(reactor, event_sink, second)
    (link,) = new_jobs(event_sink, before)
    before = len(event_sink.events)
    run_to_end(reactor, event_sink, link)
    assert new_jobs(event_sink, before) == []  # depth 2 would exceed the limit


def test_callbacks_are_posted_and_never_change_the_job(apps, event_sink, httpserver, monkeypatch):
    from shared.config import reset_settings

    jobs, _, reactor = apps
    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1")
    monkeypatch.setenv("SHOAL_CALLBACK_ATTEMPTS", "2")
    reset_settings()
    httpserver.expect_request("/cb", method="POST").respond_with_data("ok")
    httpserver.expect_request("/broken", method="POST").respond_with_data("no", status=500)
    ok = jobs.post("/api/jobs/submit", headers=AUTH, json={
        "source": "manual", "type": "t", "prompt": "p", "callbackUrl": httpserver.url_for("/cb"),
        "metadata": {"ticket": 7}}).get_json()["jobId"]
    run_to_end(reactor, event_sink, ok)
    bodies = [json.loads(r.get_data()) for r, _ in httpserver.log if r.path == "/cb"]
    assert bodies == [{"jobId": ok, "phase": "in_progress", "metadata": {"ticket": 7}},
                      {"jobId": ok, "phase": "completed", "metadata": {"ticket": 7}}]

    broken = jobs.post("/api/jobs/submit", headers=AUTH, json={
        "source": "manual", "type": "t", "prompt": "p", "callbackUrl": httpserver.url_for("/broken")}).get_json()["jobId"]
    run_to_end(reactor, event_sink, broken, phase="Failed")
    attempts = [json.loads(r.get_data()) for r, _ in httpserver.log if r.path == "/broken"]
    assert len(attempts) == 4  # in_progress and failed, two attempts each
    assert attempts[-1] == {"jobId": broken, "phase": "failed", "details": "failed by test", "metadata": {}}
    assert jobs.get(f"/api/jobs/{broken}", headers=AUTH).get_json()["status"] == "failed"


def test_callback_refused_at_send_time_when_no_longer_allowed(apps, event_sink, httpserver, monkeypatch):
    from shared.config import reset_settings

    jobs, _, reactor = apps
    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1")
    reset_settings()
    httpserver.expect_request("/cb", method="POST").respond_with_data("ok")
    job = jobs.post("/api/jobs/submit", headers=AUTH, json={
        "source": "manual", "type": "t", "prompt": "p", "callbackUrl": httpserver.url_for("/cb")}).get_json()["jobId"]
    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "")
    reset_settings()
    run_to_end(reactor, event_sink, job)
    assert [r for r, _ in httpserver.log if r.path == "/cb"] == []
    assert jobs.get(f"/api/jobs/{job}", headers=AUTH).get_json()["status"] == "completed"
