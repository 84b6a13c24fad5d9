"""Coding-agent tasks through `make run`: the API, the dispatcher, the local executor and the worker,
with the real Claude Code (pinned, `make runtimes`) against the scripted upstream, a loopback git
server and the fake Kubernetes API for the git Secret. A private repository is cloned with its
Secret, the PR head checked out, the work pushed; cancelling stops the runtime and what it started."""

from __future__ import annotations

import base64
import subprocess
import time

import httpx
import pytest

from tests.integration.test_local_platform import AUTH, Platform, moto_server, wait_phase  # noqa: F401
from tests.integration.test_real_runtimes import RUNTIMES
from tests.support.fake_kube import FakeKube
from tests.support.git_server import GitServer
from tests.support.llm_wire import ScriptedLLM
from tests.support.runtime_harness import require_runtimes

pytestmark = pytest.mark.integration
TOKEN = "ghp_platformtoken1234"


@pytest.fixture(scope="module")
def world(moto_server, tmp_path_factory):  # noqa: F811
    require_runtimes(RUNTIMES)
    root = tmp_path_factory.mktemp("runtimes-platform")
    with ScriptedLLM() as llm, GitServer(root / "git") as git, FakeKube() as kube:
        kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "repo-creds"}, "data": {
            "token": base64.b64encode(TOKEN.encode()).decode()}})
        platform = Platform(moto_server, extra_env={
            "SHOAL_LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "sk-ant-upstream",
            "SHOAL_LLM_BASE_URL": llm.url, "SHOAL_LLM_MODEL": "claude-upstream",
            "SHOAL_OUTBOUND_ALLOW": "127.0.0.1", "SHOAL_KUBE_API_URL": kube.url, "SHOAL_KUBE_TOKEN": "t",
            "SHOAL_LOCAL_TICK_SECONDS": "1", "HOME": str(root / "home")})
        try:
            with httpx.Client(base_url=platform.url, headers=AUTH, timeout=30) as client:
                assert client.post("/api/v1/agents", json={"name": "claude-coder", "spec": {
                    "runtime": {"type": "claude"}}}).status_code == 201
                yield client, llm, git
        finally:
            platform.stop()


def test_a_private_pull_request_head_is_cloned_edited_and_pushed(world):
    client, llm, git = world
    url = git.create_repo("private-app", auth=("x-access-token", TOKEN))
    head = git.pr_head("private-app", 7, {"feature.txt": "from the PR\n"})
    llm.script = [{"tool_calls": [{"name": "Bash", "arguments": {"command": "cat feature.txt > copy.txt",
                                                                 "description": "Copy"}}]},
                  {"text": "Copied feature.txt"}]
    response = client.post("/api/v1/tasks", json={"name": "pr-work", "type": "agent", "agentRef": "claude-coder",
                                                  "prompt": "Copy feature.txt", "timeout": "5m", "workspace": {
                                                      "gitRepo": url, "ref": "refs/pull/7/head",
                                                      "gitSecretRef": {"name": "repo-creds"}}})
    assert response.status_code == 201, response.json()
    task = wait_phase(client, "pr-work", timeout=120)
    assert task["status"]["phase"] == "Succeeded", task["status"]
    changes = client.get("/api/v1/tasks/pr-work/artifacts/workspace-changes.json").json()
    assert changes["base"] == head and changes["branch"] == "shoal/pr-work" and changes["files"] == ["copy.txt"]
    assert git.read("private-app", changes["commit"], "copy.txt") == "from the PR\n"
    result = client.get("/api/v1/tasks/pr-work/result").json()["result"]
    assert result.startswith("Copied feature.txt") and f"Pushed branch shoal/pr-work at {changes['commit']}" in result
    # The token went to git only: never in the task, its result, its logs or a request path.
    logs = client.get("/api/v1/tasks/pr-work/logs").text
    assert TOKEN not in str(task) + result + logs
    assert all(TOKEN not in r.path + r.query for r in git.requests)


def test_cancelling_stops_the_runtime_and_what_it_started(world):
    client, llm, git = world
    url = git.create_repo("slow-app")
    marker = f"sleep 321.{int(time.time())}"
    llm.script = [{"tool_calls": [{"name": "Bash", "arguments": {"command": marker, "description": "Wait"}}]}]
    assert client.post("/api/v1/tasks", json={"name": "slow", "type": "agent", "agentRef": "claude-coder",
                                              "prompt": "Wait", "workspace": {"gitRepo": url}}).status_code == 201
    deadline = time.monotonic() + 90
    while not _running(marker):
        assert time.monotonic() < deadline, client.get("/api/v1/tasks/slow").json()["status"]
        time.sleep(0.5)
    assert client.post("/api/v1/tasks/slow/cancel").status_code == 200
    deadline = time.monotonic() + 30
    while _running(marker):
        assert time.monotonic() < deadline, "the runtime's command survived the cancel"
        time.sleep(0.5)
    assert client.get("/api/v1/tasks/slow").json()["status"]["phase"] == "Cancelled"
    assert git.branches("slow-app") == ["main"]


def _running(pattern: str) -> bool:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0
