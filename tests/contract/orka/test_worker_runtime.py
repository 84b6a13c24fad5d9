"""An `agent` task whose Agent names a runtime: the worker's main() in process against the real worker
API and compat endpoints over HTTP, a scripted ACP agent installed as the runtime's CLI, a real git
server on loopback and the scripted model upstream. The real CLIs run in tests/integration."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import AUTH
from tests.support.acp_agent import install
from tests.support.runtime_harness import runtime_harness


@pytest.fixture
def shoal(function_client, scripted_llm, monkeypatch, tmp_path):
    """A scripted ACP agent installed as Claude's adapter; the harness runs the worker in process."""
    runtimes = tmp_path / "runtimes"
    install(runtimes / "node_modules" / ".bin", "claude-agent-acp")
    with runtime_harness(function_client, scripted_llm, monkeypatch, tmp_path, runtimes) as harness:
        harness.agent("claude", systemPrompt="You are careful.")
        yield harness.tasks, harness.git, scripted_llm, _Run(harness)


class _Run:
    def __init__(self, harness) -> None:
        self.harness = harness
        self.start_worker = harness.start_worker

    def __call__(self, name, spec, env=None):
        return self.harness.run(name, spec, env)


def _changes(tasks, name):
    raw = tasks.get(f"/api/v1/tasks/{name}/artifacts/workspace-changes.json", headers=AUTH).data
    return json.loads(raw)


def test_a_coding_agent_writes_commits_and_pushes_a_branch(shoal):
    tasks, git, llm, run = shoal
    url = git.create_repo("app")
    llm.script = [{"text": "print('hello')"}]
    task = run("impl", {"prompt": "WRITE hello.py", "workspace": {"gitRepo": url}})
    status = task["status"]
    assert status["phase"] == "Succeeded", status
    changes = _changes(tasks, "impl")
    assert changes["runtime"] == "claude" and changes["stopReason"] == "end_turn"
    assert changes["branch"] == "shoal/impl" and changes["files"] == ["hello.py"]
    assert status["message"] == f"claude finished (end_turn); pushed shoal/impl at {changes['commit'][:12]}"
    # The remote has the branch at that commit, with the model's text as the file.
    assert git.ref("app", "refs/heads/shoal/impl") == changes["commit"]
    assert git.read("app", changes["commit"], "hello.py") == "print('hello')\n"
    assert git.ref("app", "refs/heads/main") == changes["base"]
    assert git.git("app", "log", "-1", "--format=%an", changes["commit"]).strip() == "shoal-test-bot"
    result = tasks.get("/api/v1/tasks/impl/result", headers=AUTH).get_json()["result"]
    assert result == (f"Wrote hello.py\n\nPushed branch shoal/impl at {changes['commit']} (1 file(s) changed):\n"
                      "- hello.py")
    # The runtime reached its model through Shoal's proxy: the upstream saw the platform key, never the
    # task token; the agent's instructions led the prompt; the call was counted on the task.
    [request] = llm.requests
    assert request["path"] == "/v1/messages" and request["headers"]["X-Api-Key"] == "sk-ant-upstream"
    assert request["json"]["messages"][0]["content"].startswith("You are careful.\n\nWRITE hello.py")
    assert status["usage"]["llmCalls"] == 1
    plan = tasks.get("/api/v1/tasks/impl/plan", headers=AUTH).get_json()
    assert plan["GoalComplete"] is True and plan["ProgressPct"] == 100
    assert plan["PlanDocument"] == "- [x] Ask the model\n- [x] Write the file"


def test_the_progress_reaches_the_task_stream(shoal):
    from shared.tasks.feed import read_feed
    from shared.tasks.repository import tasks as store

    tasks, git, llm, run = shoal
    run("feed", {"prompt": "NOMODEL WRITE a.txt", "workspace": {"gitRepo": git.create_repo("feed")}})
    events = [item for _, item in read_feed(store.get("default", "feed"))]
    kinds = [e["event"] for e in events]
    assert "tool_call" in kinds and "tool_result" in kinds and "delta" in kinds
    call = next(e["data"] for e in events if e["event"] == "tool_call")
    assert call["name"].startswith("Write ") and call["kind"] == "edit"
    log_lines = [e["data"]["line"] for e in events if e["event"] == "log"]
    assert any(line.startswith("allowed: Write ") for line in log_lines)


def test_no_changes_means_nothing_is_pushed(shoal):
    tasks, git, llm, run = shoal
    url = git.create_repo("quiet")
    git.commit("quiet", {"a.txt": "fixed content\n"})
    task = run("quiet", {"prompt": "NOMODEL WRITE a.txt", "workspace": {"gitRepo": url}})
    assert task["status"]["phase"] == "Succeeded"
    assert task["status"]["message"] == "claude finished (end_turn); no changes"
    assert git.branches("quiet") == ["main"]
    assert tasks.get("/api/v1/tasks/quiet/result", headers=AUTH).get_json()["result"] == (
        "Wrote a.txt\n\nNo changes were pushed.")


def test_a_pull_request_head_is_checked_out(shoal):
    tasks, git, llm, run = shoal
    url = git.create_repo("pr")
    head = git.pr_head("pr", 7, {"feature.txt": "from the PR\n"})
    task = run("prhead", {"prompt": "NOMODEL WRITE more.txt", "workspace": {"gitRepo": url, "ref": "refs/pull/7/head"}})
    assert task["status"]["phase"] == "Succeeded", task["status"]
    changes = _changes(tasks, "prhead")
    assert changes["base"] == head and changes["files"] == ["more.txt"]
    assert git.read("pr", changes["commit"], "feature.txt") == "from the PR\n"


def test_a_private_repository_needs_the_credential(shoal):
    tasks, git, llm, run = shoal
    url = git.create_repo("private", auth=("x-access-token", "s3cret-token"))
    failed = run("nocred", {"prompt": "NOMODEL", "workspace": {"gitRepo": url}})
    assert failed["status"]["phase"] == "Failed"
    assert failed["status"]["message"].startswith("could not clone the workspace: ")
    task = run("cred", {"prompt": "NOMODEL", "workspace": {"gitRepo": url}}, env={"SHOAL_GIT_TOKEN": "s3cret-token"})
    assert task["status"]["phase"] == "Succeeded", task["status"]
    assert git.ref("private", "refs/heads/shoal/cred") == _changes(tasks, "cred")["commit"]
    everything = json.dumps([task, failed, tasks.get("/api/v1/tasks/cred/result", headers=AUTH).get_json()])
    assert "s3cret-token" not in everything


def test_a_rejected_push_fails_the_task_with_the_remotes_message(shoal):
    tasks, git, llm, run = shoal
    url = git.create_repo("guarded")
    git.reject_pushes_to("guarded", "shoal/guard", "protected by policy")
    task = run("guard", {"prompt": "NOMODEL", "workspace": {"gitRepo": url}})
    assert task["status"]["phase"] == "Failed"
    assert task["status"]["message"].startswith("could not push the changes: push rejected: ")
    assert "protected by policy" in task["status"]["message"]


def test_a_missing_cli_fails_the_task_naming_the_runtime_and_the_fix(shoal, function_client):
    tasks, git, llm, run = shoal
    assert function_client("catalog").put("/api/v1/agents/coder", json={"spec": {"runtime": {"type": "codex"}}},
                                          headers=AUTH).status_code == 200
    task = run("nocli", {"prompt": "hi"})
    assert task["status"]["phase"] == "Failed"
    assert task["status"]["message"] == (
        'runtime "codex" is not installed on this worker (codex-acp not found; packages @zed-industries/codex-acp): '
        "run `make runtimes` (or install runtimes/package.json with npm) on the worker")


def test_the_git_secret_reaches_the_local_worker_as_environment_only(fake_kube, aws):
    from shared.catalog.git_credentials import local_env

    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "git-credentials"}, "data": {
        "token": base64.b64encode(b"ghp_fromsecret").decode()}})
    spec = {"type": "agent", "workspace": {"gitRepo": "https://github.com/o/r"}}
    assert local_env("default", spec) == {"SHOAL_GIT_TOKEN": "ghp_fromsecret"}
    assert local_env("default", {**spec, "workspace": {**spec["workspace"], "gitSecretRef": {"name": "absent"}}}) == {}
    assert local_env("default", {"type": "agent"}) == {}


def test_a_label_trigger_ends_with_a_pushed_branch_and_a_pull_request(shoal, function_client, fake_kube,
                                                                     event_sink, monkeypatch):
    """`agent:implement` on an issue (GitHub's own payload, signed): the coding agent's work is pushed with
    the trigger's git Secret and a pull request is opened on (fake) GitHub."""
    from pathlib import Path

    from shared.catalog.git_credentials import local_env
    from shared.config import reset_settings
    from shared.events.envelope import to_http
    from shared.github.signature import sign
    from tests.support.fake_github import FakeGitHub

    tasks, git, llm, run = shoal
    url = git.create_repo("Codertocat/Hello-World", auth=("x-access-token", "ghp_pushtoken"))
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "gh-token"}, "data": {
        "token": base64.b64encode(b"ghp_pushtoken").decode()}})
    with FakeGitHub() as github_api:
        for key, value in {"ORKA_GITHUB_WEBHOOK_SECRET": "hook", "ORKA_GITHUB_LABEL_TRIGGER_AGENT": "coder",
                           "ORKA_GITHUB_LABEL_TRIGGER_GIT_SECRET": "gh-token", "SHOAL_GITHUB_GIT_URL": git.url,
                           "SHOAL_GITHUB_API_URL": github_api.url}.items():
            monkeypatch.setenv(key, value)
        reset_settings()
        fixture = Path(__file__).resolve().parents[2] / "fixtures" / "github" / "issues.labeled.json"
        data = json.loads(fixture.read_text())
        data["label"] = {"name": "agent:implement"}
        data["issue"]["title"] = "NOMODEL WRITE fix.txt"
        data["repository"].update(clone_url=url, html_url=url[:-4], default_branch="main")
        body = json.dumps(data).encode()
        accepted = function_client("webhooks").post("/webhooks/github", data=body, headers={
            "X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-1", "Content-Type": "application/json",
            "X-Hub-Signature-256": sign("hook", body)})
        assert accepted.status_code == 202, accepted.get_json()
        [event] = event_sink.of_type("com.github.issues.labeled")
        headers, payload = to_http(event)
        assert function_client("github").post("/", data=payload, headers=headers).status_code == 200
        name = accepted.get_json()["taskName"]
        spec = tasks.get(f"/api/v1/tasks/{name}", headers=AUTH).get_json()["spec"]
        # What the local executor hands the worker: the Secret's token, for git's credential helper only.
        assert local_env("default", spec) == {"SHOAL_GIT_TOKEN": "ghp_pushtoken"}
        task = run.start_worker(name, local_env("default", spec))
        assert task["status"]["phase"] == "Succeeded", task["status"]["message"]
        changes = _changes(tasks, name)
        assert git.ref("Codertocat/Hello-World", f"refs/heads/shoal/{name}") == changes["commit"]
        [made] = github_api.pulls["Codertocat/Hello-World"]
        assert made["head"]["ref"] == f"shoal/{name}" and made["base"]["ref"] == "main"
        assert made["title"] == "Wrote fix.txt"
        assert changes["pullRequest"] == {"number": made["number"], "url": made["html_url"], "existing": False}
        result = tasks.get(f"/api/v1/tasks/{name}/result", headers=AUTH).get_json()["result"]
        assert result.endswith(f"Pull request: {made['html_url']}")
        creates = [r for r in github_api.requests if r["method"] == "POST"]
        assert [r["authorization"] for r in creates] == ["Bearer ghp_pushtoken"]
