"""The GitHub worker tools against a fake GitHub API, with the fail-closed repo_url scope check."""

from __future__ import annotations

import pytest

from shared.github.tools import TaskContext, github_tools, task_context
from shared.monitors.repo_url import parse_repo_url
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
                       ("comment_on_issue", {"issue_number": 9, "body": "x"})):
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
