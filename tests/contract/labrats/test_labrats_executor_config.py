"""labrats `config.effort` and `config.executorImage` applied (issue 20): the image the Kubernetes executor
runs (behind SHOAL_JOBS_EXECUTOR_IMAGES), the effort a coding-agent runtime gets, and the notes a job
records for what its deployment cannot apply."""

from __future__ import annotations

import json

import pytest

from shared.jobs.effective import EFFORT_LOOP_NOTE
from tests.conftest import AUTH

JOBS = "/apis/batch/v1/namespaces/default/jobs"
IMAGE = "registry.example.com/shoal-worker:1.2-tools"
NO_OVERRIDE = "is not allowed: SHOAL_JOBS_EXECUTOR_IMAGES allows no executor image override"


@pytest.fixture
def kube_apps(function_client, fake_kube, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_EXECUTOR", "kubernetes")
    monkeypatch.setenv("SHOAL_JOBS_EXECUTOR_IMAGES", "registry.example.com/shoal-worker:*, ghcr.io/acme/exact:1")
    reset_settings()
    return function_client("jobs"), function_client("dispatcher"), function_client("tasks")


def submit(jobs, **config):
    return jobs.post("/api/jobs/submit", headers=AUTH, json={"source": "manual", "type": "implement-issue",
                                                            "prompt": "do it", "config": config})


def dispatch(dispatcher, event_sink, name):
    from shared.events.envelope import to_http

    [created] = [e for e in event_sink.of_type("dev.shoal.task.created") if e.data["name"] == name]
    headers, body = to_http(created)
    assert dispatcher.post("/", data=body, headers=headers).status_code == 200


def sent_jobs(fake_kube):
    return [r["body"] for r in fake_kube.requests if r["method"] == "POST" and r["path"] == JOBS]


def task(job_id):
    from shared.tasks.repository import tasks

    return tasks.get("default", job_id).doc


# -- executorImage ---------------------------------------------------------------------------------------
def test_an_allowed_executor_image_is_the_image_of_the_jobs_worker(kube_apps, fake_kube, event_sink):
    jobs, dispatcher, _ = kube_apps
    response = submit(jobs, executorImage=IMAGE)
    assert response.status_code == 201
    job_id = response.get_json()["jobId"]
    assert task(job_id)["spec"]["executorImage"] == IMAGE
    dispatch(dispatcher, event_sink, job_id)
    [job] = sent_jobs(fake_kube)
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert (container["name"], container["image"]) == ("worker", IMAGE)
    assert container["command"] == ["python", "/app/functions/worker/main.py"]  # still Shoal's worker
    assert jobs.get(f"/api/jobs/{job_id}", headers=AUTH).get_json()["notes"] == []


def test_a_job_without_an_override_runs_the_worker_image(kube_apps, fake_kube, event_sink):
    jobs, dispatcher, _ = kube_apps
    job_id = submit(jobs).get_json()["jobId"]
    dispatch(dispatcher, event_sink, job_id)
    [job] = sent_jobs(fake_kube)
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/shoal-dev/shoal:0.1.0"


@pytest.mark.parametrize("image,message", [
    ("ghcr.io/labrats-work/apps.ai-agents/executor:latest",
     "config.executorImage ghcr.io/labrats-work/apps.ai-agents/executor:latest is not allowed: it is not on "
     "SHOAL_JOBS_EXECUTOR_IMAGES"),
    ("ghcr.io/acme/exact:2", "config.executorImage ghcr.io/acme/exact:2 is not allowed: it is not on "
                             "SHOAL_JOBS_EXECUTOR_IMAGES"),
    ("registry.example.com/shoal-worker:1 && sh", "config.executorImage 'registry.example.com/shoal-worker:1 && sh' "
                                                  "is not an image reference"),
])
def test_an_image_off_the_allow_list_is_a_400_and_stores_nothing(kube_apps, fake_kube, image, message):
    jobs, _, _ = kube_apps
    response = submit(jobs, executorImage=image)
    assert (response.status_code, response.get_json()) == (400, {"error": message})
    assert jobs.get("/api/jobs", headers=AUTH).get_json()["jobs"] == []


def test_without_an_allow_list_no_override_is_accepted_anywhere(function_client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_EXECUTOR", "kubernetes")
    monkeypatch.delenv("SHOAL_JOBS_EXECUTOR_IMAGES", raising=False)
    reset_settings()
    jobs = function_client("jobs")
    response = submit(jobs, executorImage="ghcr.io/acme/exact:1")
    assert (response.status_code, response.get_json()) == (
        400, {"error": f"config.executorImage ghcr.io/acme/exact:1 {NO_OVERRIDE}"})
    defaults = jobs.put("/api/config/defaults", headers=AUTH, json={"executorImage": "ghcr.io/acme/exact:1"})
    assert (defaults.status_code, defaults.get_json()) == (
        400, {"error": f"executorImage ghcr.io/acme/exact:1 {NO_OVERRIDE}"})
    source = jobs.post("/api/webhook-sources", headers=AUTH, json={
        "name": "gh", "type": "github", "secret": "s3cret-value", "defaults": {"executorImage": "ghcr.io/acme/exact:1"}})
    assert (source.status_code, source.get_json()) == (
        400, {"error": f"defaults.executorImage ghcr.io/acme/exact:1 {NO_OVERRIDE}"})


def test_a_default_image_the_policy_no_longer_allows_is_named_as_the_defaults(kube_apps, monkeypatch):
    from shared.config import reset_settings

    jobs, _, _ = kube_apps
    assert jobs.put("/api/config/defaults", headers=AUTH, json={"executorImage": IMAGE}).status_code == 200
    monkeypatch.setenv("SHOAL_JOBS_EXECUTOR_IMAGES", "ghcr.io/acme/exact:1")
    reset_settings()
    response = submit(jobs)
    assert (response.status_code, response.get_json()) == (400, {"error": (
        f"config.executorImage {IMAGE} is not allowed: it is not on SHOAL_JOBS_EXECUTOR_IMAGES "
        "(from /api/config/defaults)")})


def test_the_executor_refuses_an_image_off_the_list_whoever_wrote_the_task(kube_apps, fake_kube, event_sink):
    _, dispatcher, tasks = kube_apps
    body = {"name": "sneaky", "spec": {"type": "ai", "prompt": "p", "executorImage": "docker.io/evil/miner:latest"}}
    assert tasks.post("/api/v1/tasks", json=body, headers=AUTH).status_code == 201
    dispatch(dispatcher, event_sink, "sneaky")
    status = tasks.get("/api/v1/tasks/sneaky", headers=AUTH).get_json()["status"]
    assert status["phase"] == "Failed"
    assert status["message"] == ("executorImage docker.io/evil/miner:latest is not allowed: it is not on "
                                 "SHOAL_JOBS_EXECUTOR_IMAGES")
    assert sent_jobs(fake_kube) == []


def test_the_local_executor_records_that_the_image_is_not_applied(function_client, monkeypatch, tmp_path):
    from shared.config import reset_settings
    from shared.executor.local import LocalExecutor
    from shared.executor.local_files import log_path
    from shared.tasks.repository import tasks

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    monkeypatch.setenv("SHOAL_STATE_DIR", str(tmp_path))
    reset_settings()
    jobs = function_client("jobs")
    job_id = submit(jobs, executorImage="ghcr.io/labrats-work/apps.ai-agents/executor:latest").get_json()["jobId"]
    note = ("config.executorImage is not applied: the local executor runs the worker as a process on this host, "
            "not in an image")
    assert jobs.get(f"/api/jobs/{job_id}", headers=AUTH).get_json()["notes"] == [note]
    assert "executorImage" not in task(job_id)["spec"]
    # A task that carries one anyway (written through the tasks API) gets the line in its log.
    executor = LocalExecutor()
    record = tasks.get("default", job_id)
    record.doc["spec"]["executorImage"] = "ghcr.io/x/y:1"
    monkeypatch.setattr(executor, "_fork_server", lambda env: _NoForks())
    executor.start(record, lambda *args: None)
    assert log_path("default", job_id, f"{job_id}-1").read_text() == (
        "[executor] executorImage ghcr.io/x/y:1 is not applied: the local executor runs the worker as a process "
        "on this host, not in an image\n")


class _NoForks:
    """Stands in for the workers' fork server (this test reads only what the executor wrote before it)."""

    def ask(self, *args, **kwargs) -> _NoProcess:
        return _NoProcess()


class _NoProcess:
    pid = 0  # no process's

    def wait(self) -> int:
        return 0

    def poll(self) -> int:
        return 0


# -- effort ----------------------------------------------------------------------------------------------
def test_effort_on_the_tool_loop_is_carried_and_noted(function_client):
    jobs = function_client("jobs")
    job_id = submit(jobs, effort="high").get_json()["jobId"]
    assert task(job_id)["spec"]["ai"] == {"effort": "high"}
    assert task(job_id)["spec"]["type"] == "ai"
    assert jobs.get(f"/api/jobs/{job_id}", headers=AUTH).get_json()["notes"] == [EFFORT_LOOP_NOTE]


def test_a_job_of_an_agent_with_a_runtime_runs_that_runtime_with_its_effort(function_client):
    catalog = function_client("catalog")
    assert catalog.post("/api/v1/agents", headers=AUTH, json={"name": "coder", "spec": {
        "triggerName": "ai-developer", "runtime": {"type": "codex"}}}).status_code == 201
    jobs = function_client("jobs")
    response = jobs.post("/api/jobs/submit", headers=AUTH, json={
        "source": "manual", "type": "implement-issue", "prompt": "do it", "agentRole": "ai-developer",
        "config": {"effort": "low", "model": "gpt-5.5"}})
    assert response.status_code == 201
    spec = task(response.get_json()["jobId"])["spec"]
    assert (spec["type"], spec["agentRef"], spec["ai"]) == ("agent", {"name": "coder"},
                                                            {"effort": "low", "model": "gpt-5.5"})
    assert jobs.get(f"/api/jobs/{response.get_json()['jobId']}", headers=AUTH).get_json()["notes"] == []
    # An agentRole whose agent has no runtime stays on the tool loop.
    plain = jobs.post("/api/jobs/submit", headers=AUTH, json={
        "source": "manual", "type": "t", "prompt": "p", "agentRole": "nobody"}).get_json()["jobId"]
    assert task(plain)["spec"]["type"] == "ai" and "agentRef" not in task(plain)["spec"]


def test_the_job_annotation_keeps_the_notes(function_client):
    jobs = function_client("jobs")
    job_id = submit(jobs, effort="medium").get_json()["jobId"]
    doc = json.loads(task(job_id)["metadata"]["annotations"]["labrats.work/job"])
    assert doc["notes"] == [EFFORT_LOOP_NOTE]


def test_the_worker_job_gets_the_configured_providers_settings_and_key_references(kube_apps, fake_kube,
                                                                                   event_sink, monkeypatch):
    """A job's worker builds its provider itself: a gemini default and a vertex-anthropic named provider need
    their keys (as Secret references, never values) and settings in the Job."""
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "gemini")
    monkeypatch.setenv("SHOAL_LLM_PROVIDERS", '{"claude": {"type": "vertex-anthropic", "model": "claude-x@1", '
                                              '"apiKeyEnv": "CLAUDE_VERTEX_TOKEN"}}')
    monkeypatch.setenv("SHOAL_VERTEX_PROJECT", "acme-ml")
    monkeypatch.setenv("GEMINI_API_KEY", "never-in-the-job")
    reset_settings()
    jobs, dispatcher, _ = kube_apps
    job_id = submit(jobs).get_json()["jobId"]
    dispatch(dispatcher, event_sink, job_id)
    [job] = sent_jobs(fake_kube)
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    values = {e["name"]: e["value"] for e in env if "value" in e}
    refs = [e["name"] for e in env if "valueFrom" in e]
    assert values["SHOAL_LLM_PROVIDER"] == "gemini"
    assert (values["SHOAL_VERTEX_PROJECT"], values["SHOAL_VERTEX_REGION"]) == ("acme-ml", "us-east5")
    assert refs == ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "SHOAL_VERTEX_ACCESS_TOKEN",
                    "CLAUDE_VERTEX_TOKEN"]
    assert all(e["valueFrom"]["secretKeyRef"] == {"name": "shoal-llm", "key": e["name"], "optional": True}
               for e in env if "valueFrom" in e)
    assert "never-in-the-job" not in json.dumps(job)
