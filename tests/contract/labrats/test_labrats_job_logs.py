"""`GET /api/jobs/:id/logs` shows what the job printed for a person (issue 20): the runtime's or the tool
loop's lines, never the worker's structured JSON records, from the local log file or the executor pod."""

from __future__ import annotations

import json

import pytest

from shared.executor.local_files import log_path
from tests.conftest import AUTH

RECORD = json.dumps({"ts": 1796600000.123, "level": "info", "logger": "shoal.worker", "msg": "task done",
                     "task": "x", "input_tokens": 11})
FAILURE = json.dumps({"ts": 1796600001.5, "level": "error", "logger": "shoal.worker.runtime",
                      "msg": "runtime task failed", "traceback": "Traceback (most recent call last):\n  ..."})
OUTPUT = "\n".join([
    "[git] cloning https://github.com/org/app at main",
    RECORD,
    "[runtime] claude: claude-agent-acp",
    "I'll fix the failing test first.",
    '[tool_call] Write /workspace/app.py (completed)',
    FAILURE,
    '{"answer": 42}',  # JSON the agent itself printed is its output, not a worker record
    "[done] completed in 2 LLM call(s) with mock/m",
]) + "\n"
EXPECTED = (
    'data: {"log":"[git] cloning https://github.com/org/app at main"}\n\n'
    'data: {"log":"[runtime] claude: claude-agent-acp"}\n\n'
    'data: {"log":"I\'ll fix the failing test first."}\n\n'
    'data: {"log":"[tool_call] Write /workspace/app.py (completed)"}\n\n'
    'data: {"log":"{\\"answer\\": 42}"}\n\n'
    'data: {"log":"[done] completed in 2 LLM call(s) with mock/m"}\n\n'
    'data: {"done":true,"status":"completed"}\n\n')


def submit(jobs) -> str:
    response = jobs.post("/api/jobs/submit", headers=AUTH, json={"source": "manual", "type": "t", "prompt": "p"})
    assert response.status_code == 201
    return response.get_json()["jobId"]


def run_and_finish(job_id: str, **status) -> None:
    from shared.tasks.lifecycle import transition
    from shared.tasks.repository import tasks

    transition("default", job_id, "Running")
    tasks.update("default", job_id, lambda d: d["status"].update(jobName=f"{job_id}-1", **status))
    transition("default", job_id, "Succeeded", message="done")


def test_local_logs_are_the_printed_lines_without_worker_records(function_client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    reset_settings()
    jobs = function_client("jobs")
    job_id = submit(jobs)
    run_and_finish(job_id, logs=["from status"])
    log_file = log_path("default", job_id, f"{job_id}-1")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text(OUTPUT)
    try:
        response = jobs.get(f"/api/jobs/{job_id}/logs", headers={**AUTH, "Accept": "text/event-stream"})
        assert response.status_code == 200 and response.mimetype == "text/event-stream"
        assert response.get_data(as_text=True) == EXPECTED
    finally:
        log_file.unlink()


def test_pod_logs_are_the_printed_lines_without_worker_records(function_client, fake_kube, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_EXECUTOR", "kubernetes")
    reset_settings()
    jobs = function_client("jobs")
    job_id = submit(jobs)
    pod = f"{job_id}-1-abcde"
    fake_kube.add("/api/v1", "pods", "default", {"metadata": {"name": pod, "labels": {"job-name": f"{job_id}-1"}}})
    fake_kube.pod_logs[("default", pod)] = OUTPUT
    run_and_finish(job_id, podName=pod)
    response = jobs.get(f"/api/jobs/{job_id}/logs", headers={**AUTH, "Accept": "text/event-stream"})
    assert response.get_data(as_text=True) == EXPECTED


@pytest.mark.parametrize("output", ["", RECORD + "\n" + FAILURE + "\n"])
def test_output_of_only_worker_records_falls_back_to_the_status_logs(function_client, monkeypatch, output):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    reset_settings()
    jobs = function_client("jobs")
    job_id = submit(jobs)
    run_and_finish(job_id, logs=["step 1"])
    log_file = log_path("default", job_id, f"{job_id}-1")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text(output)
    try:
        response = jobs.get(f"/api/jobs/{job_id}/logs", headers=AUTH)
        assert response.get_data(as_text=True) == ('data: {"log":"step 1"}\n\n'
                                                   'data: {"done":true,"status":"completed"}\n\n')
    finally:
        log_file.unlink()
