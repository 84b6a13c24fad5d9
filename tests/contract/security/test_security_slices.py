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
