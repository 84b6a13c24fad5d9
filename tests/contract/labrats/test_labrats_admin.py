"""API keys, webhook sources, config, stats, auth and models of the labrats dialect."""

from __future__ import annotations

import pytest

from tests.conftest import AUTH


@pytest.fixture
def jobs(function_client):
    return function_client("jobs")


def test_admin_routes_need_credentials(jobs):
    for method, path in [("GET", "/api/api-keys"), ("POST", "/api/api-keys"), ("DELETE", "/api/api-keys/x"),
                         ("GET", "/api/webhook-sources"), ("POST", "/api/webhook-sources"),
                         ("GET", "/api/webhook-sources/x"), ("PATCH", "/api/webhook-sources/x"),
                         ("DELETE", "/api/webhook-sources/x"), ("GET", "/api/config/defaults"),
                         ("PUT", "/api/config/defaults"), ("GET", "/api/config/sources"),
                         ("GET", "/api/config/sources/github"), ("PUT", "/api/config/sources/github"),
                         ("DELETE", "/api/config/sources/github"), ("GET", "/api/stats"),
                         ("GET", "/api/stats/timeseries"), ("GET", "/api/models"), ("GET", "/api/uploads"),
                         ("POST", "/api/uploads"), ("DELETE", "/api/uploads/x"), ("POST", "/api/uploads/x/extract")]:
        response = jobs.open(path, method=method)
        assert response.status_code == 401, path
        assert response.get_json() == {"error": "missing authorization header"}


def test_api_keys_hashed_shown_once_and_revoked_at_once_on_another_replica(jobs, function_client):
    created = jobs.post("/api/api-keys", headers=AUTH, json={"name": "ci"})
    assert created.status_code == 201
    body = created.get_json()
    key = body["key"]
    assert set(body) == {"id", "name", "prefix", "createdAt", "key"} and key.startswith(body["prefix"])
    listing = jobs.get("/api/api-keys", headers=AUTH)
    assert listing.get_json() == [{"id": body["id"], "name": "ci", "prefix": body["prefix"],
                                   "createdAt": body["createdAt"]}]
    from shared.store import ObjectStore

    stored = ObjectStore("apikey").get("_global", body["id"]).doc
    assert key not in str(stored) and len(stored["hash"]) == 64
    other_replica = function_client("jobs")  # a second app instance over the same tables
    bearer = {"Authorization": f"Bearer {key}"}
    assert other_replica.post("/api/jobs/submit", headers=bearer,
                              json={"source": "ci", "type": "t", "prompt": "p"}).status_code == 201
    assert jobs.delete(f"/api/api-keys/{body['id']}", headers=AUTH).get_json() == {"revoked": body["id"]}
    response = other_replica.get("/api/jobs", headers=bearer)
    assert response.status_code == 401 and response.get_json() == {"error": "invalid API key"}
    assert jobs.delete(f"/api/api-keys/{body['id']}", headers=AUTH).get_json() == {"error": "API key not found"}
    assert jobs.post("/api/api-keys", headers=AUTH, json={}).get_json() == {"error": "name is required"}


def test_webhook_sources_crud_hides_the_secret(jobs):
    response = jobs.post("/api/webhook-sources", headers=AUTH,
                         json={"name": "gh", "type": "github", "secret": "s3cret-value"})
    assert response.status_code == 201
    body = response.get_json()
    assert "s3cret-value" not in response.get_data(as_text=True) and body["hasSecret"] is True
    assert body["provisioning"]["deployment"] is None and "No per-source Deployment" in body["provisioning"]["message"]
    assert jobs.get("/api/webhook-sources", headers=AUTH).get_json()[0]["name"] == "gh"
    patched = jobs.patch("/api/webhook-sources/gh", headers=AUTH, json={"enabled": False, "repoOverrides": {"o/r": {}}})
    assert patched.get_json()["enabled"] is False and patched.get_json()["repoOverrides"] == {"o/r": {}}
    assert jobs.patch("/api/webhook-sources/gh", headers=AUTH, json={"type": "svn"}).get_json() == {
        "error": "type must be one of github, generic"}
    assert jobs.post("/api/webhook-sources", headers=AUTH, json={"name": "x"}).get_json() == {
        "error": "secret is required"}
    assert jobs.post("/api/webhook-sources", headers=AUTH, json={"name": "gh", "secret": "12345678"}).status_code == 409
    deleted = jobs.delete("/api/webhook-sources/gh", headers=AUTH)
    assert deleted.get_json()["deleted"] == "gh"
    assert jobs.get("/api/webhook-sources/gh", headers=AUTH).get_json() == {"error": "Webhook source not found"}


def test_config_defaults_merge_and_source_stubs(jobs):
    assert jobs.get("/api/config/defaults", headers=AUTH).get_json() == {}
    first = {"model": "sonnet", "effort": "medium", "providers": {"claude": {"model": "opus", "effort": "high"}}}
    assert jobs.put("/api/config/defaults", headers=AUTH, json=first).get_json() == first
    merged = jobs.put("/api/config/defaults", headers=AUTH, json={"effort": "low", "providers": {"codex": {"model": "o3"}}})
    assert merged.get_json() == {"model": "sonnet", "effort": "low",
                                 "providers": {"claude": {"model": "opus", "effort": "high"}, "codex": {"model": "o3"}}}
    assert jobs.get("/api/config/defaults", headers=AUTH).get_json() == merged.get_json()
    bad = jobs.put("/api/config/defaults", headers=AUTH, json={"model": 3})
    assert bad.status_code == 400 and bad.get_json() == {"error": "model must be a string"}
    for resources, message in (
            ({"requests": {"cpu": "lots"}}, "executorResources.requests.cpu must be a quantity such as 500m or 1Gi"),
            ({"requests": {"memory": "8Gi"}, "limits": {"memory": "4Gi"}},
             "executorResources.requests.memory must be less than or equal to limits.memory"),
            ({"request": {}}, "executorResources.request is not allowed (use requests and limits)"),
            ({"limits": ["2"]}, "executorResources.limits must be an object")):
        bad = jobs.put("/api/config/defaults", headers=AUTH, json={"executorResources": resources})
        assert bad.status_code == 400 and bad.get_json() == {"error": message}
    # The labrats table lists every field of the defaults: another one, at any depth, is named.
    for body, message in (({"modle": "opus"}, "modle: unknown field"),
                          ({"providers": {"claude": {"temperature": 1}}}, "providers.claude.temperature: unknown field"),
                          ({"executorResources": {"requests": {"cpu": "1"}}, "nodeSelector": {}},
                           "nodeSelector: unknown field")):
        bad = jobs.put("/api/config/defaults", headers=AUTH, json=body)
        assert bad.status_code == 400 and bad.get_json() == {"error": message}
    assert jobs.get("/api/config/defaults", headers=AUTH).get_json() == merged.get_json()  # nothing stored
    assert jobs.get("/api/config/sources", headers=AUTH).get_json() == {"sources": []}
    assert jobs.get("/api/config/sources/github", headers=AUTH).get_json() == {"source": "github", "model": "",
                                                                                "effort": ""}
    assert jobs.put("/api/config/sources/github", headers=AUTH, json={"a": 1}).get_json() == {"a": 1}
    assert jobs.delete("/api/config/sources/github", headers=AUTH).get_json() == {"removed": "github"}
    models = jobs.get("/api/models", headers=AUTH).get_json()
    assert models["models"] == [{"provider": "default", "model": "sonnet"}, {"provider": "claude", "model": "opus"},
                                {"provider": "codex", "model": "o3"}]


def test_stats_from_counters(jobs):
    for repo, model in [("o/a", "opus"), ("o/a", None), ("o/b", "opus")]:
        body = {"source": "github", "type": "code-review", "prompt": "p", "metadata": {"repo": repo}}
        if model:
            body["config"] = {"model": model}
        jobs.post("/api/jobs/submit", headers=AUTH, json=body)
    stats = jobs.get("/api/stats", headers=AUTH).get_json()
    assert stats["total"] == 3 and stats["byType"] == {"code-review": 3}
    assert stats["byModel"] == {"opus": 2, "default": 1} and stats["byRepo"] == {"o/a": 2, "o/b": 1}
    assert stats["totals"] == {"total": 3, "completed": 0, "failed": 0, "cancelled": 0, "inFlight": 3}


def test_timeseries_503_without_prometheus_and_proxied_with_it(jobs, httpserver, monkeypatch):
    response = jobs.get("/api/stats/timeseries?query=up", headers=AUTH)
    assert response.status_code == 503
    assert response.get_json() == {"error": "Timeseries are unavailable: PROMETHEUS_URL is not configured"}
    from shared.config import reset_settings

    monkeypatch.setenv("PROMETHEUS_URL", httpserver.url_for("/prom"))
    reset_settings()
    answer = {"status": "success", "data": {"resultType": "matrix", "result": []}}
    httpserver.expect_request("/prom/api/v1/query_range", query_string={"query": "up", "start": "1", "end": "2",
                                                                        "step": "15"}).respond_with_json(answer)
    response = jobs.get("/api/stats/timeseries?query=up&start=1&end=2&step=15", headers=AUTH)
    assert response.status_code == 200 and response.get_json() == answer
    assert jobs.get("/api/stats/timeseries", headers=AUTH).get_json() == {"error": "query is required"}


def test_auth_routes_are_public(jobs):
    assert jobs.get("/api/auth/me").get_json() == {"user": None, "version": "shoal-0.1.0"}
    me = jobs.get("/api/auth/me", headers=AUTH).get_json()
    assert me["user"]["username"] == "dev"
    jobs.set_cookie("auth_token", "test-dev-token")
    assert jobs.get("/api/auth/me").get_json()["user"]["username"] == "dev"
    logout = jobs.post("/api/auth/logout")
    assert logout.status_code == 200 and "auth_token=;" in logout.headers["Set-Cookie"]
    assert jobs.get("/api/auth/oidc").status_code == 503

