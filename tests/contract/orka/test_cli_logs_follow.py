"""`shoal tasks logs -f` right after `shoal tasks create`: the task is still Pending, and the logs route
answers 404 "task is pending, no logs available yet" (as Orka's) until it has a job. The CLI waits for
the job instead of failing, so `create … && logs -f` works. The CLI runs in-process (Click's runner)
against every function's real routes on a loopback port (moto in-process); the test plays the worker."""

from __future__ import annotations

import types

import httpx
import pytest
from click.testing import CliRunner

import shared.apiclient as apiclient
from shoal_cli.app import cli
from tests.conftest import AUTH, DEV_TOKEN
from tests.support.gateway import gateway_app
from tests.support.servers import BackgroundServer


@pytest.fixture
def api(aws, event_sink):
    with BackgroundServer(gateway_app(exclude=("console",))) as server:
        yield server.url


def shoal(url: str, tmp_path, *args: str):
    return CliRunner().invoke(cli, ["--server", url, "--token", DEV_TOKEN, *args],
                              env={"XDG_CONFIG_HOME": str(tmp_path), "NO_COLOR": None}, catch_exceptions=False)


def test_logs_follow_waits_for_a_pending_task_to_start(api, tmp_path, monkeypatch):
    from shared.tasks.lifecycle import transition

    created = shoal(api, tmp_path, "tasks", "create", "follow-me", "-p", "work")
    assert (created.exit_code, created.stdout) == (0, "task/follow-me created\n"), created.stderr
    pending = httpx.get(f"{api}/api/v1/tasks/follow-me/logs", headers=AUTH)
    assert (pending.status_code, pending.json()) == (
        404, {"error": {"code": 404, "message": "task is pending, no logs available yet"}})

    waits = []

    def worker_starts(seconds: float) -> None:
        """The CLI's first wait: the worker picks the task up, saves its result and finishes."""
        waits.append(seconds)
        if len(waits) == 1:
            transition("default", "follow-me", "Running")
            saved = httpx.post(f"{api}/internal/v1/results/default/follow-me", content=b"work done",
                               headers={**AUTH, "Content-Type": "application/octet-stream"})
            assert saved.status_code == 204, saved.text
            transition("default", "follow-me", "Succeeded", message="done")

    monkeypatch.setattr(apiclient, "time", types.SimpleNamespace(sleep=worker_starts, monotonic=lambda: 0.0))
    followed = shoal(api, tmp_path, "tasks", "logs", "follow-me", "-f")
    assert (followed.exit_code, followed.stdout, followed.stderr) == (
        0, "work done\n", "task/follow-me: Pending, waiting for its job\n")
    assert waits == [0.5]


def test_logs_follow_of_an_unknown_task_fails_at_once(api, tmp_path):
    followed = shoal(api, tmp_path, "tasks", "logs", "nope", "-f")
    assert (followed.exit_code, followed.stdout, followed.stderr) == (1, "", "error: task not found (HTTP 404)\n")


@pytest.mark.parametrize("follow", [(), ("-f",)])
def test_logs_of_a_task_that_ended_before_any_job_say_why(api, tmp_path, follow):
    """The route answers 404 "task is pending, no logs available yet" for any task without a job, as
    Orka's does; the CLI called a task that Failed at dispatch (an unknown agent) pending."""
    from shared.tasks.repository import tasks as store

    assert shoal(api, tmp_path, "tasks", "create", "gone", "-p", "work").exit_code == 0
    store.update("default", "gone", lambda doc: doc["status"].update(phase="Failed",
                                                                       message='agent "reviewer" not found'))
    pending = httpx.get(f"{api}/api/v1/tasks/gone/logs", headers=AUTH)
    assert (pending.status_code, pending.json()["error"]["message"]) == (404, "task is pending, no logs available yet")
    shown = shoal(api, tmp_path, "tasks", "logs", "gone", *follow)
    assert (shown.exit_code, shown.stdout, shown.stderr) == (
        1, "", 'error: task/gone Failed before a job started, so it has no logs: agent "reviewer" not found\n')
