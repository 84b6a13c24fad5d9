"""The GitHub worker tools (PR review loop and issues), with the fail-closed `repo_url` scope check.

When task context is available, an explicit `repo_url` must name the task's own repository (its
`spec.workspace.gitRepo`, or the repository of its signed transaction context); otherwise the tool
fails before it resolves credentials or calls GitHub. Without `repo_url` the task's repository is
used. Results follow the tool convention: {"success": true, "data": …} or
{"success": false, "error", "errorType", "suggestion"}.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.agent.tools import Tool
from shared.config import get_settings
from shared.duration import parse_go_duration
from shared.github.ci import ci_state
from shared.github.client import GitHubClient
from shared.github.markers import has_marker, make_marker
from shared.github.repo_url import GitHubRepo, parse_repo_url
from shared.llm.base import ToolSpec

REVIEW_EVENTS = ("COMMENT", "APPROVE", "REQUEST_CHANGES")
MERGE_METHODS = ("merge", "squash", "rebase")
CI_POLL_SECONDS = 15.0  # between CI reads while waiting (tests shorten it)
DEFAULT_AUTO_MERGE_TIMEOUT = "30m"


@dataclass(frozen=True)
class TaskContext:
    """What the tools know about the calling task (None fields = unknown)."""

    repository: GitHubRepo | None


def task_context(task: dict[str, Any] | None) -> TaskContext | None:
    """The scope of a task document: workspace repo, else the transaction context's repository."""
    if task is None:
        return None
    spec = task.get("spec") or {}
    candidates = [(spec.get("workspace") or {}).get("gitRepo")]
    context = ((spec.get("transaction") or {}).get("context") or {})
    candidates += [context.get("repository"), context.get("repo_url"), context.get("repoURL")]
    for candidate in candidates:
        repo = parse_repo_url(candidate) if isinstance(candidate, str) else None
        if repo is not None:
            return TaskContext(repo)
    return TaskContext(None)


class ToolFailure(Exception):
    def __init__(self, message: str, error_type: str, suggestion: str = "") -> None:
        super().__init__(message)
        self.error_type = error_type
        self.suggestion = suggestion


def resolve_repo(repo_url: Any, context: TaskContext | None) -> GitHubRepo:
    if repo_url not in (None, ""):
        repo = parse_repo_url(repo_url) if isinstance(repo_url, str) else None
        if repo is None:
            raise ToolFailure("repo_url must be a credential-free GitHub repository root URL", "invalid_arguments",
                              "use https://github.com/owner/repo")
        if context is not None and (context.repository is None
                                    or context.repository.full_name.lower() != repo.full_name.lower()):
            raise ToolFailure(f"repo_url {repo_url} is outside this task's repository scope", "permission_denied",
                              "omit repo_url to use the task's repository")
        return repo
    if context is None or context.repository is None:
        raise ToolFailure("repo_url is required", "invalid_arguments", "pass repo_url")
    return context.repository


def _int(args: dict[str, Any], name: str, *, default: int | None = None, low: int = 1, high: int = 10**9) -> int:
    value = args.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ToolFailure(f"{name} must be an integer between {low} and {high}", "invalid_arguments")
    return value


def _text(args: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = args.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ToolFailure(f"{name} is required", "invalid_arguments")
    return value


def _seconds(args: dict[str, Any], name: str, default: str | float) -> float:
    """A duration argument: a Go duration string ("90s", "5m") or a number of seconds."""
    value = args.get(name, default)
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        else:
            seconds = parse_go_duration(value)
    except (TypeError, ValueError):
        raise ToolFailure(f"{name} must be a duration such as 30s or 5m", "invalid_arguments") from None
    if seconds < 0:
        raise ToolFailure(f"{name} must not be negative", "invalid_arguments")
    return seconds


SERVER_WAIT_CAP_SECONDS = 20.0


def _wait_cap() -> float:
    """How long one call may wait: it runs inside the worker's HTTP call to the internal API, under
    the loop's per-tool timeout. Short turns keep the model in charge: it calls again to wait longer."""
    return max(1.0, min(SERVER_WAIT_CAP_SECONDS, get_settings().tool_timeout_seconds - 5))


def _merge_body(args: dict[str, Any]) -> dict[str, Any]:
    method = args.get("merge_method", "merge")
    if method not in MERGE_METHODS:
        raise ToolFailure(f"merge_method must be one of {', '.join(MERGE_METHODS)}", "invalid_arguments")
    body = {"merge_method": method}
    for key in ("commit_title", "commit_message"):
        if _text(args, key, required=False):
            body[key] = args[key]
    return body


def github_tools(context: TaskContext | None, token: Callable[[], str | None]) -> list[Tool]:
    """The tools, bound to a task's scope; `token` is called only after the scope check passed."""
    def tool(name: str, description: str, properties: dict[str, Any], required: list[str],
             body: Callable[[GitHubRepo, GitHubClient, dict[str, Any]], Any]) -> Tool:
        def run(args: dict[str, Any]) -> dict[str, Any]:
            try:
                repo = resolve_repo(args.get("repo_url"), context)
                return {"success": True, "data": body(repo, GitHubClient(token()), args)}
            except ToolFailure as exc:
                return {"success": False, "error": str(exc), "errorType": exc.error_type,
                        "suggestion": exc.suggestion}

        schema = {"type": "object", "properties": {**properties, "task_name": {"type": "string"},
                                                   "repo_url": {"type": "string"}}, "required": required}
        return Tool(ToolSpec(name, description, schema), run)

    def list_pulls(repo, client, args):
        pulls = client.pulls_page(repo.owner, repo.repo, per_page=_int(args, "per_page", default=30, high=100),
                                  page=_int(args, "page", default=1))
        return [{"number": p.get("number"), "title": p.get("title"), "headSHA": (p.get("head") or {}).get("sha"),
                 "draft": p.get("draft"), "url": p.get("html_url")} for p in pulls]

    def check_marker(repo, client, args):
        number = _int(args, "pr_number")
        sha = args.get("head_sha") or (client.pull(repo.owner, repo.repo, number).get("head") or {}).get("sha")
        bodies = [(r.get("body") or "", (r.get("user") or {}).get("login"))
                  for r in client.reviews(repo.owner, repo.repo, number)]
        bodies += [(c.get("body") or "", (c.get("user") or {}).get("login"))
                   for c in client.issue_comments(repo.owner, repo.repo, number)]
        found = has_marker(bodies, repo.full_name, number, sha, trusted_author=client.authenticated_login)
        # Orka's fields (found, pr_number, message) and Shoal's earlier `reviewed`, for prompts written for either
        return {"found": found, "reviewed": found, "pr_number": number, "head_sha": sha,
                "marker": make_marker(repo.full_name, number, sha),
                "message": "review marker found for this PR head SHA" if found
                else "no review marker found for this PR head SHA"}

    def review(repo, client, args):
        number = _int(args, "pr_number")
        pr = client.pull(repo.owner, repo.repo, number)
        return {"number": number, "title": pr.get("title"), "headSHA": (pr.get("head") or {}).get("sha"),
                "diff": client.pull_diff(repo.owner, repo.repo, number)}

    def post_review(repo, client, args):
        number = _int(args, "pr_number")
        event = args.get("event")
        if event not in REVIEW_EVENTS:
            raise ToolFailure(f"event must be one of {', '.join(REVIEW_EVENTS)}", "invalid_arguments")
        if not isinstance(args.get("body"), str) or not args["body"].strip():
            raise ToolFailure("body is required", "invalid_arguments")
        payload = {"body": args["body"], "event": event}
        if args.get("comments"):
            payload["comments"] = args["comments"]
        posted = client.post_review(repo.owner, repo.repo, number, payload)
        return {"id": posted.get("id"), "state": posted.get("state")}

    def list_issues(repo, client, args):
        found = client.issues(repo.owner, repo.repo, per_page=_int(args, "per_page", default=30, high=100),
                              page=_int(args, "page", default=1))
        only_unassigned = args.get("unassigned_only", True)
        return [{"number": i.get("number"), "title": i.get("title"), "url": i.get("html_url")} for i in found
                if "pull_request" not in i and (not only_unassigned or not i.get("assignees"))]

    def get_issue(repo, client, args):
        issue = client.issue(repo.owner, repo.repo, _int(args, "issue_number"))
        return {k: issue.get(k) for k in ("number", "title", "body", "state", "html_url", "labels")}

    def comment(repo, client, args):
        if not isinstance(args.get("body"), str) or not args["body"].strip():
            raise ToolFailure("body is required", "invalid_arguments")
        made = client.comment(repo.owner, repo.repo, _int(args, "issue_number"), args["body"])
        return {"id": made.get("id"), "url": made.get("html_url")}

    def create_pull(repo, client, args):
        head, base, title = _text(args, "head_branch"), _text(args, "base_branch"), _text(args, "title")
        body = {"title": title, "head": head, "base": base, "body": _text(args, "body", required=False) or ""}
        made = client.create_pull(repo.owner, repo.repo, body)
        existing = made is None
        if existing:  # GitHub refused it; a retry of a call that got through finds its pull request open
            made = client.open_pull_for_head(repo.owner, repo.repo, head)
            if made is None:
                raise ToolFailure(f"GitHub refused the pull request from {head} into {base}", "github_rejected",
                                  "check that the branch was pushed and differs from the base branch")
        return {"number": made.get("number"), "url": made.get("html_url"), "state": made.get("state"),
                "existing": existing}

    def read_ci(repo, client, number):
        sha = (client.pull(repo.owner, repo.repo, number).get("head") or {}).get("sha")
        if not sha:
            raise ToolFailure(f"pull request #{number} has no head commit", "github_rejected")
        return sha, ci_state(client.check_runs(repo.owner, repo.repo, sha),
                             client.commit_statuses(repo.owner, repo.repo, sha))

    def wait_ci(repo, client, number, wait_seconds):
        import time

        deadline = time.monotonic() + min(wait_seconds, _wait_cap())
        while True:
            sha, ci = read_ci(repo, client, number)
            if ci.state != "pending" or time.monotonic() + CI_POLL_SECONDS > deadline:
                return sha, ci
            time.sleep(CI_POLL_SECONDS)

    def check_ci(repo, client, args):
        number = _int(args, "pr_number")
        wait = _seconds(args, "wait_timeout", 0)
        _seconds(args, "poll_interval", CI_POLL_SECONDS)  # accepted; the poll interval is the platform's
        sha, ci = wait_ci(repo, client, number, wait)
        return {"pr_number": number, "head_sha": sha, **ci.view()}

    def do_merge(repo, client, number, body, why):
        result = client.merge_pull(repo.owner, repo.repo, number, body)
        if result is None:
            pr = client.pull(repo.owner, repo.repo, number)
            if pr.get("merged"):  # a retried call whose first attempt went through
                return {"pr_number": number, "merged": True, "sha": pr.get("merge_commit_sha")}
            raise ToolFailure(f"pull request #{number} cannot be merged ({why})", "not_mergeable",
                              "check the pull request on GitHub")
        return {"pr_number": number, "merged": bool(result.get("merged")), "sha": result.get("sha")}

    def merge(repo, client, args):
        number = _int(args, "pr_number")
        return do_merge(repo, client, number, _merge_body(args), "conflicts, branch protection or a changed head")

    def auto_merge(repo, client, args):
        number = _int(args, "pr_number")
        body = _merge_body(args)
        timeout = _seconds(args, "timeout", DEFAULT_AUTO_MERGE_TIMEOUT)
        sha, ci = wait_ci(repo, client, number, timeout)
        if ci.state == "failure":
            raise ToolFailure(f"CI failed on pull request #{number}: {', '.join(ci.failed)}", "ci_failed",
                              "fix the failing checks, then call auto_merge_pull_request again")
        if ci.state == "pending":
            raise ToolFailure(f"CI is still running on pull request #{number}: {', '.join(ci.pending)}",
                              "timeout", "call auto_merge_pull_request again to keep waiting")
        merged = do_merge(repo, client, number, {**body, "sha": sha},  # only the head CI passed on
                          "conflicts, branch protection or a new head since CI passed")
        return {**merged, "ci": ci.view()}

    number = {"type": "integer"}
    text = {"type": "string"}
    page = {"per_page": number, "page": number}
    merge_args = {"pr_number": number, "merge_method": {"type": "string", "enum": list(MERGE_METHODS)},
                  "commit_title": text, "commit_message": text}
    return [
        tool("create_pull_request", "Create a GitHub pull request",
             {"head_branch": text, "base_branch": text, "title": text, "body": text},
             ["task_name", "head_branch", "base_branch", "title"], create_pull),
        tool("check_pull_request_ci", "Check GitHub CI status without merging",
             {"pr_number": number, "wait_timeout": text, "poll_interval": text}, ["pr_number"], check_ci),
        tool("merge_pull_request", "Merge a GitHub pull request", merge_args, ["task_name", "pr_number"], merge),
        tool("auto_merge_pull_request", "Poll CI checks and merge a PR when all pass",
             {**merge_args, "timeout": text}, ["task_name", "pr_number"], auto_merge),
        tool("list_pull_requests", "List open pull requests in a repository", page, [], list_pulls),
        tool("check_pr_review_marker", "Check for an existing review marker on a PR head",
             {"pr_number": number, "head_sha": {"type": "string"}}, ["pr_number"], check_marker),
        tool("review_pull_request", "Fetch a PR diff for review", {"pr_number": number}, ["pr_number"], review),
        tool("post_review_comment", "Post a review on a PR",
             {"pr_number": number, "body": {"type": "string"}, "event": {"type": "string", "enum": list(REVIEW_EVENTS)},
              "comments": {"type": "array"}}, ["pr_number", "body", "event"], post_review),
        tool("list_issues", "List open GitHub issues in a repository",
             {**page, "unassigned_only": {"type": "boolean"}}, [], list_issues),
        tool("get_issue", "Fetch full details of a GitHub issue", {"issue_number": number}, ["issue_number"],
             get_issue),
        tool("comment_on_issue", "Post a comment on a GitHub issue",
             {"issue_number": number, "body": {"type": "string"}}, ["issue_number", "body"], comment),
    ]
