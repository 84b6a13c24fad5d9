"""Contract: /api/v1/security/repositories CRUD, threat model, scans (orka-api.txt, Security)."""

from __future__ import annotations

import pytest

from tests.conftest import AUTH

BODY = {"name": "example-repo", "namespace": "default", "spec": {
    "provider": "github", "repoURL": "https://github.com/example/app", "branch": "main", "ref": "v1.2.3",
    "schedule": "0 2 * * *", "validationMode": "light", "analysisAgentRef": {"name": "security-reviewer"}}}
BASE = "/api/v1/security/repositories"


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def security(function_client):
    return function_client("security")


def create(security, name="app", **spec):
    body = {"name": name, "spec": {"repoURL": "https://github.com/example/app",
                                   "analysisAgentRef": {"name": "security-reviewer"}, **spec}}
    response = security.post(BASE, json=body, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(("method", "path"), [
    ("POST", BASE), ("GET", BASE), ("GET", f"{BASE}/x"), ("PUT", f"{BASE}/x"), ("DELETE", f"{BASE}/x"),
    ("GET", f"{BASE}/x/threat-model"), ("PUT", f"{BASE}/x/threat-model"), ("GET", f"{BASE}/x/scans"),
    ("POST", f"{BASE}/x/scans"), ("GET", f"{BASE}/x/slices"), ("GET", f"{BASE}/x/slices/s"),
    ("GET", f"{BASE}/x/dropped-findings"), ("GET", f"{BASE}/x/findings"),
    ("GET", "/api/v1/security/findings/f"), ("POST", "/api/v1/security/findings/f/dismiss"),
    ("POST", "/api/v1/security/findings/f/reopen"), ("POST", "/api/v1/security/findings/f/validate"),
    ("POST", "/api/v1/security/findings/f/patch"), ("GET", "/api/v1/security/findings/f/patches"),
    ("POST", "/api/v1/security/findings/f/pull-request")])
def test_401_without_credentials(security, method, path):
    response = security.open(path, method=method)
    assert response.status_code == 401 and response.get_json() == err(401, "missing authorization header")


def test_create_defaults_and_infers(security):
    response = security.post(BASE, json=BODY, headers=AUTH)
    assert response.status_code == 201
    doc = response.get_json()
    assert doc["kind"] == "RepositoryScan" and doc["metadata"]["name"] == "example-repo"
    assert doc["metadata"]["namespace"] == "default" and doc["metadata"]["uid"]
    assert doc["spec"]["owner"] == "example" and doc["spec"]["repository"] == "app"
    assert doc["spec"]["ref"] == "v1.2.3" and doc["spec"]["branch"] == "main"
    assert doc["status"]["phase"] == "Ready" and doc["status"]["nextScheduleTime"].endswith("T02:00:00Z")
    minimal = create(security, "minimal")
    assert minimal["spec"]["provider"] == "github" and minimal["spec"]["branch"] == "main"
    assert minimal["spec"]["validationMode"] == "light"
    only_ref = create(security, "pinned", ref="abc1234")
    assert "branch" not in only_ref["spec"] and only_ref["spec"]["ref"] == "abc1234"
    duplicate = security.post(BASE, json=BODY, headers=AUTH)
    assert duplicate.status_code == 409 and duplicate.get_json() == err(409, "repository scan already exists")


@pytest.mark.parametrize(("body", "message"), [
    ({"spec": {"repoURL": "https://github.com/example/app", "analysisAgentRef": {"name": "a"}}}, "name is required"),
    ({"name": "x", "spec": {"analysisAgentRef": {"name": "a"}}}, "spec.repoURL is required"),
    ({"name": "x", "spec": {"repoURL": "https://github.com/example/app"}}, "spec.analysisAgentRef.name is required"),
    ({"name": "x", "spec": {"repoURL": "https://github.com/example/app", "analysisAgentRef": {}}},
     "spec.analysisAgentRef.name is required"),
    ({"name": "x", "spec": {"repoURL": "https://tok@github.com/example/app", "analysisAgentRef": {"name": "a"}}},
     "spec.repoURL must be a credential-free GitHub repository root URL such as https://github.com/owner/repo"),
    ({"name": "x", "spec": {"repoURL": "https://github.com/example/app", "provider": "gitlab",
                            "analysisAgentRef": {"name": "a"}}}, 'unsupported provider "gitlab": only github is supported'),
    ({"name": "x", "spec": {"repoURL": "https://github.com/example/app", "owner": "other",
                            "analysisAgentRef": {"name": "a"}}}, "spec.owner does not match spec.repoURL"),
    ({"name": "x", "spec": {"repoURL": "https://github.com/example/app", "validationMode": "deep",
                            "analysisAgentRef": {"name": "a"}}}, "spec.validationMode must be one of none, light, full"),
    ({"name": "x", "spec": {"repoURL": "https://github.com/example/app", "schedule": "daily",
                            "analysisAgentRef": {"name": "a"}}}, "invalid schedule 'daily': must be a 5-field cron expression"),
    ({"name": "x", "spec": {"repoURL": "https://github.com/example/app", "paths": ["../etc"],
                            "analysisAgentRef": {"name": "a"}}},
     "invalid spec.paths entry '../etc': must be a relative repository path"),
    ({"name": "x", "status": {"phase": "Ready"}, "spec": {}}, "status cannot be set by clients"),
    ({"name": "x", "metadata": {"uid": "u"}, "spec": {}}, "metadata.uid cannot be set by clients"),
    ({"name": "Bad_Name", "spec": {"repoURL": "https://github.com/example/app", "analysisAgentRef": {"name": "a"}}},
     'invalid name "Bad_Name": must be a lowercase RFC 1123 label'),
    # Orka's unknown-field policy (docs/api-reference.md): a spec field that is not one is named, never stored.
    ({"name": "x", "spec": {"repoURL": "https://github.com/example/app", "analysisAgentRef": {"name": "a"},
                            "retries": 3}}, "spec.retries: unknown field"),
])
def test_create_bad_input(security, body, message):
    response = security.post(BASE, json=body, headers=AUTH)
    assert response.status_code == 400 and response.get_json() == err(400, message)
    assert security.get(BASE, headers=AUTH).get_json()["items"] == []


def test_create_invalid_json(security):
    response = security.post(BASE, data="nope", headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json() == err(400, "invalid request body")


def test_list_paginates_get_update_delete(security):
    for name in ("a1", "a2", "a3"):
        create(security, name)
    page = security.get(f"{BASE}?limit=2", headers=AUTH).get_json()
    assert [i["metadata"]["name"] for i in page["items"]] == ["a1", "a2"] and page["metadata"]["continue"]
    rest = security.get(f"{BASE}?limit=2&continue={page['metadata']['continue']}", headers=AUTH).get_json()
    assert [i["metadata"]["name"] for i in rest["items"]] == ["a3"] and rest["metadata"] == {}
    assert security.get(f"{BASE}?limit=x", headers=AUTH).get_json() == err(400, "invalid limit parameter: x")

    current = security.get(f"{BASE}/a1", headers=AUTH).get_json()
    spec = {**current["spec"], "branch": "develop", "paths": ["src", "api/"]}
    stale = security.put(f"{BASE}/a1", json={"spec": spec, "metadata": {"resourceVersion": "999"}}, headers=AUTH)
    assert stale.status_code == 409 and stale.get_json() == err(409, "repository scan was modified concurrently")
    updated = security.put(f"{BASE}/a1", json={"spec": spec, "metadata": {
        "resourceVersion": current["metadata"]["resourceVersion"]}}, headers=AUTH).get_json()
    assert updated["spec"]["branch"] == "develop" and updated["spec"]["paths"] == ["api", "src"]
    assert updated["metadata"]["generation"] == 2 and updated["metadata"]["uid"] == current["metadata"]["uid"]
    assert security.put(f"{BASE}/a1", json={}, headers=AUTH).get_json() == err(400, "spec is required")
    bad = security.put(f"{BASE}/a1", json={"spec": {"repoURL": "https://github.com/example/app"}}, headers=AUTH)
    assert bad.get_json() == err(400, "spec.analysisAgentRef.name is required")
    typo = security.put(f"{BASE}/a1", json={"spec": {**spec, "branchh": "x"}}, headers=AUTH)
    assert typo.status_code == 400 and typo.get_json() == err(400, "spec.branchh: unknown field")
    assert security.get(f"{BASE}/a1", headers=AUTH).get_json()["spec"]["branch"] == "develop"
    assert security.put(f"{BASE}/nope", json={"spec": spec}, headers=AUTH).get_json() == err(
        404, "repository scan not found")

    assert security.delete(f"{BASE}/a1", headers=AUTH).status_code == 204
    assert security.get(f"{BASE}/a1", headers=AUTH).get_json() == err(404, "repository scan not found")
    assert security.delete(f"{BASE}/a1", headers=AUTH).status_code == 404


def test_threat_model_put_and_get(security):
    create(security)
    missing = security.get(f"{BASE}/app/threat-model", headers=AUTH)
    assert missing.status_code == 404 and missing.get_json() == err(404, "threat model not found")
    body = {"summary": "Web app with a SQL backend", "assets": ["user data"], "threats": [{"title": "SQLi"}]}
    put = security.put(f"{BASE}/app/threat-model", json=body, headers=AUTH)
    assert put.status_code == 200 and put.get_json()["source"] == "user"
    got = security.get(f"{BASE}/app/threat-model", headers=AUTH).get_json()
    assert got["summary"] == body["summary"] and got["threats"] == body["threats"] and got["repository"] == "app"
    for bad, message in ((
            {"source": "scan"}, "source cannot be set by clients"),
            ({"threats": "x"}, "invalid threat model: threats: Input should be a valid list"),
            ({"colour": "red"}, "invalid threat model: colour: Extra inputs are not permitted"),
            ({}, "threat model is empty")):
        response = security.put(f"{BASE}/app/threat-model", json=bad, headers=AUTH)
        assert response.status_code == 400 and response.get_json() == err(400, message), bad
    assert security.put(f"{BASE}/nope/threat-model", json=body, headers=AUTH).status_code == 404


def test_children_of_a_missing_repository_are_404(security):
    for path in ("scans", "slices", "slices/x", "dropped-findings", "findings"):
        response = security.get(f"{BASE}/nope/{path}", headers=AUTH)
        assert response.get_json() == err(404, "repository scan not found"), path
    assert security.post(f"{BASE}/nope/scans", headers=AUTH).get_json() == err(404, "repository scan not found")
    create(security)
    assert security.get(f"{BASE}/app/slices/x", headers=AUTH).get_json() == err(404, "review slice not found")
    assert security.get(f"{BASE}/app/findings?recommended=yes", headers=AUTH).get_json() == err(
        400, "recommended must be true or false")
    for query, message in (("severity=urgent", "severity must be one of critical, high, medium, low, info"),
                           ("state=closed", "state must be one of open, dismissed"),
                           ("validationStatus=ok", "validationStatus must be one of unvalidated, validating, "
                                                   "confirmed, rejected, inconclusive")):
        response = security.get(f"{BASE}/app/findings?{query}", headers=AUTH)
        assert (response.status_code, response.get_json()) == (400, err(400, message)), query
    assert security.get(f"{BASE}/app/findings?severity=high&state=open", headers=AUTH).status_code == 200
    assert security.get("/api/v1/security/findings/sf-x", headers=AUTH).get_json() == err(404, "finding not found")


def test_git_secret_must_exist_with_a_token(security, fake_kube):
    import base64

    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "gh"},
                                                     "data": {"token": base64.b64encode(b"ghp_x").decode()}})
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "empty"}, "data": {"other": "eA=="}})
    assert create(security, "ok", gitSecretRef={"name": "gh"})["spec"]["gitSecretRef"] == {"name": "gh"}
    for ref, message in (({"name": "missing"}, 'git secret "missing" not found in namespace "default"'),
                         ({"name": "empty"}, 'git secret "empty" must contain a non-empty token, password, or '
                                             "GITHUB_TOKEN key"),
                         ({}, "spec.gitSecretRef.name is required")):
        body = {"name": "bad", "spec": {"repoURL": "https://github.com/example/app", "gitSecretRef": ref,
                                        "analysisAgentRef": {"name": "a"}}}
        response = security.post(BASE, json=body, headers=AUTH)
        assert response.status_code == 400 and response.get_json() == err(400, message)
    assert "ghp_x" not in str(security.get(f"{BASE}/ok", headers=AUTH).get_json())


@pytest.mark.parametrize(("path", "body", "message"), [
    ("/api/v1/security/findings/f1/dismiss", {"reasn": "typo"}, "reasn: unknown field"),
    ("/api/v1/security/findings/f1/dismiss", {"reason": 5}, "reason must be a string"),
    ("/api/v1/security/findings/f1/validate", {"force": True}, "force: unknown field"),
    (f"{BASE}/app/scans", {"full": True}, "full: unknown field"),
])
def test_action_bodies_refuse_unknown_fields(security, path, body, message):
    response = security.post(path, json=body, headers=AUTH)
    assert response.status_code == 400 and response.get_json() == err(400, message)


def test_finding_filters_are_documented_and_checked(security):
    create(security)
    response = security.get(f"{BASE}/app/findings?severity=urgent", headers=AUTH)
    assert response.status_code == 400 and response.get_json() == err(
        400, "severity must be one of critical, high, medium, low, info")
    assert security.get(f"{BASE}/app/findings?severity=high&recommended=true", headers=AUTH).get_json() == {
        "items": [], "metadata": {}}


def test_the_documented_repository_scan_schema_validates_the_answers(security, function_client):
    import jsonschema

    doc = function_client("meta").get("/openapi.json").get_json()
    created = create(security)
    listing = security.get(BASE, headers=AUTH).get_json()
    for body, name in ((created, "RepositoryScan"), (listing, "RepositoryScanList")):
        jsonschema.validate(body, {**doc["components"]["schemas"][name], "components": doc["components"]})
