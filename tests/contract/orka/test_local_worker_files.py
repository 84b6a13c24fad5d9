"""The local executor's files on a real worker: its log under SHOAL_STATE_DIR until the task is deleted,
its labrats workspace removed when it exits, whatever the outcome."""

from __future__ import annotations

import base64
import tempfile
import threading
from pathlib import Path

import pytest

from shared.events.envelope import build
from tests.conftest import AUTH
from tests.contract.orka.test_dispatch import created_event, internal_server, post_event, wait_for_phase  # noqa: F401


@pytest.fixture
def local_worker(function_client, internal_server, event_sink, monkeypatch, tmp_path):  # noqa: F811
    """The local executor with its own state directory; `.exited` is set once a watcher handled a worker's exit."""
    from shared.config import reset_settings
    from shared.executor.local import LocalExecutor

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    monkeypatch.setenv("SHOAL_STATE_DIR", str(tmp_path / "state"))
    reset_settings()
    exited, watch = threading.Event(), LocalExecutor._watch

    def watched(self, *args, **kwargs):
        try:
            watch(self, *args, **kwargs)
        finally:
            exited.set()

    monkeypatch.setattr(LocalExecutor, "_watch", watched)
    return exited


def workspaces(name: str) -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob(f"shoal-{name}-*"))


def test_a_workers_log_lives_in_the_state_dir_until_its_task_is_deleted(function_client, local_worker, event_sink,
                                                                       tmp_path):
    from shared.executor.factory import job_output
    from shared.tasks.repository import tasks as store

    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    assert tasks.post("/api/v1/tasks", json={"name": "kept", "type": "ai", "prompt": "say hi"},
                      headers=AUTH).status_code == 201
    assert post_event(dispatcher, created_event("kept")).status_code == 200
    assert wait_for_phase(tasks, "kept", {"Succeeded", "Failed"})["phase"] == "Succeeded"
    assert local_worker.wait(30)
    directory = tmp_path / "state" / "workers" / "default" / "kept"
    assert sorted(p.name for p in directory.iterdir()) == ["kept-1.log"]  # its run file went with the worker
    output = job_output(store.get("default", "kept"))  # what `shoal tasks logs` reads for a finished task
    assert output and output == "\n".join((directory / "kept-1.log").read_text().splitlines()[-100:])

    assert tasks.delete("/api/v1/tasks/kept", headers=AUTH).status_code == 204
    [deleted] = event_sink.of_type("dev.shoal.task.deleted")
    assert post_event(dispatcher, deleted).status_code == 200
    assert not directory.exists() and not directory.parent.exists()


def test_a_deleted_tasks_files_stay_when_a_task_of_its_name_exists_again(function_client, local_worker, tmp_path):
    from shared.executor.local_files import log_path

    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    assert tasks.post("/api/v1/tasks", json={"name": "again", "type": "ai", "prompt": "p"},
                      headers=AUTH).status_code == 201
    log = log_path("default", "again", "again-1")  # the new task's, as its worker would have written it
    log.parent.mkdir(parents=True)
    log.write_text("the new task's output\n")
    late = build("dev.shoal.task.deleted", {"namespace": "default", "name": "again", "type": "ai"},
                 subject="default/again", source="/shoal/tasks")  # the earlier task's, delivered late
    assert post_event(dispatcher, late).status_code == 200
    assert log.read_text() == "the new task's output\n"


@pytest.mark.parametrize("outcome", ["completed", "failed"])
def test_a_labrats_jobs_workspace_is_removed_when_its_worker_exits(function_client, local_worker, monkeypatch,
                                                                   tmp_path, outcome):
    from shared.config import reset_settings

    if outcome == "failed":  # a model whose script cannot be read: the worker fails the task
        script = tmp_path / "broken.json"
        script.write_text("not json")
        monkeypatch.setenv("SHOAL_MOCK_SCRIPT", str(script))
        reset_settings()
    jobs, tasks, dispatcher = function_client("jobs"), function_client("tasks"), function_client("dispatcher")
    response = jobs.post("/api/jobs/submit", headers=AUTH, json={
        "source": "manual", "type": "implement-issue", "prompt": "use the file",
        "workspaceFiles": [{"name": "notes.md", "data": base64.b64encode(b"# notes\n").decode()}]})
    assert response.status_code == 201
    job_id = response.get_json()["jobId"]
    assert post_event(dispatcher, created_event(job_id)).status_code == 200
    phase = wait_for_phase(tasks, job_id, {"Succeeded", "Failed"})["phase"]
    assert phase == ("Succeeded" if outcome == "completed" else "Failed")
    assert local_worker.wait(30)
    assert workspaces(job_id) == []
    assert sorted(p.name for p in (tmp_path / "state" / "workers" / "default" / job_id).iterdir()) == [
        f"{job_id}-1.log"]
