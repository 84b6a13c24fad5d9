"""labrats API keys held in Secrets labelled labrats.work/type=ai-api-key (labrats-ai-agents-api.txt:
"validated against SUBMIT_API_KEYS … and against Secrets labeled labrats.work/type=ai-api-key")."""

from __future__ import annotations

import base64

import pytest

KEY = "lrk_from-a-secret-0123456789"


@pytest.fixture
def jobs(function_client):
    from shared.auth import secret_api_keys

    secret_api_keys.clear()
    yield function_client("jobs")
    secret_api_keys.clear()


def secret(name: str, value: str, label: str = "ai-api-key", field: str = "key") -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "labels": {"labrats.work/type": label}},
            "data": {field: base64.b64encode(value.encode()).decode()}}


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_in_a_labelled_secret_is_accepted(jobs, fake_kube):
    fake_kube.add("/api/v1", "secrets", "default", secret("ci-key", KEY))
    response = jobs.get("/api/jobs", headers=bearer(KEY))
    assert response.status_code == 200 and response.get_json()["jobs"] == []
    listing = [r for r in fake_kube.requests if r["path"] == "/api/v1/namespaces/default/secrets"]
    assert [r["query"].get("labelSelector") for r in listing] == ["labrats.work/type=ai-api-key"]
    # Cached: a second request does not list again.
    assert jobs.get("/api/jobs", headers=bearer(KEY)).status_code == 200
    assert len([r for r in fake_kube.requests if r["path"] == "/api/v1/namespaces/default/secrets"]) == 1


@pytest.mark.parametrize("stored", [secret("other", KEY, label="something-else"), secret("bad", KEY, field="token")])
def test_only_labelled_secrets_with_a_key_count(jobs, fake_kube, stored):
    fake_kube.add("/api/v1", "secrets", "default", stored)
    response = jobs.get("/api/jobs", headers=bearer(KEY))
    assert (response.status_code, response.get_json()) == (401, {"error": "invalid API key"})


def test_a_deleted_secret_stops_working_after_the_cache(jobs, fake_kube):
    from shared.auth import secret_api_keys

    fake_kube.add("/api/v1", "secrets", "default", secret("ci-key", KEY))
    assert jobs.get("/api/jobs", headers=bearer(KEY)).status_code == 200
    del fake_kube.objects[("/api/v1", "secrets", "default", "ci-key")]
    secret_api_keys.clear()  # as SECRET_KEYS_TTL passing would
    assert jobs.get("/api/jobs", headers=bearer(KEY)).status_code == 401


def test_an_unreadable_secret_list_is_no_key_not_a_500(jobs, fake_kube, monkeypatch):
    from shared.auth.secret_api_keys import secret_key_name
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_KUBE_API_URL", "http://127.0.0.1:9")  # nothing listens
    reset_settings()
    assert secret_key_name(KEY) is None
    # The request then goes on to TokenReview, whose outage is the shared 503 (never a 500).
    assert jobs.get("/api/jobs", headers=bearer(KEY)).status_code == 503


def test_the_platform_metrics_cover_the_jobs_counters(jobs, function_client, event_sink):
    from tests.conftest import AUTH

    for kind in ("implement-issue", "implement-issue", "review"):
        assert jobs.post("/api/jobs/submit", headers=AUTH, json={
            "source": "ci", "type": kind, "prompt": "p", "config": {"model": "opus"}}).status_code == 201
    from shared.jobs.stores import STATS_SET
    from shared.store import counters

    counters.add(STATS_SET, "default", {"status:completed": 1})  # as the reactor does at a finish
    response = function_client("incidents").get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    for line in ('shoal_jobs_submitted_total{namespace="default"} 3',
                 'shoal_jobs_submitted_by_type_total{namespace="default",type="implement-issue"} 2',
                 'shoal_jobs_submitted_by_type_total{namespace="default",type="review"} 1',
                 'shoal_jobs_submitted_by_source_total{namespace="default",source="ci"} 3',
                 'shoal_jobs_submitted_by_model_total{namespace="default",model="opus"} 3',
                 'shoal_jobs_finished_total{namespace="default",status="completed"} 1',
                 'shoal_jobs_in_flight{namespace="default"} 2'):
        assert line in text.splitlines(), line
    assert "# TYPE shoal_jobs_in_flight gauge" in text.splitlines()
