"""Jobs of the labrats dialect: submit, list, detail, logs, retry, cancel (exact bodies)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH


@pytest.fixture
def jobs(function_client):
    return function_client("jobs")


def submit(jobs, **body):
    payload = {"source": "manual", "type": "implement-issue", "prompt": "do it", **body}
    return jobs.post("/api/jobs/submit", json=payload, headers=AUTH)


def task_doc(job_id):
    from shared.tasks.repository import tasks

    return tasks.get("default", job_id)


def test_every_jobs_route_needs_credentials(jobs):
    for method, path in [("POST", "/api/jobs/submit"), ("GET", "/api/jobs"), ("GET", "/api/jobs/ir-00000000"),
                         ("GET", "/api/jobs/ir-00000000/logs"), ("POST", "/api/jobs/ir-00000000/retry"),
                         ("POST", "/api/jobs/ir-00000000/cancel")]:
        response = jobs.open(path, method=method)
        assert response.status_code == 401, path
        assert response.get_json() == {"error": "missing authorization header"}
    response = jobs.get("/api/jobs", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.get_json() == {"error": "invalid API key"}


def test_submit_creates_a_task_with_defaults(jobs, event_sink):
    response = submit(jobs, metadata={"repo": "org/app"}, workspaceSetup={"gitRepo": "https://github.com/org/app"})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"jobId", "source", "type"}
    assert body["source"] == "manual" and body["type"] == "implement-issue"
    assert body["jobId"].startswith("ir-") and len(body["jobId"]) == 11
    int(body["jobId"][3:], 16)
    record = task_doc(body["jobId"])
    assert record.doc["spec"]["type"] == "ai" and record.doc["spec"]["prompt"] == "do it"
    assert record.doc["spec"]["timeout"] == "3300000ms" and record.doc["spec"]["maxTurns"] == 25
    job = json.loads(record.doc["metadata"]["annotations"]["labrats.work/job"])
    assert job["priority"] == 2 and job["config"] == {"timeoutMs": 3300000, "maxTurns": 25}
    assert [e.type for e in event_sink.events] == ["dev.shoal.task.created"]


@pytest.mark.parametrize("body,message", [
    ({"type": "x", "prompt": "p"}, "source is required"),
    ({"source": "s", "prompt": "p"}, "type is required"),
    ({"source": "s", "type": "code-review"}, "prompt is required"),
    ({"source": "s", "type": "x", "prompt": "p", "priority": "high"}, "priority must be a number"),
    ({"source": "s", "type": "x", "prompt": "p", "config": {"timeoutMs": -1}}, "config.timeoutMs must be a positive number"),
    ({"source": "s", "type": "x", "prompt": "p", "config": {"maxTurns": 2.5}}, "config.maxTurns must be an integer"),
    ({"source": "s", "type": "x", "prompt": "p", "config": {"effort": "max"}}, "config.effort must be one of low, medium, high"),
    ({"source": "s", "type": "x", "prompt": "p", "config": {"provider": "gpt"}},
     "config.provider must be one of claude, codex, vllm, gemma, qwen, mock"),
    ({"source": "s", "type": "x", "prompt": "p", "pipeline": {"type": "ocr"}}, "pipeline.type must be pdf-sections"),
    ({"source": "s", "type": "x", "prompt": "p", "metadata": []}, "metadata must be an object"),
    # issue 21: a field the labrats table does not list is refused, naming it (metadata is free-form)
    ({"source": "s", "type": "x", "promtp": "p", "prompt": "p"}, "promtp: unknown field"),
    ({"source": "s", "type": "x", "prompt": "p", "workspaceSetup": {"gitRepo": "https://github.com/a/b.git"},
      "workspaceFiles": [{"name": "a", "data": "", "mode": "0644"}]}, "workspaceFiles[0].mode: unknown field"),
    ({"source": "s", "type": "x", "prompt": "p", "workspaceFiles": [{"name": "a", "data": "!!"}]},
     "workspaceFiles[0].data must be base64"),
    ({"source": "s", "type": "x", "prompt": "p", "workspaceFiles": [{"name": "../a", "data": ""}]},
     "workspaceFiles[0].name must be a relative path inside the workspace"),
    ({"source": "s", "type": "x", "prompt": "p", "workspaceUploads": [{"id": 1}]}, "workspaceUploads[0] must be {id, name}"),
    ({"source": "s", "type": "x", "prompt": "p", "callbackUrl": "http://127.0.0.1/cb"},
     "invalid callbackUrl: address 127.0.0.1 of host 127.0.0.1 is not allowed"),
    ({"source": "s", "type": "x", "prompt": "p", "callbackUrl": "http://169.254.169.254/latest"},
     "invalid callbackUrl: address 169.254.169.254 of host 169.254.169.254 is not allowed"),
    ({"source": "s", "type": "x", "prompt": "p", "callbackUrl": "http://10.1.2.3/"},
     "invalid callbackUrl: address 10.1.2.3 of host 10.1.2.3 is not allowed"),
    ({"source": "s", "type": "x", "prompt": "p", "callbackUrl": "file:///etc/passwd"},
     "invalid callbackUrl: URL scheme 'file' is not allowed"),
    ({"source": "s", "type": "x", "prompt": "p", "callbackUrl": "http://metadata.google.internal/"},
     "invalid callbackUrl: host metadata.google.internal is not allowed"),
])
def test_bad_submissions_are_400_and_store_nothing(jobs, event_sink, body, message):
    response = jobs.post("/api/jobs/submit", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == {"error": message}
    assert event_sink.events == []
    assert jobs.get("/api/jobs", headers=AUTH).get_json()["jobs"] == []


def test_not_json_is_400(jobs):
    response = jobs.post("/api/jobs/submit", data="{", headers=AUTH)
    assert response.status_code == 400 and response.get_json() == {"error": "invalid request body"}


def test_error_reporting_needs_no_prompt(jobs):
    response = jobs.post("/api/jobs/submit", headers=AUTH, json={
        "source": "github-actions", "type": "error-reporting", "errors": [{"message": "boom"}], "priority": 1,
        "config": {"model": "opus", "effort": "high", "provider": "mock", "fast": False, "timeoutMs": 1000,
                   "maxTurns": 3}})
    assert response.status_code == 201
    record = task_doc(response.get_json()["jobId"])
    assert "boom" in record.doc["spec"]["prompt"]
    assert record.doc["spec"]["priority"] == 999 and record.doc["spec"]["timeout"] == "1000ms"


def test_list_detail_and_redaction(jobs):
    ids = [submit(jobs, metadata={"repo": f"org/r{i}"}).get_json()["jobId"] for i in range(3)]
    token_job = submit(jobs, workspaceSetup={"gitRepo": "https://x-access-token:ghs_secret@github.com/org/app.git",
                                             "gitRef": "main"}, prompt="clone https://user:pw@git.example.com/r").get_json()["jobId"]
    listing = jobs.get("/api/jobs?page=1&limit=2", headers=AUTH).get_json()
    assert listing["total"] == 4 and listing["page"] == 1 and listing["limit"] == 2
    assert [j["id"] for j in listing["jobs"]] == [token_job, ids[2]]  # newest first
    second = jobs.get("/api/jobs?page=2&limit=2", headers=AUTH).get_json()
    assert [j["id"] for j in second["jobs"]] == [ids[1], ids[0]]
    assert jobs.get("/api/jobs?limit=500", headers=AUTH).get_json()["limit"] == 100
    assert jobs.get("/api/jobs?limit=0", headers=AUTH).get_json()["limit"] == 1
    assert jobs.get("/api/jobs?limit=x", headers=AUTH).get_json() == {"error": "limit must be an integer"}
    item = second["jobs"][0]
    assert item["status"] == "waiting" and item["name"] == "implement-issue" and item["repo"] == "org/r1"
    assert set(item) >= {"id", "name", "source", "agentRole", "repo", "status", "attempts", "createdAt",
                         "processedAt", "finishedAt", "failedReason", "chainId", "chainDepth", "parentJobId",
                         "chainPath", "result"}
    detail = jobs.get(f"/api/jobs/{token_job}", headers=AUTH)
    text = detail.get_data(as_text=True)
    assert "ghs_secret" not in text and "user:pw" not in text
    body = detail.get_json()
    assert body["workspaceSetup"]["gitRepo"] == "https://***@github.com/org/app.git"
    assert body["phase"] == "Pending" and body["returnvalue"] is None and body["logs"] == []
    assert body["promptRef"]["name"] == token_job
    assert "ghs_secret" not in jobs.get("/api/jobs", headers=AUTH).get_data(as_text=True)
    missing = jobs.get("/api/jobs/ir-deadbeef", headers=AUTH)
    assert missing.status_code == 404 and missing.get_json() == {"error": "Job not found"}


def finish(job_id, phase, message="done", result=None):
    from shared.store.blobs import put_blob
    from shared.tasks.lifecycle import transition
    from shared.tasks.repository import result_key, tasks

    transition("default", job_id, "Running")
    if result is not None:
        put_blob(result_key("default", job_id), result.encode())
        tasks.update("default", job_id, lambda d: d["status"].update(
            resultRef={"available": True, "size": len(result)}, logs=["step 1", "step 2"]))
    return transition("default", job_id, phase, message=message)


def test_logs_stream_ends_with_done(jobs):
    job_id = submit(jobs).get_json()["jobId"]
    finish(job_id, "Succeeded", result="all good")
    response = jobs.get(f"/api/jobs/{job_id}/logs", headers={**AUTH, "Accept": "text/event-stream"})
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    frames = [json.loads(line[6:]) for line in response.get_data(as_text=True).splitlines() if line.startswith("data: ")]
    assert frames == [{"log": "step 1"}, {"log": "step 2"}, {"done": True, "status": "completed"}]
    detail = jobs.get(f"/api/jobs/{job_id}", headers=AUTH).get_json()
    assert detail["status"] == "completed" and detail["returnvalue"] == "all good" and detail["result"] == "all good"
    assert detail["processedAt"] and detail["finishedAt"] and detail["attempts"] == 1


def test_logs_stream_the_executors_live_output_when_there_is_some(jobs, monkeypatch):
    from shared.config import reset_settings
    from shared.executor.local_files import log_path
    from shared.tasks.lifecycle import transition
    from shared.tasks.repository import tasks

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    reset_settings()
    job_id = submit(jobs).get_json()["jobId"]
    transition("default", job_id, "Running")
    tasks.update("default", job_id, lambda d: d["status"].update(jobName=f"{job_id}-1", logs=["from status"]))
    log_file = log_path("default", job_id, f"{job_id}-1")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text("cloning\nrunning tests\n")
    try:
        transition("default", job_id, "Succeeded", message="done")
        response = jobs.get(f"/api/jobs/{job_id}/logs", headers={**AUTH, "Accept": "text/event-stream"})
        frames = [json.loads(line[6:]) for line in response.get_data(as_text=True).splitlines()
                  if line.startswith("data: ")]
        assert frames == [{"log": "cloning"}, {"log": "running tests"}, {"done": True, "status": "completed"}]
    finally:
        log_file.unlink()


def test_cancel_pending_and_refuse_finished(jobs, event_sink):
    job_id = submit(jobs).get_json()["jobId"]
    response = jobs.post(f"/api/jobs/{job_id}/cancel", headers=AUTH)
    assert response.status_code == 200 and response.get_json() == {"jobId": job_id, "status": "cancelled"}
    assert task_doc(job_id).doc["status"]["phase"] == "Cancelled"
    assert event_sink.of_type("dev.shoal.task.finished")[-1].data["phase"] == "Cancelled"
    again = jobs.post(f"/api/jobs/{job_id}/cancel", headers=AUTH)
    assert again.status_code == 400 and again.get_json() == {"error": "Job cannot be cancelled: it is cancelled"}


def test_cancel_running(jobs):
    from shared.tasks.lifecycle import transition

    job_id = submit(jobs).get_json()["jobId"]
    transition("default", job_id, "Running")
    assert jobs.post(f"/api/jobs/{job_id}/cancel", headers=AUTH).status_code == 200
    assert jobs.get(f"/api/jobs/{job_id}", headers=AUTH).get_json()["status"] == "cancelled"


def test_retry_only_failed(jobs, event_sink):
    job_id = submit(jobs).get_json()["jobId"]
    refused = jobs.post(f"/api/jobs/{job_id}/retry", headers=AUTH)
    assert refused.status_code == 400 and refused.get_json() == {"error": "Only failed jobs can be retried (job is waiting)"}
    finish(job_id, "Failed", message="boom")
    assert jobs.get(f"/api/jobs/{job_id}", headers=AUTH).get_json()["failedReason"] == "boom"
    response = jobs.post(f"/api/jobs/{job_id}/retry", headers=AUTH)
    assert response.status_code == 200 and response.get_json() == {"jobId": job_id, "status": "waiting"}
    assert task_doc(job_id).doc["status"]["phase"] == "Pending"
    assert len(event_sink.of_type("dev.shoal.task.created")) == 2


def test_retry_refused_for_an_old_job_with_an_embedded_token(jobs):
    from shared.tasks.repository import tasks

    job_id = submit(jobs, workspaceSetup={"gitRepo": "https://x-access-token:t@github.com/o/r.git"}).get_json()["jobId"]
    finish(job_id, "Failed")
    tasks.update("default", job_id, lambda d: d["metadata"].update(creationTimestamp="2020-01-01T00:00:00Z"))
    response = jobs.post(f"/api/jobs/{job_id}/retry", headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == {"error": "Job carries an embedded git token and is older than 10 minutes; "
                                            "submit a new job"}
    assert task_doc(job_id).doc["status"]["phase"] == "Failed"


def test_submit_api_keys_from_the_environment(jobs, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SUBMIT_API_KEYS", "k-one, k-two")
    reset_settings()
    response = jobs.post("/api/jobs/submit", headers={"Authorization": "Bearer k-two"},
                         json={"source": "github", "type": "code-review", "prompt": "p"})
    assert response.status_code == 201
    assert jobs.get("/api/jobs", headers={"Authorization": "Bearer k-three"}).status_code == 401


def test_workspace_setup_becomes_the_tasks_git_workspace(jobs):
    from shared.executor.kubernetes import build_job
    from shared.tasks.repository import tasks

    response = submit(jobs, workspaceSetup={"gitRepo": "https://github.com/o/r.git", "gitRef": "dev", "gitDepth": 5})
    assert response.status_code == 201
    record = tasks.get("default", response.get_json()["jobId"])
    assert record.doc["spec"]["workspace"] == {"gitRepo": "https://github.com/o/r.git", "branch": "dev", "depth": 5}
    # The worker clones it itself (shared.worker.runtime_task.clone_workspace) into the Job's emptyDir.
    pod = build_job(record, 1)["spec"]["template"]["spec"]
    assert "initContainers" not in pod and pod["volumes"] == [{"name": "workspace", "emptyDir": {}}]
    [container] = pod["containers"]
    assert container["workingDir"] == "/workspace"
    assert {"name": "SHOAL_WORKSPACE", "value": "/workspace"} in container["env"]


# -- what a job runs with: its config over the global defaults (AiConfig) -----------------------------
def test_global_defaults_fill_what_a_job_leaves_unset(jobs, event_sink, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDERS", '{"codex": {"type": "mock"}}')
    monkeypatch.setenv("SHOAL_JOBS_EXECUTOR_IMAGES", "ghcr.io/x/executor:*")  # the policy admits the default
    reset_settings()
    assert jobs.put("/api/config/defaults", headers=AUTH, json={
        "model": "sonnet", "effort": "medium", "executorImage": "ghcr.io/x/executor:1",
        "providers": {"codex": {"model": "o3", "effort": "high"}}}).status_code == 200
    plain = task_doc(submit(jobs).get_json()["jobId"])
    job = json.loads(plain.doc["metadata"]["annotations"]["labrats.work/job"])
    assert job["config"] == {"model": "sonnet", "effort": "medium", "executorImage": "ghcr.io/x/executor:1",
                             "timeoutMs": 3300000, "maxTurns": 25}
    # The worker runs the alias's model; the Kubernetes executor runs the default image.
    assert plain.doc["spec"]["ai"] == {"model": "claude-sonnet-4-5", "effort": "medium"}
    assert plain.doc["spec"]["executorImage"] == "ghcr.io/x/executor:1"
    codex = task_doc(submit(jobs, config={"provider": "codex"}).get_json()["jobId"])
    assert json.loads(codex.doc["metadata"]["annotations"]["labrats.work/job"])["config"]["model"] == "o3"
    assert codex.doc["spec"]["ai"] == {"provider": "codex", "model": "o3", "effort": "high"}
    explicit = task_doc(submit(jobs, config={"provider": "codex", "model": "mine"}).get_json()["jobId"])
    assert explicit.doc["spec"]["ai"] == {"provider": "codex", "model": "mine", "effort": "high"}


def test_a_job_provider_that_names_a_configured_provider_selects_it(jobs, event_sink, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDERS", '{"claude": {"type": "mock"}}')
    reset_settings()
    record = task_doc(submit(jobs, config={"provider": "claude", "model": "opus"}).get_json()["jobId"])
    assert record.doc["spec"]["ai"] == {"model": "claude-opus-4-1", "provider": "claude"}
    # Neither a provider called codex nor one of its kind (openai): refused, never silently the default.
    unknown = submit(jobs, config={"provider": "codex", "model": "o3"})
    assert (unknown.status_code, unknown.get_json()) == (400, {
        "error": "config.provider codex needs a configured openai provider (SHOAL_LLM_PROVIDER or "
                 "SHOAL_LLM_PROVIDERS); none is"})


def test_a_job_provider_runs_on_the_configured_provider_of_its_kind(jobs, event_sink, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDERS", '{"team-anthropic": {"type": "anthropic", "apiKeyEnv": "K"}}')
    monkeypatch.setenv("SHOAL_JOBS_MODEL_ALIASES", '{"opus": "claude-opus-4-5"}')
    reset_settings()
    record = task_doc(submit(jobs, config={"provider": "claude", "model": "opus"}).get_json()["jobId"])
    assert record.doc["spec"]["ai"] == {"provider": "team-anthropic", "model": "claude-opus-4-5"}
    haiku = task_doc(submit(jobs, config={"provider": "claude", "model": "haiku"}).get_json()["jobId"])
    assert haiku.doc["spec"]["ai"]["model"] == "claude-haiku-4-5"  # the built-in table


@pytest.mark.parametrize("config,message", [
    ({"fast": True}, "config.fast is not supported: Shoal's worker calls the provider's API, which has no "
                     "Claude Code fast mode"),
    ({"reactEnabled": False}, "config.reactEnabled=false is not supported: Shoal's worker always runs the "
                              "tool-calling loop"),
])
def test_config_a_worker_cannot_honour_is_refused_naming_the_field(jobs, event_sink, config, message):
    response = submit(jobs, config=config)
    assert (response.status_code, response.get_json()) == (400, {"error": message})
    assert event_sink.events == []


def test_global_executor_resources_become_the_tasks_container_resources(jobs, event_sink):
    resources = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    assert jobs.put("/api/config/defaults", headers=AUTH, json={"executorResources": resources}).status_code == 200
    record = task_doc(submit(jobs).get_json()["jobId"])
    assert record.doc["spec"]["resources"] == resources  # the Kubernetes executor puts these on the Job
    assert record.doc["spec"]["type"] == "ai" and record.doc["spec"]["maxTurns"] == 25


def test_without_any_model_the_task_keeps_the_platform_default(jobs, event_sink):
    record = task_doc(submit(jobs).get_json()["jobId"])
    assert "ai" not in record.doc["spec"] and "resources" not in record.doc["spec"]
