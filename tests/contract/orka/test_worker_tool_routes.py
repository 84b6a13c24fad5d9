"""Contract: worker API routes that run catalog, memory and GitHub tools server-side for a worker."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import AUTH
from tests.support.fake_github import FakeGitHub, pull
from tests.support.leak_scan import PLANTED_SECRETS, leak_scan  # noqa: F401  (fixture)

TOKEN = PLANTED_SECRETS[0]
GH_TOKEN = PLANTED_SECRETS[3]
CATALOG_CALL = "/internal/v1/tools/default/{}/call"
WORKER_CALL = "/internal/v1/worker-tools/default/{}/call"


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def apps(function_client, fake_kube, leak_scan, monkeypatch):  # noqa: F811
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1,localhost")
    reset_settings()
    for name, key, value in (("search-secret", "api-key", TOKEN), ("github-token", "token", GH_TOKEN)):
        fake_kube.add("/api/v1", "secrets", "default", {
            "metadata": {"name": name}, "type": "Opaque", "data": {key: base64.b64encode(value.encode()).decode()}})
    catalog = leak_scan.watch(function_client("catalog"))
    tasks = function_client("tasks")
    internal = leak_scan.watch(function_client("internal"))
    assert catalog.post("/api/v1/agents", json={"name": "ops", "spec": {"model": "m"}}, headers=AUTH).status_code == 201
    assert tasks.post("/api/v1/tasks", json={
        "name": "job", "type": "ai", "prompt": "p", "agentRef": "ops", "sessionRef": {"name": "s1"},
        "workspace": {"gitRepo": "https://github.com/example/app.git"}}, headers=AUTH).status_code == 201
    return catalog, internal


def create_tool(catalog, name, spec):
    """Secret-injecting tools are an operator's to store (the REST API refuses authSecretRef)."""
    from shared.catalog.tools import provision_tool

    provision_tool("default", name, spec)


@pytest.mark.parametrize("path", [CATALOG_CALL.format("search"), WORKER_CALL.format("recall_memory")])
def test_the_routes_need_credentials(apps, path):
    _, internal = apps
    response = internal.post(path, json={"arguments": {}})
    assert response.status_code == 401
    assert response.get_json() == err(401, "missing authorization header")


def test_the_routes_refuse_another_namespace(apps, monkeypatch):
    from shared.auth import resolver
    from shared.auth.principal import Principal

    def team_b(token, headers):
        if token == "team-b-sa":
            return Principal(kind="serviceaccount", subject="system:serviceaccount:team-b:w", username="w",
                             namespace="team-b")
        return None

    monkeypatch.setattr(resolver, "AUTHENTICATORS", [team_b, *resolver.AUTHENTICATORS])
    _, internal = apps
    for path in (CATALOG_CALL.format("search"), WORKER_CALL.format("recall_memory")):
        response = internal.post(path, json={"arguments": {}, "taskName": "job"},
                                 headers={"Authorization": "Bearer team-b-sa"})
        assert response.status_code == 403
        assert response.get_json() == err(403, "cross-namespace access denied"), path


@pytest.mark.parametrize("path,body,message", [
    (CATALOG_CALL.format("search"), {"arguments": "q"}, "arguments must be an object"),
    (CATALOG_CALL.format("search"), [1], "invalid request body"),
    (CATALOG_CALL.format("search"), {"taskName": 3}, "taskName must be a string"),
    (WORKER_CALL.format("remember"), {"arguments": {"content": "x"}}, "taskName is required"),
    (WORKER_CALL.format("remember"), {"arguments": [], "taskName": "job"}, "arguments must be an object"),
])
def test_bad_input_is_400_and_changes_nothing(apps, path, body, message):
    from shared.store import ObjectStore

    _, internal = apps
    response = internal.post(path, json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == err(400, message)
    assert ObjectStore("memoryproposal").list_page("default", limit=10)[0] == []


@pytest.mark.parametrize("path,body,message", [
    (CATALOG_CALL.format("nope"), {"arguments": {}}, 'tool "nope" not found'),
    (CATALOG_CALL.format("web_fetch"), {"arguments": {}}, 'tool "web_fetch" not found'),  # built-ins run in the worker
    (CATALOG_CALL.format("search"), {"arguments": {}, "taskName": "ghost"}, "task not found"),
    (WORKER_CALL.format("nope"), {"arguments": {}, "taskName": "job"}, 'tool "nope" not found'),
    (WORKER_CALL.format("recall_memory"), {"arguments": {}, "taskName": "ghost"}, "task not found"),
])
def test_unknown_tools_and_tasks_are_404(apps, path, body, message):
    _, internal = apps
    response = internal.post(path, json=body, headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == err(404, message)


def test_a_catalog_http_tool_runs_with_its_secret_injected_and_never_echoed(apps, httpserver):
    catalog, internal = apps
    # The upstream echoes the credential back: the answer to the worker must not carry it.
    httpserver.expect_request("/search", method="POST", json={"query": "shoal"},
                              headers={"Authorization": f"Bearer {TOKEN}"}
                              ).respond_with_json({"results": ["one"], "echo": f"Bearer {TOKEN}"})
    create_tool(catalog, "search", {"description": "Search", "http": {
        "url": httpserver.url_for("/search"), "authSecretRef": {"name": "search-secret", "key": "api-key"}}})
    response = internal.post(CATALOG_CALL.format("search"), json={"arguments": {"query": "shoal"}, "taskName": "job"},
                             headers=AUTH)
    assert response.status_code == 200
    result = json.loads(response.get_json()["result"])
    assert result == {"results": ["one"], "echo": "Bearer [REDACTED]"}
    assert len([r for r, _ in httpserver.log if r.path == "/search"]) == 1


def test_a_catalog_tool_to_a_blocked_address_is_refused_before_the_secret_is_read(apps, fake_kube):
    catalog, internal = apps
    create_tool(catalog, "meta", {"description": "x", "http": {
        "url": "http://169.254.169.254/latest", "authSecretRef": {"name": "search-secret", "key": "api-key"}}})
    fake_kube.requests.clear()
    response = internal.post(CATALOG_CALL.format("meta"), json={"arguments": {}}, headers=AUTH)
    assert response.status_code == 200
    result = response.get_json()["result"]
    assert result["success"] is False and result["errorType"] == "permission_denied"
    assert not [r for r in fake_kube.requests if "/secrets/" in r["path"]]


def test_memory_tools_are_bound_to_the_calling_task(apps, function_client):
    _, internal = apps
    response = internal.post(WORKER_CALL.format("remember"), json={
        "arguments": {"content": "The staging DB is on port 5433", "tags": ["DB", "db"]}, "taskName": "job"},
        headers=AUTH)
    assert response.status_code == 200
    result = response.get_json()["result"]
    assert result["status"] == "pending" and result["proposalId"].startswith("mprop-")
    memory = function_client("memory")
    proposal = memory.get(f"/api/v1/memory-proposals/{result['proposalId']}", headers=AUTH).get_json()
    assert (proposal["taskName"], proposal["agentName"], proposal["sessionName"]) == ("job", "ops", "s1")

    assert memory.post("/api/v1/memories", json={"content": "deploys happen on Tuesdays", "tags": ["ops"]},
                       headers=AUTH).status_code == 201
    recalled = internal.post(WORKER_CALL.format("recall_memory"), json={
        "arguments": {"query": "tuesday"}, "taskName": "job"}, headers=AUTH).get_json()["result"]
    assert recalled["count"] == 1 and recalled["memories"][0]["content"] == "deploys happen on Tuesdays"
    bad = internal.post(WORKER_CALL.format("search_transcript"), json={"arguments": {}, "taskName": "job"},
                        headers=AUTH).get_json()["result"]
    assert bad == {"success": False, "error": "query is required", "errorType": "invalid_arguments"}


def test_github_tools_use_the_task_scope_and_its_git_secret(apps, monkeypatch, fake_kube):
    from shared.config import reset_settings

    _, internal = apps
    with FakeGitHub() as server:
        monkeypatch.setenv("SHOAL_GITHUB_API_URL", server.url)
        reset_settings()
        server.pulls["example/app"] = [pull(5, "e" * 40, title="Fix")]
        response = internal.post(WORKER_CALL.format("list_pull_requests"), json={"arguments": {}, "taskName": "job"},
                                 headers=AUTH)
        assert response.status_code == 200
        assert response.get_json()["result"]["data"][0]["number"] == 5
        assert server.requests[-1]["authorization"] == f"Bearer {GH_TOKEN}"
        # Outside the task's repository: refused before any credential is read or GitHub is called.
        calls, fake_kube.requests[:] = len(server.requests), []
        outside = internal.post(WORKER_CALL.format("list_issues"), json={
            "arguments": {"repo_url": "https://github.com/other/repo"}, "taskName": "job"}, headers=AUTH)
        assert outside.get_json()["result"]["errorType"] == "permission_denied"
        assert len(server.requests) == calls and not [r for r in fake_kube.requests if "/secrets/" in r["path"]]


def test_a_catalog_mcp_tool_runs_through_the_route_with_its_transport_token(apps, fake_kube):
    from tests.support.fake_mcp import FakeMCP

    catalog, internal = apps
    mcp_token = PLANTED_SECRETS[1]
    fake_kube.add("/api/v1", "secrets", "default", {
        "metadata": {"name": "mcp-secret"}, "type": "Opaque",
        "data": {"token": base64.b64encode(mcp_token.encode()).decode()}})
    with FakeMCP() as server:
        create_tool(catalog, "echo", {"description": "Echo over MCP", "mcp": {"url": server.url + "/mcp"},
                                      "http": {"authSecretRef": {"name": "mcp-secret", "key": "token"}}})
        response = internal.post(CATALOG_CALL.format("echo"), json={"arguments": {"message": "hi"}}, headers=AUTH)
        assert response.status_code == 200 and response.get_json() == {"result": "echo: hi"}
        assert server.requests and all(r["headers"]["authorization"] == f"Bearer {mcp_token}"
                                       for r in server.requests)


def test_github_tools_refuse_when_the_named_git_secret_is_gone(function_client, fake_kube, monkeypatch):
    from shared.config import reset_settings

    with FakeGitHub() as server:
        monkeypatch.setenv("SHOAL_GITHUB_API_URL", server.url)
        monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1,localhost")
        reset_settings()
        fake_kube.add("/api/v1", "secrets", "default", {  # a default-named Secret that must not be used instead
            "metadata": {"name": "github-token"}, "data": {"token": base64.b64encode(GH_TOKEN.encode()).decode()}})
        assert function_client("catalog").post("/api/v1/agents", json={"name": "ops", "spec": {"model": "m"}},
                                               headers=AUTH).status_code == 201
        assert function_client("tasks").post("/api/v1/tasks", json={
            "name": "job", "type": "ai", "prompt": "p", "agentRef": "ops",
            "workspace": {"gitRepo": "https://github.com/example/app.git", "gitSecretRef": {"name": "gone"}}},
            headers=AUTH).status_code == 201
        response = function_client("internal").post(WORKER_CALL.format("list_pull_requests"),
                                                    json={"arguments": {}, "taskName": "job"}, headers=AUTH)
        assert response.status_code == 200
        assert response.get_json()["result"] == {
            "success": False, "error": 'git secret "gone" not found', "errorType": "missing_credentials",
            "suggestion": "Create the Secret, or name an existing one in gitSecretRef"}
        assert server.requests == []
