"""Contract: a Task's git URL is checked at create (no credentials, https/ssh/scp-like, no internal
hosts) and no credential-shaped value comes back in a task response (docs/reliability.md)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH

CREDENTIALS = ("invalid spec.workspace.gitRepo: must not contain credentials; put the token in a Secret "
               "and name it in gitSecretRef")


@pytest.fixture
def tasks(function_client):
    return function_client("tasks")


def create(tasks, repo: str, name: str = "t1"):
    body = {"name": name, "type": "ai", "prompt": "fix it", "workspace": {"gitRepo": repo}}
    return tasks.post("/api/v1/tasks", json=body, headers=AUTH)


@pytest.mark.parametrize("repo", ["https://x:TOKEN@github.com/o/r", "https://TOKEN@github.com/o/r"])
def test_credentials_in_the_git_url_are_refused(tasks, repo):
    response = create(tasks, repo)
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": 400, "message": CREDENTIALS}}
    assert tasks.get("/api/v1/tasks/t1", headers=AUTH).status_code == 404  # nothing stored


@pytest.mark.parametrize("repo,reason", [
    ("file:///etc/passwd", 'scheme "file" is not allowed; use https, ssh or git@host:path'),
    ("ext::sh -c id", "must not contain whitespace or control characters"),
    ("/srv/repo", "must be an https, ssh or git@host:path URL"),
    ("https://169.254.169.254/latest/meta-data", "address 169.254.169.254 of host 169.254.169.254 is not allowed"),
    ("git@127.0.0.1:o/r", "address 127.0.0.1 of host 127.0.0.1 is not allowed"),
])
def test_other_schemes_and_internal_hosts_are_refused(tasks, repo, reason):
    response = create(tasks, repo)
    assert response.get_json() == {"error": {"code": 400, "message": f"invalid spec.workspace.gitRepo: {reason}"}}


def test_clean_urls_are_stored_and_an_allowed_internal_host_too(tasks, monkeypatch):
    from shared.config import reset_settings

    assert create(tasks, "git@github.com:o/r.git").status_code == 201
    assert create(tasks, "https://10.0.0.7/o/r", name="t2").status_code == 400
    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "10.0.0.0/8")
    reset_settings()
    assert create(tasks, "https://10.0.0.7/o/r", name="t2").status_code == 201


def test_a_labrats_job_keeps_its_token_for_the_clone_but_task_responses_never_show_it(function_client, tasks):
    """labrats-ai-agents-api.txt lets workspaceSetup.gitRepo carry a token; the Task made from the job
    keeps it for the worker, and the Orka task API masks it (and any other credential-shaped value)."""
    from shared.tasks.repository import tasks as task_store

    jobs = function_client("jobs")
    url = "https://x-access-token:ghs_" + "s" * 36 + "@github.com/org/app.git"
    job = jobs.post("/api/jobs/submit", json={"source": "manual", "type": "implement-issue",
                                              "prompt": "use Bearer abcdefghijklmnop", "workspaceSetup": {"gitRepo": url}},
                    headers=AUTH)
    assert job.status_code == 201
    job_id = job.get_json()["jobId"]
    assert task_store.get("default", job_id).doc["spec"]["workspace"]["gitRepo"] == url  # for the clone
    for response in (tasks.get(f"/api/v1/tasks/{job_id}", headers=AUTH), tasks.get("/api/v1/tasks", headers=AUTH)):
        text = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "ghs_" + "s" * 36 not in text and "abcdefghijklmnop" not in text and "x-access-token:" not in text
    view = tasks.get(f"/api/v1/tasks/{job_id}", headers=AUTH).get_json()
    assert view["spec"]["workspace"]["gitRepo"] == "https://***@github.com/org/app.git"
    assert json.loads(json.dumps(view))  # still a plain document


def test_a_labrats_job_url_still_obeys_every_other_rule(function_client):
    jobs = function_client("jobs")
    response = jobs.post("/api/jobs/submit", json={"source": "manual", "type": "implement-issue", "prompt": "x",
                                                  "workspaceSetup": {"gitRepo": "file:///etc/passwd"}}, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": 'invalid workspaceSetup.gitRepo: scheme "file" is not allowed; use https, ssh or git@host:path'}
