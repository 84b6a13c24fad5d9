"""The worker's main() in process against the real worker API and compat endpoints over HTTP, a git
server on loopback and the scripted model upstream: how tests run a coding-agent task without the
dispatcher. `runtime_harness(...)` is a context manager; the fixtures of the runtime tests use it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import AUTH, DEV_TOKEN
from tests.support.git_server import GitServer

AGENT = "coder"


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Harness:
    tasks: Any  # the tasks function's test client
    catalog: Any
    git: GitServer
    llm: Any  # ScriptedLLM
    monkeypatch: Any

    def agent(self, runtime: str, **spec: Any) -> None:
        body = {"name": AGENT, "spec": {"runtime": {"type": runtime}, **spec}}
        if self.catalog.get(f"/api/v1/agents/{AGENT}", headers=AUTH).status_code == 200:
            assert self.catalog.put(f"/api/v1/agents/{AGENT}", json=body, headers=AUTH).status_code == 200
        else:
            assert self.catalog.post("/api/v1/agents", json=body, headers=AUTH).status_code == 201

    def run(self, name: str, spec: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.tasks.post("/api/v1/tasks", json={"name": name, "type": "agent", "agentRef": AGENT, **spec},
                                   headers=AUTH)
        assert response.status_code == 201, response.get_json()
        return self.start_worker(name, env)

    def start_worker(self, name: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        """What the dispatcher and executor do: resolve the agent for the attempt, start the worker."""
        from shared.tasks.dispatch import _save_resolution
        from shared.tasks.lifecycle import transition
        from shared.worker.run import main

        _save_resolution(transition("default", name, "Running"))
        for key, value in {"SHOAL_TASK_NAMESPACE": "default", "SHOAL_TASK_NAME": name, "SHOAL_TASK_ATTEMPT": "1",
                           **(env or {})}.items():
            self.monkeypatch.setenv(key, value)
        main()
        return self.task(name)

    def task(self, name: str) -> dict[str, Any]:
        return self.tasks.get(f"/api/v1/tasks/{name}", headers=AUTH).get_json()

    def changes(self, name: str) -> dict[str, Any]:
        return json.loads(self.tasks.get(f"/api/v1/tasks/{name}/artifacts/workspace-changes.json", headers=AUTH).data)

    def result(self, name: str) -> str:
        return self.tasks.get(f"/api/v1/tasks/{name}/result", headers=AUTH).get_json()["result"]


@contextlib.contextmanager
def runtime_harness(function_client, llm, monkeypatch, tmp_path: Path, runtimes: Path,
                    env: dict[str, str] | None = None) -> Iterator[Harness]:
    from shared.config import reset_settings

    internal = _serve(function_client("internal").application)
    compat = _serve(function_client("compat").application)
    git = GitServer(tmp_path / "git").__enter__()
    for key, value in {"SHOAL_INTERNAL_URL": f"http://127.0.0.1:{internal.server_port}",
                       "SHOAL_COMPAT_URL": f"http://127.0.0.1:{compat.server_port}",
                       "SHOAL_WORKER_TOKEN": DEV_TOKEN, "SHOAL_RUNTIMES_DIR": str(runtimes),
                       "SHOAL_OUTBOUND_ALLOW": "127.0.0.1", "SHOAL_LLM_PROVIDER": "anthropic",
                       "ANTHROPIC_API_KEY": "sk-ant-upstream", "SHOAL_LLM_BASE_URL": llm.url,
                       "SHOAL_LLM_MODEL": "claude-upstream", "SHOAL_GIT_AUTHOR_NAME": "shoal-test-bot",
                       **(env or {})}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SHOAL_WORKSPACE", raising=False)
    reset_settings()
    try:
        yield Harness(function_client("tasks"), function_client("catalog"), git, llm, monkeypatch)
    finally:
        git.__exit__(None, None, None)
        internal.shutdown()
        compat.shutdown()


def require_runtimes(runtimes: Path) -> None:
    """The real CLIs: skip without them (saying how to get them), but never under CI, which installs them."""
    missing = [] if shutil.which("node") and (runtimes / "node_modules").is_dir() else ["the coding-agent CLIs"]
    if not missing:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but the coding-agent CLIs are not installed: .ci/run must run `make runtimes`")
    pytest.skip("needs node and the pinned coding-agent CLIs: run `make runtimes` to enable these tests")
