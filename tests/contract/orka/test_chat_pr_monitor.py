"""Contract: the chat management tool create_pr_monitor (orka-api.txt, create_pr_monitor), over the
scripted LLM wire server, with Agents in the store and Secrets in the fake Kubernetes API."""

from __future__ import annotations

import base64

import pytest

from tests.support.chat import post_json, serve

REPO = "https://github.com/example/app"
GOOD = {"name": "prs", "repo_url": REPO, "schedule": "*/30 * * * *", "agent_ref": "pr-bot"}
REPO_URL_ERROR = ("repo_url must be a credential-free GitHub repository root URL such as https://github.com/owner/repo, "
                  "https://github.com/owner/repo.git or git@github.com:owner/repo.git")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def chat(function_client, fake_kube, scripted_llm, monkeypatch):
    from shared.config import reset_settings
    from shared.store import ObjectStore

    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    monkeypatch.setenv("SHOAL_LLM_BASE_URL", scripted_llm.url + "/v1")
    reset_settings()
    agents = ObjectStore("agent")
    ai = {"provider": "openai", "model": "gpt-4o"}
    agents.create("default", "pr-bot", {"spec": {**ai, "coordination": {"enabled": True, "autonomous": False}}})
    agents.create("default", "solo", {"spec": ai})
    agents.create("default", "auto", {"spec": {**ai, "coordination": {"enabled": True, "autonomous": True}}})
    agents.create("default", "coder", {"spec": {"runtime": {"type": "claude"},
                                                "coordination": {"enabled": True}}})
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "empty-git"},
                                                     "data": {"token": b64("  "), "user": b64("me")}})
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "my-git"},
                                                     "data": {"GITHUB_TOKEN": b64("ghp_named")}})
    with serve(function_client) as server:
        yield server, scripted_llm, fake_kube


def turn(server, llm, calls: list[dict], message: str = "monitor the pull requests of example/app") -> dict:
    llm.script = [{"tool_calls": [{"name": "create_pr_monitor", "arguments": a} for a in calls]}, {"text": "done"}]
    response = post_json(server.url, {"message": message})
    assert response.status_code == 200, response.text
    return response.json()


def _tasks():
    from shared.tasks.repository import tasks

    return tasks.list_page("default", limit=None)[0]


def invalid(error: str, suggestion: str | None = None) -> dict:
    from shared.chat.toolkit import SUGGESTIONS

    return {"success": False, "error": error, "errorType": "invalid_arguments",
            "suggestion": suggestion if suggestion is not None else SUGGESTIONS["invalid_arguments"]}


def test_each_refusal_is_a_structured_error_and_creates_nothing(chat):
    server, llm, _ = chat
    cases = [
        ({k: v for k, v in GOOD.items() if k != "agent_ref"}, invalid("agent_ref is required")),
        ({**GOOD, "name": "Bad_Name"}, invalid('invalid name "Bad_Name": must be a lowercase RFC 1123 label')),
        ({**GOOD, "repo_url": REPO + "/pull/1"},
         invalid(REPO_URL_ERROR, "Use the repository root URL, e.g. https://github.com/owner/repo")),
        ({**GOOD, "repo_url": "https://x-access-token:ghp_1@github.com/example/app"},
         invalid(REPO_URL_ERROR, "Use the repository root URL, e.g. https://github.com/owner/repo")),
        ({**GOOD, "repo_url": "http://github.com/example/app"},
         invalid(REPO_URL_ERROR, "Use the repository root URL, e.g. https://github.com/owner/repo")),
        ({**GOOD, "schedule": "every hour"},
         invalid("invalid schedule 'every hour': must be a 5-field cron expression",
                 'Use a cron expression such as "*/30 * * * *"')),
        ({**GOOD, "review_event": "MERGE"}, invalid("review_event must be one of COMMENT, APPROVE, REQUEST_CHANGES")),
        ({**GOOD, "per_page": 0}, invalid("per_page must be between 1 and 100")),
        ({**GOOD, "agent_ref": "ghost"},
         {"success": False, "error": "Agent 'ghost' not found in namespace 'default'", "errorType": "not_found",
          "suggestion": "Use list_agents to see available agents"}),
        ({**GOOD, "agent_ref": "coder"}, invalid("Agent 'coder' must be an AI Agent, not a claude runtime agent",
                                                 "Use an AI Agent (provider and model, no runtime)")),
        ({**GOOD, "agent_ref": "solo"}, invalid(
            "Agent 'solo' must have coordination enabled",
            "Use update_agent to set coordination.enabled: true, or choose another agent")),
        ({**GOOD, "agent_ref": "auto"}, invalid(
            "Agent 'auto' must have autonomous coordination disabled",
            "Use update_agent to set coordination.autonomous: false, or choose another agent")),
        ({**GOOD, "gitSecretRef": "missing"},
         {"success": False, "error": 'git secret "missing" not found in namespace "default"', "errorType": "not_found",
          "suggestion": "Create the Secret, or name an existing one in gitSecretRef"}),
        ({**GOOD, "gitSecretRef": "empty-git"}, invalid(
            'git secret "empty-git" must contain a non-empty token, password, or GITHUB_TOKEN key',
            "Put the GitHub token under the token key of that Secret")),
        (GOOD, {"success": False, "errorType": "not_found",
                "error": 'no Git credential Secret found in namespace "default": set gitSecretRef or create one of '
                         "git-credentials, github-credentials, copilot-token, github-token, git-token",
                "suggestion": "Create a Secret with a GitHub token under the token key, then try again"}),
        ({**GOOD, "namespace": "kube-system"},
         {"success": False, "error": 'namespace "kube-system" is not allowed', "errorType": "permission_denied",
          "suggestion": 'Use the chat namespace "default"'}),
    ]
    body = turn(server, llm, [args for args, _ in cases])
    results = [call["result"] for call in body["toolCalls"]]
    for (args, expected), result in zip(cases, results, strict=True):
        assert result == expected, args
    assert _tasks() == []


def test_creates_a_scheduled_ai_task_with_the_pr_review_loop_tools(chat):
    server, llm, fake_kube = chat
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "github-token"},
                                                     "data": {"token": b64("ghp_default")}})
    body = turn(server, llm, [{**GOOD, "review_event": "request_changes", "per_page": 5, "provider_ref": "openai",
                               "prompt": "Focus on security."},
                              {**GOOD, "name": "named", "repo_url": "git@github.com:example/app.git",
                               "gitSecretRef": "my-git"}])
    assert "create_pr_monitor" in [t["function"]["name"] for t in llm.requests[0]["json"]["tools"]]
    first, second = (call["result"] for call in body["toolCalls"])
    assert first["success"] is True and second["success"] is True, (first, second)
    session = body["sessionId"]
    tools = ["list_pull_requests", "check_pr_review_marker", "check_pull_request_ci", "review_pull_request",
             "post_review_comment"]
    assert first["data"] == {"name": first["data"]["name"], "namespace": "default", "type": "ai", "phase": "Scheduled",
                             "schedule": "*/30 * * * *", "repoURL": REPO, "agentRef": "pr-bot",
                             "gitSecretRef": "github-token", "tools": tools}
    from shared.tasks.repository import tasks

    task = tasks.get("default", first["data"]["name"]).doc
    spec = task["spec"]
    assert task["metadata"]["labels"] == {"orka.ai/created-by": "orchestrator", "orka.ai/chat-session": session}
    assert spec["type"] == "ai" and spec["schedule"] == "*/30 * * * *" and spec["agentRef"] == {"name": "pr-bot"}
    assert spec["workspace"] == {"gitRepo": REPO, "gitSecretRef": {"name": "github-token"}}
    assert spec["tools"] == tools and spec["ai"] == {"providerRef": {"name": "openai"}}
    for tool in tools:
        assert tool in spec["prompt"]
    assert spec["prompt"].count(f'repo_url="{REPO}"') >= 5
    assert "per_page=5" in spec["prompt"] and "event REQUEST_CHANGES" in spec["prompt"]
    assert spec["prompt"].endswith("Additional instructions:\nFocus on security.")
    assert "ghp_" not in str(task) and "ghp_" not in str(body)
    named = tasks.get("default", second["data"]["name"]).doc["spec"]
    assert named["workspace"] == {"gitRepo": "git@github.com:example/app.git", "gitSecretRef": {"name": "my-git"}}
    assert "ai" not in named and "event COMMENT" in named["prompt"]


def test_without_a_monitor_phrase_the_tool_is_not_loaded(chat):
    server, llm, _ = chat
    body = turn(server, llm, [GOOD], message="list my tasks")
    assert body["toolCalls"][0]["result"]["errorType"] == "unknown_tool"
    assert _tasks() == []


def test_the_monitor_loop_runs_without_a_marker_secret(chat, function_client, monkeypatch):
    """ORKA_PR_REVIEW_MARKER_SECRET is optional: the created task's loop (list → check marker → review
    with the marker → the next run's check) works without it, the marker being recognised by its author,
    the token's own GitHub account (Orka's fallback)."""
    from shared.config import reset_settings
    from tests.conftest import AUTH
    from tests.support.fake_github import FakeGitHub, pull

    server, llm, fake_kube = chat
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "github-token"},
                                                     "data": {"token": b64("ghp_default")}})
    first = turn(server, llm, [GOOD])["toolCalls"][0]["result"]
    assert first["success"] is True, first
    name = first["data"]["name"]
    internal = function_client("internal")
    sha = "c" * 40
    with FakeGitHub() as gh:
        monkeypatch.delenv("ORKA_PR_REVIEW_MARKER_SECRET", raising=False)
        monkeypatch.delenv("ORKA_PR_REVIEW_MARKER_TRUSTED_AUTHOR", raising=False)
        monkeypatch.setenv("SHOAL_GITHUB_API_URL", gh.url)
        monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1")
        reset_settings()
        gh.pulls["example/app"] = [pull(4, sha, title="Add cache")]
        gh.diffs[("example/app", 4)] = "diff --git a/c b/c\n+cache\n"

        def call(tool: str, **arguments) -> dict:
            response = internal.post(f"/internal/v1/worker-tools/default/{tool}/call", headers=AUTH,
                                     json={"taskName": name, "arguments": {"repo_url": REPO, **arguments}})
            assert response.status_code == 200, response.get_json()
            result = response.get_json()["result"]
            assert result["success"] is True, result
            return result["data"]

        assert [p["number"] for p in call("list_pull_requests")] == [4]
        check = call("check_pr_review_marker", pr_number=4)
        assert check["found"] is False and check["message"] == "no review marker found for this PR head SHA"
        assert check["marker"].startswith(f"<!-- orka:pr-review repo=example/app pr=4 head_sha={sha} sig=")
        assert call("review_pull_request", pr_number=4)["diff"].startswith("diff --git")
        call("post_review_comment", pr_number=4, event="COMMENT", body="Fine.\n\n" + check["marker"])
        # the next scheduled run skips this head
        again = call("check_pr_review_marker", pr_number=4)
        assert again["found"] is True and again["reviewed"] is True and again["marker"] == check["marker"]
        assert all(r["authorization"] == "Bearer ghp_default" for r in gh.requests)
        # a marker copied by someone else is not proof
        gh.reviews[("example/app", 4)][0]["user"]["login"] = "mallory"
        assert call("check_pr_review_marker", pr_number=4)["found"] is False
