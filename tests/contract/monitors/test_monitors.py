"""Contract: /api/v1/monitors/** (orka-api.txt, Repository Monitors; orka-behaviour.md §2)."""

from __future__ import annotations

import base64
import copy

import pytest

from tests.conftest import AUTH


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


BODY = {"name": "example-app", "namespace": "default", "spec": {
    "provider": "github", "repoURL": "https://github.com/example/app", "branch": "main",
    "gitSecretRef": {"name": "repo-monitor-github"}, "schedule": "*/30 * * * *",
    "targets": {"pullRequests": {"enabled": True, "includeDrafts": False, "maxPerRun": 10}},
    "agents": {"reviewer": {"name": "repo-reviewer"}},
    "review": {"event": "COMMENT", "staleReviewTTL": "24h", "exactEventEnabled": True},
    "policy": {"protectedLabels": ["security-sensitive"], "pauseLabels": ["orka:pause"]},
    "validation": {"mode": "changed", "commands": ["make test"]}}}


@pytest.fixture
def security(function_client, fake_kube):
    from shared.store import ObjectStore

    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "repo-monitor-github"},
                                                     "data": {"token": b64("ghp_x")}})
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "claude-creds"},
                                                     "data": {"ANTHROPIC_API_KEY": b64("sk-ant")}})
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "empty-creds"},
                                                     "data": {"ANTHROPIC_API_KEY": b64(" ")}})
    agents = ObjectStore("agent")
    agents.create("default", "repo-reviewer", {"metadata": {"name": "repo-reviewer"}, "spec": {
        "runtime": {"type": "claude", "secretRef": {"name": "claude-creds"}}}})
    agents.create("default", "ai-agent", {"metadata": {"name": "ai-agent"}, "spec": {"provider": "openai"}})
    agents.create("default", "no-creds", {"metadata": {"name": "no-creds"}, "spec": {
        "runtime": {"type": "claude", "secretRef": {"name": "empty-creds"}}}})
    return function_client("security")


def create(client, body=None):
    return client.post("/api/v1/monitors/repositories", json=body or BODY, headers=AUTH)


def test_create_get_list_update_delete(security):
    response = create(security)
    assert response.status_code == 201, response.get_json()
    monitor = response.get_json()
    assert monitor["kind"] == "RepositoryMonitor" and monitor["metadata"]["name"] == "example-app"
    assert monitor["spec"]["owner"] == "example" and monitor["spec"]["repository"] == "app"
    assert security.get("/api/v1/monitors/repositories/example-app", headers=AUTH).get_json()["spec"] == \
        monitor["spec"]
    listed = security.get("/api/v1/monitors/repositories", headers=AUTH).get_json()
    assert [m["metadata"]["name"] for m in listed["items"]] == ["example-app"] and listed["metadata"] == {}
    spec = copy.deepcopy(BODY["spec"]) | {"branch": "release"}
    updated = security.put("/api/v1/monitors/repositories/example-app", json={"spec": spec}, headers=AUTH)
    assert updated.status_code == 200 and updated.get_json()["spec"]["branch"] == "release"
    assert updated.get_json()["metadata"]["generation"] == 2
    assert security.delete("/api/v1/monitors/repositories/example-app", headers=AUTH).status_code == 204
    missing = security.get("/api/v1/monitors/repositories/example-app", headers=AUTH)
    assert missing.status_code == 404 and missing.get_json() == err(404, "repository monitor not found")


def test_defaults_are_inferred(security):
    body = {"name": "minimal", "spec": {"repoURL": "git@github.com:example/app.git",
                                        "agents": {"reviewer": {"name": "repo-reviewer"}}}}
    spec = create(security, body).get_json()["spec"]
    assert spec["provider"] == "github" and spec["owner"] == "example" and spec["repository"] == "app"
    assert spec["branch"] == "main" and spec["review"]["event"] == "COMMENT"
    assert spec["targets"]["pullRequests"] == {"enabled": True, "maxPerRun": 10, "includeDrafts": False}
    assert spec["validation"]["mode"] == "changed"


def test_duplicate_is_409(security):
    assert create(security).status_code == 201
    response = create(security)
    assert response.status_code == 409 and response.get_json() == err(409, "repository monitor already exists")


REPO_MSG = ("spec.repoURL must be a credential-free GitHub repository root URL such as "
            "https://github.com/owner/repo")


def with_spec(**changes):
    body = copy.deepcopy(BODY)
    for path, value in changes.items():
        target = body["spec"]
        keys = path.split("__")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(keys[-1], None)
        else:
            target[keys[-1]] = value
    return body


@pytest.mark.parametrize("body,message", [
    (b"{", "invalid request body"),
    ({"spec": BODY["spec"]}, "name is required"),
    (with_spec(repoURL=None), "spec.repoURL is required"),
    *[(with_spec(repoURL=url), REPO_MSG) for url in (
        "https://github.com/example/app/pull/1", "https://github.com/example/app/issues/2",
        "https://github.com/example/app/tree/main", "https://github.com/example/app/blob/main/README.md",
        "https://github.com/example/app/commit/abc123", "https://github.com/example/app?tab=x",
        "https://github.com/example/app#readme", "https://gitlab.com/example/app", "http://github.com/example/app",
        "https://user:token@github.com/example/app", "https://github.com/example")],
    (with_spec(provider="gitlab"), 'unsupported provider "gitlab": only github is supported'),
    (with_spec(targets__issues={"enabled": True}),
     "issue targets are not supported: only GitHub pull request monitoring is supported"),
    (with_spec(targets__commits={"enabled": True}),
     "commit targets are not supported: only GitHub pull request monitoring is supported"),
    (with_spec(targets__pullRequests={"enabled": False}),
     "pull request monitoring must be enabled: at least one target is required"),
    (with_spec(review__requireGreenCI=True), "spec.review.requireGreenCI is not supported"),
    (with_spec(agents=None), "spec.agents.reviewer.name is required when pull request monitoring is enabled"),
    (with_spec(agents__reviewer__name="ghost"), 'reviewer agent "ghost" not found'),
    (with_spec(agents__reviewer__name="ai-agent"), 'reviewer agent "ai-agent" must use runtime.type claude'),
    (with_spec(agents__reviewer__name="no-creds"),
     'reviewer agent "no-creds" has no usable Claude credentials: its Secret must contain a non-empty '
     "ANTHROPIC_API_KEY or ANTHROPIC_FOUNDRY_API_KEY key"),
    (with_spec(gitSecretRef={"name": "nope"}), 'git secret "nope" not found in namespace "default"'),
    (with_spec(gitSecretRef={"name": "claude-creds"}),
     'git secret "claude-creds" must contain a non-empty token, password, or GITHUB_TOKEN key'),
    (with_spec(schedule="every minute"), "invalid schedule 'every minute': must be a 5-field cron expression"),
    (with_spec(review__event="LGTM"), "spec.review.event must be one of COMMENT, APPROVE, REQUEST_CHANGES"),
    (with_spec(targets__pullRequests__maxPerRun=0), "spec.targets.pullRequests.maxPerRun must be between 1 and 100"),
    # Orka's policy (docs/api-reference.md, "Unknown fields"): a spec field the CRD does not list, at
    # any depth, is refused naming it (it used to be stored as given).
    (with_spec(retries=3), "spec.retries: unknown field"),
    (with_spec(review__autoApprove=True), "spec.review.autoApprove: unknown field"),
    (with_spec(targets__pullRequests__labels=["x"], agents__reviewer__model="opus"),
     "spec.targets.pullRequests.labels: unknown field; spec.agents.reviewer.model: unknown field"),
    (with_spec(triggers={"github": {"labels": {"enabled": True, "pullRequests": {"shipIt": "go"}}}}),
     "spec.triggers.github.labels.pullRequests.shipIt: unknown field"),
])
def test_create_validation_is_400_and_stores_nothing(security, body, message):
    if isinstance(body, bytes):
        response = security.post("/api/v1/monitors/repositories", data=body, headers=AUTH)
    else:
        response = create(security, body)
    assert response.status_code == 400
    assert response.get_json() == err(400, message)
    assert security.get("/api/v1/monitors/repositories", headers=AUTH).get_json()["items"] == []


def test_update_validates_too(security):
    create(security)
    response = security.put("/api/v1/monitors/repositories/example-app",
                            json={"spec": with_spec(provider="bitbucket")["spec"]}, headers=AUTH)
    assert response.status_code == 400
    assert security.get("/api/v1/monitors/repositories/example-app",
                        headers=AUTH).get_json()["spec"]["provider"] == "github"


def test_update_refuses_an_unknown_spec_field_and_keeps_the_spec(security):
    create(security)
    spec = with_spec(validation__command="make test")["spec"]  # a typo of `commands`
    response = security.put("/api/v1/monitors/repositories/example-app", json={"spec": spec}, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == err(400, "spec.validation.command: unknown field")
    stored = security.get("/api/v1/monitors/repositories/example-app", headers=AUTH).get_json()
    assert stored["spec"]["validation"] == {"mode": "changed", "commands": ["make test"]}
    assert stored["metadata"]["generation"] == 1


def test_manual_run_and_409_while_active(security):
    create(security)
    response = security.post("/api/v1/monitors/repositories/example-app/runs", headers=AUTH)
    assert response.status_code == 201
    run = response.get_json()
    assert run["id"].startswith("monrun-") and run["phase"] == "queued" and run["trigger"] == "manual"
    again = security.post("/api/v1/monitors/repositories/example-app/runs",
                          json={"targetKind": "pull_request", "targetNumber": 123, "targetSHA": "abc123"},
                          headers=AUTH)
    assert again.status_code == 409
    assert again.get_json() == err(409, "repository monitor already has an active run")
    runs = security.get("/api/v1/monitors/repositories/example-app/runs", headers=AUTH).get_json()["items"]
    assert [r["id"] for r in runs] == [run["id"]]


def test_narrowed_run(security):
    create(security)
    response = security.post("/api/v1/monitors/repositories/example-app/runs",
                             json={"targetKind": "pull_request", "targetNumber": 123, "targetSHA": "ABC123"},
                             headers=AUTH)
    assert response.status_code == 201
    assert response.get_json().items() >= {"targetKind": "pull_request", "targetNumber": 123,
                                           "targetSHA": "abc123"}.items()


@pytest.mark.parametrize("body,message", [
    ({"targetKind": "issue"}, 'invalid targetKind "issue": must be empty or pull_request'),
    ({"targetKind": "commit"}, 'invalid targetKind "commit": must be empty or pull_request'),
    ({"targetNumber": "12"}, "targetNumber must be a positive integer"),
    ({"targetNumber": 0}, "targetNumber must be a positive integer"),
    ({"targetNumber": 1, "targetSHA": "zzz"}, "targetSHA must be a hexadecimal commit SHA"),
    ({"targetSHA": "abc1234"}, "targetSHA requires targetNumber"),
    ({"targetNumber": 7, "targetBranch": "main"}, "targetBranch: unknown field")])
def test_bad_run_requests_are_400(security, body, message):
    create(security)
    response = security.post("/api/v1/monitors/repositories/example-app/runs", json=body, headers=AUTH)
    assert response.status_code == 400 and response.get_json() == err(400, message)
    assert security.get("/api/v1/monitors/repositories/example-app/runs", headers=AUTH).get_json()["items"] == []


def test_run_for_a_missing_monitor_is_404(security):
    response = security.post("/api/v1/monitors/repositories/ghost/runs", headers=AUTH)
    assert response.status_code == 404 and response.get_json() == err(404, "repository monitor not found")


def test_items_filters_and_pagination(security):
    from shared.store import ObjectStore

    create(security)
    items = ObjectStore("monitoritems")
    for n, state in ((1, "reviewed"), (2, "pending"), (3, "reviewed")):
        items.create("default/example-app", f"pull_request-{n:08d}",
                     {"kind": "pull_request", "number": n, "state": state, "verdict": "comment"})
    all_items = security.get("/api/v1/monitors/repositories/example-app/items", headers=AUTH).get_json()
    assert [i["number"] for i in all_items["items"]] == [1, 2, 3]
    reviewed = security.get("/api/v1/monitors/repositories/example-app/items?state=reviewed", headers=AUTH)
    assert [i["number"] for i in reviewed.get_json()["items"]] == [1, 3]
    page = security.get("/api/v1/monitors/repositories/example-app/items?limit=2", headers=AUTH).get_json()
    assert len(page["items"]) == 2 and page["metadata"]["continue"]
    rest = security.get(f"/api/v1/monitors/repositories/example-app/items?limit=2&cursor={page['metadata']['continue']}",
                        headers=AUTH).get_json()
    assert [i["number"] for i in rest["items"]] == [3] and rest["metadata"] == {}


def test_events_audit_trail_with_filters(security):
    create(security)
    run = security.post("/api/v1/monitors/repositories/example-app/runs", json={"targetNumber": 7},
                        headers=AUTH).get_json()
    response = security.get("/api/v1/monitors/events?name=example-app", headers=AUTH)
    assert response.status_code == 200
    events = response.get_json()["items"]
    assert [e["eventType"] for e in events] == ["MonitorCreated", "RunQueued"]
    assert events[1]["runID"] == run["id"] and events[1]["itemNumber"] == 7 and events[0]["actor"] == "dev"
    only_runs = security.get(f"/api/v1/monitors/events?name=example-app&runID={run['id']}", headers=AUTH)
    assert [e["eventType"] for e in only_runs.get_json()["items"]] == ["RunQueued"]
    by_item = security.get("/api/v1/monitors/events?name=example-app&itemKind=pull_request&itemNumber=7",
                           headers=AUTH)
    assert len(by_item.get_json()["items"]) == 1
    first = security.get("/api/v1/monitors/events?name=example-app&limit=1", headers=AUTH).get_json()
    assert len(first["items"]) == 1 and first["metadata"]["continue"]
    second = security.get(f"/api/v1/monitors/events?name=example-app&limit=1&continue={first['metadata']['continue']}",
                          headers=AUTH).get_json()
    assert second["items"][0]["eventType"] == "RunQueued" and second["metadata"] == {}


def test_events_need_a_name(security):
    response = security.get("/api/v1/monitors/events", headers=AUTH)
    assert response.status_code == 400 and response.get_json() == err(400, "name is required")


@pytest.mark.parametrize("method,path", [
    ("POST", "/api/v1/monitors/repositories"), ("GET", "/api/v1/monitors/repositories"),
    ("GET", "/api/v1/monitors/repositories/x"), ("PUT", "/api/v1/monitors/repositories/x"),
    ("DELETE", "/api/v1/monitors/repositories/x"), ("POST", "/api/v1/monitors/repositories/x/runs"),
    ("GET", "/api/v1/monitors/repositories/x/runs"), ("GET", "/api/v1/monitors/repositories/x/items"),
    ("GET", "/api/v1/monitors/events")])
def test_401_without_credentials(security, method, path):
    response = security.open(path, method=method)
    assert response.status_code == 401 and response.get_json() == err(401, "missing authorization header")


def test_monitor_runs_need_rbac(security, fake_kube):
    create(security)
    fake_kube.tokens["sa"] = {"authenticated": True, "user": {"username": "system:serviceaccount:default:ops"}}
    fake_kube.authorize = lambda spec: spec["resourceAttributes"]["verb"] == "get"
    response = security.post("/api/v1/monitors/repositories/example-app/runs",
                             headers={"Authorization": "Bearer sa"})
    assert response.status_code == 403
    assert response.get_json() == err(403, "not authorized to update repositorymonitors")
    assert security.get("/api/v1/monitors/repositories/example-app",
                        headers={"Authorization": "Bearer sa"}).status_code == 200


def test_pull_request_webhook_queues_an_exact_head_run(security, function_client, monkeypatch, event_sink):
    """A PR event for a watched repository queues a run for that exact head (any namespace)."""
    import json
    from pathlib import Path

    from shared.config import reset_settings
    from shared.events.envelope import to_http
    from shared.github.signature import sign

    body = with_spec(repoURL="https://github.com/Codertocat/Hello-World")
    assert create(security, body).status_code == 201
    off = with_spec(repoURL="https://github.com/Codertocat/Hello-World", review__exactEventEnabled=False)
    off["name"] = "no-exact"
    assert create(security, off).status_code == 201
    monkeypatch.setenv("ORKA_GITHUB_WEBHOOK_SECRET", "s")
    reset_settings()
    webhooks, github = function_client("webhooks"), function_client("github")
    raw = (Path(__file__).resolve().parents[2] / "fixtures" / "github" / "pull_request.synchronize.json").read_bytes()
    response = webhooks.post("/webhooks/github", data=raw, headers={
        "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-1", "Content-Type": "application/json",
        "X-Hub-Signature-256": sign("s", raw)})
    assert response.status_code == 202
    [event] = event_sink.of_type("com.github.pull_request.synchronize")
    headers, data = to_http(event)
    assert github.post("/", data=data, headers=headers).status_code == 200
    runs = security.get("/api/v1/monitors/repositories/example-app/runs", headers=AUTH).get_json()["items"]
    head = json.loads(raw)["pull_request"]["head"]["sha"]
    assert [(r["trigger"], r["targetNumber"], r["targetSHA"]) for r in runs] == [("webhook", 2, head)]
    assert security.get("/api/v1/monitors/repositories/no-exact/runs", headers=AUTH).get_json()["items"] == []


def test_reviewer_created_through_the_catalog_api_is_accepted(security, function_client):
    catalog = function_client("catalog")
    agent = {"name": "cat-reviewer", "spec": {"runtime": {"type": "claude", "secretRef": {"name": "claude-creds"}}}}
    assert catalog.post("/api/v1/agents", json=agent, headers=AUTH).status_code == 201
    body = with_spec(agents__reviewer__name="cat-reviewer")
    assert create(security, body).status_code == 201
