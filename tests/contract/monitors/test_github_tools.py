"""The GitHub worker tools against a fake GitHub API, with the fail-closed repo_url scope check."""

from __future__ import annotations

import pytest

from shared.github.repo_url import parse_repo_url
from shared.github.tools import TaskContext, github_tools, task_context
from tests.support.fake_github import FakeGitHub, pull

SHA = "e" * 40
TASK = {"spec": {"workspace": {"gitRepo": "https://github.com/example/app.git"}}}


@pytest.fixture
def gh(monkeypatch):
    from shared.config import reset_settings

    with FakeGitHub() as server:
        monkeypatch.setenv("SHOAL_GITHUB_API_URL", server.url)
        monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1")
        monkeypatch.setenv("ORKA_PR_REVIEW_MARKER_SECRET", "marker-key")
        reset_settings()
        server.pulls["example/app"] = [pull(5, SHA, title="Fix")]
        server.diffs[("example/app", 5)] = "diff --git a/x b/x\n+fix\n"
        server.issues["example/app"] = [{"number": 9, "title": "Bug", "body": "b", "state": "open",
                                         "html_url": "u", "labels": [], "assignees": []},
                                        {"number": 10, "title": "PR", "pull_request": {}, "assignees": []}]
        yield server


class Tokens:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return "ghp_tool"


def tools(context, token=None):
    return {t.spec.name: t for t in github_tools(context, token or Tokens())}


def test_task_context_from_workspace_or_transaction():
    assert task_context(TASK).repository.full_name == "example/app"
    tx = {"spec": {"transaction": {"context": {"repository": "https://github.com/acme/api"}}}}
    assert task_context(tx).repository.full_name == "acme/api"
    assert task_context({"spec": {}}) == TaskContext(None)
    assert task_context(None) is None


def test_review_loop_round_trip(gh):
    t = tools(task_context(TASK))
    listed = t["list_pull_requests"].run({})
    assert listed == {"success": True, "data": [{"number": 5, "title": "Fix", "headSHA": SHA, "draft": False,
                                                 "url": "https://github.com/example/app/pull/5"}]}
    check = t["check_pr_review_marker"].run({"pr_number": 5})["data"]
    assert check["reviewed"] is False and check["head_sha"] == SHA
    diff = t["review_pull_request"].run({"pr_number": 5})["data"]
    assert diff["diff"].startswith("diff --git") and diff["headSHA"] == SHA
    posted = t["post_review_comment"].run({"pr_number": 5, "event": "COMMENT",
                                           "body": "Looks fine.\n\n" + check["marker"]})
    assert posted["success"] and gh.requests[-1]["method"] == "POST"
    assert gh.requests[-1]["authorization"] == "Bearer ghp_tool"
    assert t["check_pr_review_marker"].run({"pr_number": 5})["data"]["reviewed"] is True


def test_issue_tools(gh):
    t = tools(task_context(TASK))
    assert [i["number"] for i in t["list_issues"].run({})["data"]] == [9]
    assert t["get_issue"].run({"issue_number": 9})["data"]["title"] == "Bug"
    made = t["comment_on_issue"].run({"issue_number": 9, "body": "On it."})
    assert made["success"] and gh.comments[("example/app", 9)][0]["body"] == "On it."


@pytest.mark.parametrize("repo_url", ["https://github.com/evil/app", "https://github.com/example/app/pull/5",
                                      "https://token@github.com/example/app", "http://github.com/example/app"])
def test_scope_check_fails_closed_before_credentials_or_github(gh, repo_url):
    token = Tokens()
    t = tools(task_context(TASK), token)
    for name, args in (("list_pull_requests", {}), ("post_review_comment", {"pr_number": 5, "event": "COMMENT",
                                                                             "body": "x"}),
                       ("comment_on_issue", {"issue_number": 9, "body": "x"}),
                       ("create_pull_request", {"head_branch": "x", "base_branch": "main", "title": "t"}),
                       ("merge_pull_request", {"pr_number": 5}), ("auto_merge_pull_request", {"pr_number": 5})):
        result = t[name].run({**args, "repo_url": repo_url})
        assert result["success"] is False and result["errorType"] in ("permission_denied", "invalid_arguments")
    assert token.calls == 0 and gh.requests == []


def test_task_without_a_repository_fails_closed(gh):
    t = tools(TaskContext(None))
    result = t["list_pull_requests"].run({"repo_url": "https://github.com/example/app"})
    assert result["success"] is False and result["errorType"] == "permission_denied" and gh.requests == []


def test_same_repository_in_another_spelling_is_in_scope(gh):
    t = tools(task_context(TASK))
    assert t["list_pull_requests"].run({"repo_url": "git@github.com:Example/App.git"})["success"]


def test_without_task_context_repo_url_is_required(gh):
    t = tools(None)
    assert t["get_issue"].run({"issue_number": 9})["errorType"] == "invalid_arguments"
    assert t["get_issue"].run({"issue_number": 9, "repo_url": "https://github.com/example/app"})["success"]


def test_bad_arguments(gh):
    t = tools(task_context(TASK))
    assert t["post_review_comment"].run({"pr_number": 5, "event": "MERGE", "body": "x"})["errorType"] == \
        "invalid_arguments"
    assert t["review_pull_request"].run({"pr_number": "5"})["errorType"] == "invalid_arguments"
    assert parse_repo_url("https://github.com/example/app").full_name == "example/app"


# -- pull request lifecycle: create, CI, merge, auto-merge ---------------------------------------------------
def ci(*checks, statuses=()):
    return {"check_runs": [{"name": n, "status": s, "conclusion": c} for n, s, c in checks],
            "statuses": [{"context": n, "state": s} for n, s in statuses]}


GREEN = ci(("test", "completed", "success"), ("lint", "completed", "skipped"), statuses=[("deploy/preview", "success")])
RUNNING = ci(("test", "in_progress", None), ("lint", "completed", "success"))
RED = ci(("test", "completed", "failure"), ("lint", "completed", "success"), statuses=[("cla", "error")])


def test_create_pull_request_and_a_retry_finds_the_same_one(gh):
    t = tools(task_context(TASK))
    args = {"task_name": "t", "head_branch": "fix/x", "base_branch": "main", "title": "Fix x", "body": "Why"}
    made = t["create_pull_request"].run(args)
    assert made == {"success": True, "data": {"number": 6, "url": "https://github.com/example/app/pull/6",
                                              "state": "open", "existing": False}}
    assert gh.requests[-1]["body"] == {"title": "Fix x", "head": "fix/x", "base": "main", "body": "Why"}
    again = t["create_pull_request"].run(args)
    assert again["data"] == {**made["data"], "existing": True}
    refused = t["create_pull_request"].run({**args, "head_branch": "main"})
    assert refused["success"] is False and refused["errorType"] == "github_rejected"
    missing = t["create_pull_request"].run({"task_name": "t", "head_branch": "fix/x", "base_branch": "main"})
    assert missing["success"] is False and missing["error"] == "title is required"


def test_check_ci_folds_check_runs_and_statuses(gh):
    t = tools(task_context(TASK))
    gh.ci[("example/app", SHA)] = [GREEN]
    assert t["check_pull_request_ci"].run({"pr_number": 5})["data"] == {
        "pr_number": 5, "head_sha": SHA, "state": "success", "passed": ["test", "lint", "deploy/preview"],
        "pending": [], "failed": []}
    gh.ci[("example/app", SHA)] = [RED]
    red = t["check_pull_request_ci"].run({"pr_number": 5})["data"]
    assert red["state"] == "failure" and red["failed"] == ["test", "cla"]
    gh.ci[("example/app", SHA)] = []
    assert t["check_pull_request_ci"].run({"pr_number": 5})["data"]["state"] == "none"
    assert t["check_pull_request_ci"].run({"pr_number": 5, "wait_timeout": "soon"})["errorType"] == "invalid_arguments"


def test_check_ci_waits_for_running_checks_when_asked(gh, monkeypatch):
    from shared.github import tools as module

    monkeypatch.setattr(module, "CI_POLL_SECONDS", 0.01)
    t = tools(task_context(TASK))
    gh.ci[("example/app", SHA)] = [RUNNING, RUNNING, GREEN]
    assert t["check_pull_request_ci"].run({"pr_number": 5})["data"]["state"] == "pending"  # no wait asked
    assert t["check_pull_request_ci"].run({"pr_number": 5, "wait_timeout": "30s"})["data"]["state"] == "success"


def test_merge_pull_request(gh):
    t = tools(task_context(TASK))
    bad = t["merge_pull_request"].run({"task_name": "t", "pr_number": 5, "merge_method": "octopus"})
    assert bad["errorType"] == "invalid_arguments" and gh.requests == []
    gh.unmergeable.add(("example/app", 5))
    refused = t["merge_pull_request"].run({"task_name": "t", "pr_number": 5})
    assert refused["success"] is False and refused["errorType"] == "not_mergeable"
    gh.unmergeable.clear()
    merged = t["merge_pull_request"].run({"task_name": "t", "pr_number": 5, "merge_method": "squash",
                                          "commit_title": "Fix (#5)"})
    assert merged == {"success": True, "data": {"pr_number": 5, "merged": True, "sha": "m" * 40}}
    put = next(r for r in reversed(gh.requests) if r["method"] == "PUT")
    assert put["body"] == {"merge_method": "squash", "commit_title": "Fix (#5)"}
    assert put["authorization"] == "Bearer ghp_tool"
    # a retried call (its first answer lost) finds the pull request merged: success, not a failure
    assert t["merge_pull_request"].run({"task_name": "t", "pr_number": 5}) == merged


def test_auto_merge_waits_for_green_ci_then_merges_that_head(gh, monkeypatch):
    from shared.github import tools as module

    monkeypatch.setattr(module, "CI_POLL_SECONDS", 0.01)
    t = tools(task_context(TASK))
    gh.ci[("example/app", SHA)] = [RUNNING, GREEN]
    merged = t["auto_merge_pull_request"].run({"task_name": "t", "pr_number": 5, "timeout": "1m"})
    assert merged["success"] and merged["data"]["merged"] is True and merged["data"]["ci"]["state"] == "success"
    put = next(r for r in reversed(gh.requests) if r["method"] == "PUT")
    assert put["body"] == {"merge_method": "merge", "sha": SHA}  # GitHub refuses it if the head moved


def test_auto_merge_refuses_red_ci_and_stops_waiting_at_its_timeout(gh, monkeypatch):
    from shared.github import tools as module

    monkeypatch.setattr(module, "CI_POLL_SECONDS", 0.01)
    t = tools(task_context(TASK))
    gh.ci[("example/app", SHA)] = [RED]
    red = t["auto_merge_pull_request"].run({"task_name": "t", "pr_number": 5})
    assert red["success"] is False and red["errorType"] == "ci_failed"
    assert red["error"] == "CI failed on pull request #5: test, cla"
    gh.ci[("example/app", SHA)] = [RUNNING]
    slow = t["auto_merge_pull_request"].run({"task_name": "t", "pr_number": 5, "timeout": "0s"})
    assert slow["success"] is False and slow["errorType"] == "timeout"
    assert not any(r["method"] == "PUT" for r in gh.requests)  # nothing merged
