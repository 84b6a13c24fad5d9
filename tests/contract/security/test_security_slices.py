"""Review slices planned from the repository tree (no spec.paths), tree failures, and RBAC."""

from __future__ import annotations

import pytest

from tests.conftest import AUTH
from tests.support.security import execute_queued_scan

BASE = "/api/v1/security/repositories"


@pytest.fixture
def apps(function_client, httpserver, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_GITHUB_API_URL", httpserver.url_for("/gh"))
    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1,localhost")
    monkeypatch.setenv("SHOAL_SECURITY_GITHUB_TOKEN", "ghp_tree")
    reset_settings()
    security, tasks, github = function_client("security"), function_client("tasks"), function_client("github")
    body = {"name": "app", "spec": {"repoURL": "https://github.com/example/app", "ref": "v1.2.3",
                                    "analysisAgentRef": {"name": "security-reviewer"}}}
    assert security.post(BASE, json=body, headers=AUTH).status_code == 201
    return security, tasks, github


def test_slices_follow_the_top_level_tree(apps, event_sink, httpserver):
    from shared.security.slices import slice_id

    security, tasks, github = apps
    httpserver.expect_request("/gh/repos/example/app/git/trees/v1.2.3", method="GET").respond_with_json(
        {"sha": "t", "truncated": False, "tree": [{"path": "web", "type": "tree"}, {"path": "README.md", "type": "blob"},
                                                   {"path": "api", "type": "tree"}]})
    run = security.post(f"{BASE}/app/scans", headers=AUTH).get_json()
    execute_queued_scan(github, event_sink, run["id"])
    [tree_call] = [r for r, _ in httpserver.log if r.path.startswith("/gh/")]
    assert tree_call.headers["Authorization"] == "Bearer ghp_tree"
    found = security.get(f"{BASE}/app/slices", headers=AUTH).get_json()["items"]
    by_path = {s["path"]: s for s in found}
    assert set(by_path) == {"", "api", "web"}
    assert by_path[""]["sliceID"] == slice_id("") and by_path[""]["excludes"] == ["api", "web"]
    assert by_path["api"]["sliceID"] == slice_id("api") and by_path["api"]["status"] == "running"
    root_task = tasks.get(f"/api/v1/tasks/{by_path['']['taskName']}", headers=AUTH).get_json()
    assert "the whole repository except `api`, `web` (reviewed separately)" in root_task["spec"]["prompt"]
    # only `ref` set: the workspace checks out the ref, not a forced main
    assert root_task["spec"]["workspace"] == {"gitRepo": "https://github.com/example/app.git", "branch": "v1.2.3"}
    [stored] = security.get(f"{BASE}/app/scans", headers=AUTH).get_json()["items"]
    assert stored["phase"] == "running" and set(stored["slices"]) == {s["sliceID"] for s in found}
    # a redelivered queued event changes nothing
    execute_queued_scan(github, event_sink, run["id"])
    assert len([r for r, _ in httpserver.log if r.path.startswith("/gh/")]) == 1


def test_a_large_directory_is_split_into_its_subdirectories(apps, event_sink, httpserver):
    security, tasks, github = apps
    kb = 1000
    tree = [{"path": "api", "type": "tree"}, {"path": "api/util.py", "type": "blob", "size": 10 * kb},
            {"path": "api/v1", "type": "tree"}, {"path": "api/v1/users.py", "type": "blob", "size": 700 * kb},
            {"path": "api/v2", "type": "tree"}, {"path": "api/v2/users.py", "type": "blob", "size": 600 * kb},
            {"path": "web", "type": "tree"}, {"path": "web/app.js", "type": "blob", "size": 50 * kb},
            {"path": "README.md", "type": "blob", "size": kb}]
    httpserver.expect_request("/gh/repos/example/app/git/trees/v1.2.3", query_string="recursive=1",
                              method="GET").respond_with_json({"sha": "t", "truncated": False, "tree": tree})
    run = security.post(f"{BASE}/app/scans", headers=AUTH).get_json()
    execute_queued_scan(github, event_sink, run["id"])
    by_path = {s["path"]: s for s in security.get(f"{BASE}/app/slices", headers=AUTH).get_json()["items"]}
    assert set(by_path) == {"", "api", "api/v1", "api/v2", "web"}
    assert by_path[""]["excludes"] == ["api", "web"] and by_path["api"]["excludes"] == ["api/v1", "api/v2"]
    assert by_path["api/v1"]["excludes"] == [] and by_path["web"]["excludes"] == []
    prompt = tasks.get(f"/api/v1/tasks/{by_path['api']['taskName']}", headers=AUTH).get_json()["spec"]["prompt"]
    assert "Review only the path `api` except `api/v1`, `api/v2` (reviewed separately)" in prompt


def test_a_truncated_tree_falls_back_to_the_top_level(apps, event_sink, httpserver):
    security, _, github = apps
    httpserver.expect_request("/gh/repos/example/app/git/trees/v1.2.3", query_string="recursive=1").respond_with_json(
        {"sha": "t", "truncated": True, "tree": [{"path": "api/v1/x.py", "type": "blob", "size": 9_000_000}]})
    httpserver.expect_request("/gh/repos/example/app/git/trees/v1.2.3", query_string="").respond_with_json(
        {"sha": "t", "truncated": False, "tree": [{"path": "api", "type": "tree"}, {"path": "docs", "type": "tree"}]})
    run = security.post(f"{BASE}/app/scans", headers=AUTH).get_json()
    execute_queued_scan(github, event_sink, run["id"])
    found = security.get(f"{BASE}/app/slices", headers=AUTH).get_json()["items"]
    assert sorted(s["path"] for s in found) == ["", "api", "docs"]


def test_unreadable_tree_fails_the_run_and_frees_the_slot(apps, event_sink, httpserver):
    security, _, github = apps
    httpserver.expect_request("/gh/repos/example/app/git/trees/v1.2.3").respond_with_json({"message": "x"},
                                                                                          status=404)
    run = security.post(f"{BASE}/app/scans", headers=AUTH).get_json()
    execute_queued_scan(github, event_sink, run["id"])
    [stored] = security.get(f"{BASE}/app/scans", headers=AUTH).get_json()["items"]
    assert stored["phase"] == "failed"
    assert stored["message"] == ("the repository tree could not be read: "
                                 "GitHub answered 404 for /repos/example/app/git/trees/v1.2.3")
    [event] = event_sink.of_type("dev.shoal.security.scan.finished")
    assert event.data["phase"] == "failed"
    assert security.post(f"{BASE}/app/scans", headers=AUTH).status_code == 201


def test_scans_need_rbac(apps, fake_kube):
    security, _, _ = apps
    fake_kube.tokens["sa"] = {"authenticated": True, "user": {"username": "system:serviceaccount:default:ops"}}
    fake_kube.authorize = lambda spec: spec["resourceAttributes"]["verb"] in ("get", "list")
    sa = {"Authorization": "Bearer sa"}
    response = security.post(f"{BASE}/app/scans", headers=sa)
    assert response.status_code == 403
    assert response.get_json() == {"error": {"code": 403, "message": "not authorized to update repositoryscans"}}
    assert security.get(f"{BASE}/app", headers=sa).status_code == 200
    assert security.get(f"{BASE}/app/scans", headers=sa).get_json()["items"] == []
    dismiss = security.post("/api/v1/security/findings/sf-1/dismiss", headers=sa)
    assert dismiss.get_json() == {"error": {"code": 403, "message": "not authorized to update securityfindings"}}


def test_full_validation_mode_validates_new_serious_findings(function_client, event_sink):
    from tests.support.security import finish_task

    security, tasks = function_client("security"), function_client("tasks")
    internal, reactor, github = function_client("internal"), function_client("reactor"), function_client("github")
    body = {"name": "strict", "spec": {"repoURL": "https://github.com/example/app", "paths": ["api"],
                                       "validationMode": "full", "analysisAgentRef": {"name": "security-reviewer"}}}
    assert security.post(BASE, json=body, headers=AUTH).status_code == 201
    run = security.post(f"{BASE}/strict/scans", headers=AUTH).get_json()
    execute_queued_scan(github, event_sink, run["id"])
    [slice_] = security.get(f"{BASE}/strict/slices", headers=AUTH).get_json()["items"]
    answer = {"findings": [
        {"title": "SSRF in fetch", "severity": "critical", "category": "ssrf", "file": "api/f.py", "description": "d"},
        {"title": "Verbose errors", "severity": "low", "category": "info-leak", "file": "api/e.py", "description": "d"}]}
    finish_task(internal, reactor, event_sink, slice_["taskName"], answer)
    found = {f["severity"]: f for f in security.get(f"{BASE}/strict/findings", headers=AUTH).get_json()["items"]}
    assert found["critical"]["validationStatus"] == "validating"
    assert found["low"]["validationStatus"] == "unvalidated"
    task = tasks.get(f"/api/v1/tasks/{found['critical']['validationTask']}", headers=AUTH).get_json()
    assert task["metadata"]["annotations"]["orka.ai/security-task"] == "validate"


def test_deleting_a_repository_cancels_its_running_scan(function_client, event_sink):
    security, tasks, github = function_client("security"), function_client("tasks"), function_client("github")
    body = {"name": "gone", "spec": {"repoURL": "https://github.com/example/app", "paths": ["api", "web"],
                                     "analysisAgentRef": {"name": "security-reviewer"}}}
    assert security.post(BASE, json=body, headers=AUTH).status_code == 201
    run = security.post(f"{BASE}/gone/scans", headers=AUTH).get_json()
    execute_queued_scan(github, event_sink, run["id"])
    names = [s["taskName"] for s in security.get(f"{BASE}/gone/slices", headers=AUTH).get_json()["items"]]
    assert security.delete(f"{BASE}/gone", headers=AUTH).status_code == 204
    phases = {tasks.get(f"/api/v1/tasks/{n}", headers=AUTH).get_json()["status"]["phase"] for n in names}
    assert phases == {"Cancelled"}
    assert security.post(BASE, json=body, headers=AUTH).status_code == 201  # re-created: starts empty
    assert security.get(f"{BASE}/gone/scans", headers=AUTH).get_json()["items"] == []
    assert security.get(f"{BASE}/gone/slices", headers=AUTH).get_json()["items"] == []
