"""The whole security workflow: scan → slice tasks → results → findings, dropped output, threat model →
triage → validation → patch proposal → remediation pull request against a stand-in GitHub API."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import AUTH
from tests.support.security import execute_queued_scan, finish_task

BASE = "/api/v1/security/repositories"
FINDINGS = "/api/v1/security/findings"
SQLI = {"title": "SQL injection in user lookup", "severity": "high", "category": "injection", "file": "api/db.py",
        "line": 2, "description": "uid is concatenated into the query", "evidence": "q = ... + uid",
        "confidence": "high"}
DEBUG = {"title": "Debug mode enabled", "severity": "low", "category": "config", "file": "api/settings.py",
         "description": "DEBUG = True in production settings"}
BAD = {"title": "Weird", "severity": "urgent", "category": "x", "file": "api/x.py", "description": "d"}
ANSWER = {"threatModel": {"summary": "HTTP API over SQLite", "assets": ["user records"],
                          "threats": [{"title": "injection", "description": "query building"}]},
          "findings": [SQLI, DEBUG, BAD]}
DIFF = """--- a/api/db.py
+++ b/api/db.py
@@ -1,3 +1,3 @@
 import sqlite3
-q = "SELECT * FROM users WHERE id=" + uid
+q = ("SELECT * FROM users WHERE id=?", (uid,))
 run(q)
"""
ORIGINAL = 'import sqlite3\nq = "SELECT * FROM users WHERE id=" + uid\nrun(q)\n'


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def apps(function_client, httpserver, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_GITHUB_API_URL", httpserver.url_for("/gh"))
    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1,localhost")
    monkeypatch.setenv("SHOAL_SECURITY_GITHUB_TOKEN", "ghp_security")
    reset_settings()
    security, tasks = function_client("security"), function_client("tasks")
    internal, reactor, github = function_client("internal"), function_client("reactor"), function_client("github")
    body = {"name": "app", "spec": {"repoURL": "https://github.com/example/app", "paths": ["web", "api"],
                                    "analysisAgentRef": {"name": "security-reviewer"}}}
    assert security.post(BASE, json=body, headers=AUTH).status_code == 201
    return security, tasks, internal, reactor, github


def scan(security, github, event_sink) -> dict:
    """POST …/scans (201, queued), then the `github` function executes the queued run."""
    response = security.post(f"{BASE}/app/scans", headers=AUTH)
    assert response.status_code == 201, response.get_json()
    run = response.get_json()
    assert run["phase"] == "queued" and run["slices"] == {}
    execute_queued_scan(github, event_sink, run["id"])
    return run


def items(security, path: str) -> list[dict]:
    response = security.get(path, headers=AUTH)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_scan_pipeline_findings_dropped_and_threat_model(apps, event_sink):
    security, tasks, internal, reactor, github = apps
    run = scan(security, github, event_sink)
    assert run["trigger"] == "manual" and run["id"].startswith("scan_")
    assert items(security, f"{BASE}/app/scans")[0]["phase"] == "running"
    assert security.post(f"{BASE}/app/scans", headers=AUTH).get_json() == err(
        409, "a security scan is already running for this repository")
    slices = {s["path"]: s for s in items(security, f"{BASE}/app/slices")}
    assert set(slices) == {"api", "web"} and {s["status"] for s in slices.values()} == {"running"}
    api, web = slices["api"], slices["web"]
    assert security.get(f"{BASE}/app/slices/{api['sliceID']}", headers=AUTH).get_json()["path"] == "api"

    task = tasks.get(f"/api/v1/tasks/{api['taskName']}", headers=AUTH).get_json()
    assert task["spec"]["type"] == "agent" and task["spec"]["agentRef"] == {"name": "security-reviewer"}
    assert task["spec"]["workspace"] == {"gitRepo": "https://github.com/example/app.git", "branch": "main"}
    assert "Review only the path `api`" in task["spec"]["prompt"] and '"findings"' in task["spec"]["prompt"]
    assert task["metadata"]["labels"]["orka.ai/security-repository"] == "app"

    finish_task(internal, reactor, event_sink, api["taskName"], "Here you go:\n```json\n" + json.dumps(ANSWER) + "\n```")
    assert items(security, f"{BASE}/app/scans")[0]["phase"] == "running"  # web is still running
    finish_task(internal, reactor, event_sink, web["taskName"], "I could not find anything to report.")

    [done] = items(security, f"{BASE}/app/scans")
    assert done["phase"] == "succeeded" and done["message"] == "1 of 2 slices completed"
    assert done["findings"] == 2 and done["dropped"] == 2
    [event] = event_sink.of_type("dev.shoal.security.scan.finished")
    assert event.data == {"namespace": "default", "name": "app", "scanRunID": run["id"], "phase": "succeeded",
                          "findings": 2, "dropped": 2}
    statuses = {s["path"]: s["status"] for s in items(security, f"{BASE}/app/slices")}
    assert statuses == {"api": "completed", "web": "failed"}
    assert [s["path"] for s in items(security, f"{BASE}/app/slices?status=failed")] == ["web"]

    found = items(security, f"{BASE}/app/findings")
    assert {f["title"] for f in found} == {SQLI["title"], DEBUG["title"]}
    sqli = next(f for f in found if f["category"] == "injection")
    assert sqli["state"] == "open" and sqli["validationStatus"] == "unvalidated" and sqli["recommended"] is True
    assert sqli["sliceID"] == api["sliceID"] and sqli["scanRunID"] == run["id"]
    assert [f["id"] for f in items(security, f"{BASE}/app/findings?recommended=true")] == [sqli["id"]]
    assert [f["title"] for f in items(security, f"{BASE}/app/findings?severity=low")] == [DEBUG["title"]]
    assert items(security, f"{BASE}/app/findings?sliceID={web['sliceID']}") == []
    first = security.get(f"{BASE}/app/findings?limit=1", headers=AUTH).get_json()
    assert len(first["items"]) == 1 and first["metadata"]["continue"]
    second = security.get(f"{BASE}/app/findings?limit=1&cursor={first['metadata']['continue']}",
                          headers=AUTH).get_json()
    assert len(second["items"]) == 1 and second["items"][0]["id"] != first["items"][0]["id"]

    dropped = items(security, f"{BASE}/app/dropped-findings?scanRunID={run['id']}")
    reasons = {d["sliceID"]: d["reason"] for d in dropped}
    assert reasons[web["sliceID"]] == "the result contains no JSON object"
    assert reasons[api["sliceID"]].startswith("severity: Input should be 'critical', 'high', 'medium', 'low'")
    assert [d["sliceID"] for d in items(security, f"{BASE}/app/dropped-findings?sliceID={web['sliceID']}")] == [
        web["sliceID"]]
    assert items(security, f"{BASE}/app/dropped-findings?scanRunID=scan_0") == []
    model = security.get(f"{BASE}/app/threat-model", headers=AUTH).get_json()
    assert model["summary"] == "HTTP API over SQLite" and model["source"] == "scan" and model["scanRunID"] == run["id"]

    # triage survives a re-scan, and the same weakness is not duplicated
    assert security.post(f"{FINDINGS}/{sqli['id']}/dismiss", json={"reason": "accepted risk"},
                         headers=AUTH).status_code == 204
    dismissed = security.get(f"{FINDINGS}/{sqli['id']}", headers=AUTH).get_json()
    assert dismissed["state"] == "dismissed" and dismissed["dismissReason"] == "accepted risk"
    assert dismissed["recommended"] is False
    rerun = scan(security, github, event_sink)
    slices = {s["path"]: s for s in items(security, f"{BASE}/app/slices")}
    finish_task(internal, reactor, event_sink, slices["api"]["taskName"], ANSWER)
    finish_task(internal, reactor, event_sink, slices["web"]["taskName"], None, phase="Failed")
    found = items(security, f"{BASE}/app/findings")
    assert len(found) == 2
    again = security.get(f"{FINDINGS}/{sqli['id']}", headers=AUTH).get_json()
    assert again["state"] == "dismissed" and again["lastScanRunID"] == rerun["id"] and again["scanRunID"] == run["id"]
    web_slice = security.get(f"{BASE}/app/slices/{slices['web']['sliceID']}", headers=AUTH).get_json()
    assert web_slice["status"] == "failed" and "failed" in web_slice["message"]
    assert security.post(f"{FINDINGS}/{sqli['id']}/reopen", headers=AUTH).status_code == 204
    assert security.get(f"{FINDINGS}/{sqli['id']}", headers=AUTH).get_json()["state"] == "open"
    assert security.post(f"{FINDINGS}/{sqli['id']}/dismiss", json={"reason": 5}, headers=AUTH).get_json() == err(
        400, "reason must be a string")

    # deleting the repository hides its children
    assert security.delete(f"{BASE}/app", headers=AUTH).status_code == 204
    assert security.get(f"{FINDINGS}/{sqli['id']}", headers=AUTH).get_json() == err(404, "finding not found")


def test_validation_patch_and_pull_request(apps, event_sink, httpserver):
    security, tasks, internal, reactor, github = apps
    scan(security, github, event_sink)
    for s in items(security, f"{BASE}/app/slices"):
        finish_task(internal, reactor, event_sink, s["taskName"], ANSWER if s["path"] == "api" else {"findings": []})
    sqli = next(f for f in items(security, f"{BASE}/app/findings") if f["category"] == "injection")
    fid = sqli["id"]

    validating = security.post(f"{FINDINGS}/{fid}/validate", headers=AUTH)
    assert validating.status_code == 202 and validating.get_json()["validationStatus"] == "validating"
    assert security.post(f"{FINDINGS}/{fid}/validate", headers=AUTH).get_json() == err(
        409, "a validation is already running for this finding")
    vtask = tasks.get(f"/api/v1/tasks/{validating.get_json()['validationTask']}", headers=AUTH).get_json()
    assert "Validate this security finding" in vtask["spec"]["prompt"] and SQLI["title"] in vtask["spec"]["prompt"]
    finish_task(internal, reactor, event_sink, vtask["metadata"]["name"],
                {"validationStatus": "confirmed", "rationale": "reachable from GET /users"})
    validated = security.get(f"{FINDINGS}/{fid}", headers=AUTH).get_json()
    assert validated["validationStatus"] == "confirmed" and validated["validationMessage"] == "reachable from GET /users"

    no_receipt = security.post(f"{FINDINGS}/{fid}/pull-request", headers=AUTH)
    assert no_receipt.status_code == 409
    assert no_receipt.get_json() == err(409, "no verified patch proposal exists for this finding")

    bad = security.post(f"{FINDINGS}/{fid}/patch", headers=AUTH)
    assert bad.status_code == 201 and bad.get_json()["status"] == "pending"
    assert security.post(f"{FINDINGS}/{fid}/patch", headers=AUTH).get_json() == err(
        409, "a patch proposal is already being generated for this finding")
    finish_task(internal, reactor, event_sink, bad.get_json()["taskName"], {"summary": "fix", "diff": "not a diff"})
    good = security.post(f"{FINDINGS}/{fid}/patch", headers=AUTH).get_json()
    ptask = tasks.get(f"/api/v1/tasks/{good['taskName']}", headers=AUTH).get_json()
    assert "Write a minimal fix" in ptask["spec"]["prompt"]
    finish_task(internal, reactor, event_sink, good["taskName"],
                {"summary": "Use a parameterised query", "diff": DIFF})
    proposals = {p["id"]: p for p in items(security, f"{FINDINGS}/{fid}/patches")}
    assert proposals[bad.get_json()["id"]]["status"] == "failed"
    assert proposals[bad.get_json()["id"]]["verification"] == {"passed": False,
                                                               "message": "verification failed: the diff touches no files"}
    assert proposals[good["id"]]["status"] == "succeeded"
    assert proposals[good["id"]]["verification"]["files"] == ["api/db.py"]
    receipt = security.get(f"{FINDINGS}/{fid}", headers=AUTH).get_json()["remediation"]["receipt"]
    assert receipt["patchID"] == good["id"]

    branch = f"shoal/security-{fid}"
    gh = "/gh/repos/example/app"
    httpserver.expect_request(f"{gh}/pulls", method="GET").respond_with_json([])
    httpserver.expect_request(f"{gh}/git/ref/heads/main", method="GET").respond_with_json(
        {"ref": "refs/heads/main", "object": {"sha": "a" * 40}})
    httpserver.expect_request(f"{gh}/git/refs", method="POST").respond_with_json({"ref": f"refs/heads/{branch}"},
                                                                                 status=201)
    httpserver.expect_request(f"{gh}/contents/api/db.py", method="GET", query_string={"ref": "main"}).respond_with_json(
        {"content": base64.b64encode(ORIGINAL.encode()).decode(), "sha": "b" * 40})
    httpserver.expect_request(f"{gh}/contents/api/db.py", method="GET", query_string={"ref": branch}).respond_with_json(
        {"content": base64.b64encode(ORIGINAL.encode()).decode(), "sha": "b" * 40})
    httpserver.expect_request(f"{gh}/contents/api/db.py", method="PUT").respond_with_json({"commit": {}})
    httpserver.expect_request(f"{gh}/pulls", method="POST").respond_with_json(
        {"number": 42, "html_url": "https://github.com/example/app/pull/42"}, status=201)

    response = security.post(f"{FINDINGS}/{fid}/pull-request", headers=AUTH)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"prNumber": 42, "prURL": "https://github.com/example/app/pull/42", "status": "Open"}
    calls = [(r.method, r.path, r.args.get("ref") or r.args.get("head"), r.get_json(silent=True))
             for r, _ in httpserver.log if r.path.startswith("/gh/")]
    fixed = 'import sqlite3\nq = ("SELECT * FROM users WHERE id=?", (uid,))\nrun(q)\n'
    assert calls == [
        ("GET", f"{gh}/pulls", f"example:{branch}", None),
        ("GET", f"{gh}/git/ref/heads/main", None, None),
        ("POST", f"{gh}/git/refs", None, {"ref": f"refs/heads/{branch}", "sha": "a" * 40}),
        ("GET", f"{gh}/contents/api/db.py", "main", None),
        ("GET", f"{gh}/contents/api/db.py", branch, None),
        ("PUT", f"{gh}/contents/api/db.py", None, {
            "message": f"security: {SQLI['title']} ({fid})", "content": base64.b64encode(fixed.encode()).decode(),
            "branch": branch, "sha": "b" * 40}),
        ("POST", f"{gh}/pulls", None, {
            "title": f"Fix high injection: {SQLI['title']}", "head": branch, "base": "main",
            "body": f"Use a parameterised query\n\nFinding: {fid} (generated by a Shoal security scan)"}),
    ]
    gh_requests = [r for r, _ in httpserver.log if r.path.startswith("/gh/")]
    assert all(r.headers["Authorization"] == "Bearer ghp_security" for r in gh_requests)
    # idempotent: a retry returns the same PR without calling GitHub again
    again = security.post(f"{FINDINGS}/{fid}/pull-request", headers=AUTH)
    assert again.get_json() == response.get_json()
    assert len([r for r, _ in httpserver.log if r.path.startswith("/gh/")]) == len(gh_requests)
    assert "ghp_security" not in json.dumps(security.get(f"{FINDINGS}/{fid}", headers=AUTH).get_json())


def test_finished_runs_expire_and_a_deleted_repositorys_children_are_swept(apps, event_sink):
    import time

    from shared.security import retention
    from shared.security import store as st

    dropped, finding_refs, findings, patches, repositories, runs, slices = (
        st.dropped, st.finding_refs, st.findings, st.patches, st.repositories, st.runs, st.slices)
    patch_scope, repo_scope = st.patch_scope, st.repo_scope

    security, tasks, internal, reactor, github = apps
    run = scan(security, github, event_sink)
    scope = repo_scope(repositories.get("default", "app"))
    assert runs.get(scope, run["id"]).expiry is None  # running: kept
    for s in items(security, f"{BASE}/app/slices"):
        finish_task(internal, reactor, event_sink, s["taskName"], ANSWER if s["path"] == "api" else "nothing")
    finished = runs.get(scope, run["id"])
    assert finished.doc["phase"] == "succeeded"
    assert abs(finished.expiry - (time.time() + retention.RUN_RETENTION_SECONDS)) < 60  # kept 90 days
    fids = [f["id"] for f in items(security, f"{BASE}/app/findings")]
    patches.create(patch_scope("default", fids[0]), "patch_1", {"id": "patch_1"})
    stores = (runs, slices, dropped, findings)
    assert all(store.list_page(scope, limit=None)[0] for store in stores)

    # a tombstone whose repository is still there (its delete failed) is dropped, nothing swept
    retention.bury(repositories.get("default", "app"))
    assert retention.sweep() == 0 and all(store.list_page(scope, limit=None)[0] for store in stores)
    assert retention.tombstones.list_page("pending", limit=None)[0] == []

    assert security.delete(f"{BASE}/app", headers=AUTH).status_code == 204
    body = {"name": "app", "spec": {"repoURL": "https://github.com/example/app",
                                    "analysisAgentRef": {"name": "security-reviewer"}}}
    assert security.post(BASE, json=body, headers=AUTH).status_code == 201  # a new one, its own scope
    assert retention.sweep(budget=3) == 3  # a tick deletes at most its budget…
    while retention.sweep():  # …and later ticks finish
        pass
    assert not any(store.list_page(scope, limit=None)[0] for store in stores)
    assert [finding_refs.get("default", fid) for fid in fids] == [None] * len(fids)
    assert patches.list_page(patch_scope("default", fids[0]), limit=None)[0] == []
    assert retention.tombstones.list_page("pending", limit=None)[0] == []
    assert repositories.get("default", "app") is not None and items(security, f"{BASE}/app/findings") == []
