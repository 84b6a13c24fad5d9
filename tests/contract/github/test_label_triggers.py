"""The `github` event function: label triggers create agent tasks (orka-behaviour.md §2, GitHub webhook)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from shared.events.envelope import to_http
from shared.github.signature import sign
from tests.conftest import AUTH

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "github"
SECRET = "s3cret"


def payload(name: str, **changes) -> dict:
    return {**json.loads((FIXTURES / f"{name}.json").read_text()), **changes}


@pytest.fixture
def apps(function_client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("ORKA_GITHUB_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("ORKA_GITHUB_LABEL_TRIGGER_AGENT", "coder")
    monkeypatch.setenv("ORKA_GITHUB_LABEL_AGENT_REVIEW", "reviewer")
    monkeypatch.setenv("ORKA_GITHUB_LABEL_TRIGGER_NAMESPACE", "bots")
    monkeypatch.setenv("ORKA_GITHUB_LABEL_TRIGGER_GIT_SECRET", "gh-token")
    reset_settings()
    apps = function_client("webhooks"), function_client("github"), function_client("tasks")
    from shared.store import ObjectStore

    for name in ("coder", "reviewer"):
        ObjectStore("agent").create("bots", name, {"spec": {"runtime": {"type": "claude"}}})
    return apps


def deliver(webhooks, event: str, data: dict, delivery: str | None = None):
    body = json.dumps(data).encode()
    return webhooks.post("/webhooks/github", data=body, headers={
        "X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(SECRET, body)})


def relay(github, event) -> int:
    """What the broker does: deliver the emitted CloudEvent to the github function."""
    headers, body = to_http(event)
    response = github.post("/", data=body, headers=headers)
    assert response.data == b""
    return response.status_code


def test_issue_label_creates_an_agent_task(apps, event_sink):
    webhooks, github, tasks = apps
    data = payload("issues.labeled", label={"name": "agent:implement"})
    accepted = deliver(webhooks, "issues", data).get_json()
    [event] = event_sink.of_type("com.github.issues.labeled")
    assert relay(github, event) == 200
    response = tasks.get(f"/api/v1/tasks/{accepted['taskName']}?namespace=bots", headers=AUTH)
    assert response.status_code == 200
    task = response.get_json()
    spec = task["spec"]
    assert spec["type"] == "agent" and spec["agentRef"] == {"name": "coder"}
    assert spec["maxTurns"] == 100 and spec["timeout"] == "30m"
    assert spec["workspace"] == {"gitRepo": data["repository"]["clone_url"], "gitSecretRef": {"name": "gh-token"},
                                 "pullRequest": {"base": data["repository"]["default_branch"]}}
    assert "issue #1 in Codertocat/Hello-World" in spec["prompt"] and data["issue"]["title"] in spec["prompt"]
    labels, annotations = task["metadata"]["labels"], task["metadata"]["annotations"]
    assert labels["orka.ai/github-trigger"] == "implement" and labels["orka.ai/github-number"] == "1"
    assert annotations["orka.ai/github-repository"] == "Codertocat/Hello-World"
    assert annotations["orka.ai/github-delivery"] == event.id
    [created] = event_sink.of_type("dev.shoal.task.created")
    assert created.data["name"] == accepted["taskName"] and created.data["namespace"] == "bots"


def test_pull_request_review_label_uses_the_action_agent_without_push_credentials(apps, event_sink):
    webhooks, github, tasks = apps
    data = payload("pull_request.labeled", label={"name": "agent:review"})
    accepted = deliver(webhooks, "pull_request", data).get_json()
    assert accepted["taskName"].startswith("github-review-2-")
    [event] = event_sink.of_type("com.github.pull_request.labeled")
    assert relay(github, event) == 200
    task = tasks.get(f"/api/v1/tasks/{accepted['taskName']}?namespace=bots", headers=AUTH).get_json()
    assert task["spec"]["agentRef"] == {"name": "reviewer"}
    assert "gitSecretRef" not in task["spec"]["workspace"]
    assert task["spec"]["workspace"]["ref"] == data["pull_request"]["head"]["ref"]
    assert task["metadata"]["annotations"]["orka.ai/github-head-sha"] == data["pull_request"]["head"]["sha"]


def test_same_payload_again_is_a_duplicate(apps, event_sink):
    webhooks, github, tasks = apps
    data = payload("issues.labeled", label={"name": "agent:implement"})
    first = deliver(webhooks, "issues", data).get_json()
    [event] = event_sink.of_type("com.github.issues.labeled")
    assert relay(github, event) == 200
    # the broker redelivers the same event: handled once
    assert relay(github, event) == 200
    # GitHub sends the same payload again under a new delivery id: the task already exists
    again = deliver(webhooks, "issues", data)
    assert again.status_code == 202 and again.get_json()["status"] == "duplicate"
    assert again.get_json()["taskName"] == first["taskName"]
    assert len(event_sink.of_type("dev.shoal.task.created")) == 1
    listed = tasks.get("/api/v1/tasks?namespace=bots", headers=AUTH).get_json()["items"]
    assert [t["metadata"]["name"] for t in listed] == [first["taskName"]]


def test_pull_request_activity_is_consumed_without_creating_tasks(apps, event_sink):
    webhooks, github, _ = apps
    deliver(webhooks, "pull_request", payload("pull_request.synchronize"))
    [event] = event_sink.of_type("com.github.pull_request.synchronize")
    assert relay(github, event) == 200
    assert event_sink.of_type("dev.shoal.task.created") == []
