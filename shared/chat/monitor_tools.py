"""The management tool `create_pr_monitor`: a prompt-orchestrated, scheduled pull-request monitor.

It creates a scheduled `type: ai` Task (orka-api.txt, create_pr_monitor): `spec.workspace.gitRepo`
is the repository, `spec.tools` only the PR review loop tools, and the prompt tells the task to pass
the same `repo_url` to each of them (their fail-closed scope check then holds). Checks, in order:
arguments; `repo_url` by the monitors' own credential-free GitHub-root rule; the Agent is an AI Agent
(no CLI runtime) with coordination enabled and autonomous coordination disabled; a Git credential
Secret (`gitSecretRef`, else the first of the default names that exists) with a non-empty `token`,
`password` or `GITHUB_TOKEN`. The task is created like every orchestrator task (labels, per-turn
budget, session-scoped name).
"""

from __future__ import annotations

from typing import Any

from shared.agent.tools import Tool
from shared.catalog.stores import agent_doc
from shared.chat.task_tools import create_task_for
from shared.chat.toolkit import ChatContext, ToolFailure, checked_name, int_arg, make_tool, text_arg
from shared.github.repo_url import parse_repo_url
from shared.monitors.references import GIT_KEYS, secret_has_key

PR_LOOP_TOOLS = ["list_pull_requests", "check_pr_review_marker", "check_pull_request_ci", "review_pull_request",
                 "post_review_comment"]
DEFAULT_GIT_SECRETS = ("git-credentials", "github-credentials", "copilot-token", "github-token", "git-token")
REVIEW_EVENTS = ("COMMENT", "APPROVE", "REQUEST_CHANGES")
REPO_URL_MESSAGE = ("repo_url must be a credential-free GitHub repository root URL such as "
                    "https://github.com/owner/repo, https://github.com/owner/repo.git or git@github.com:owner/repo.git")


def _check_agent(namespace: str, name: str) -> None:
    agent = agent_doc(namespace, name)
    if agent is None:
        raise ToolFailure(f"Agent '{name}' not found in namespace '{namespace}'", "not_found",
                          "Use list_agents to see available agents")
    spec = agent.get("spec") or {}
    runtime = spec.get("runtime") if isinstance(spec.get("runtime"), dict) else {}
    if runtime.get("type"):
        raise ToolFailure(f"Agent '{name}' must be an AI Agent, not a {runtime['type']} runtime agent",
                          "invalid_arguments", "Use an AI Agent (provider and model, no runtime)")
    coordination = spec.get("coordination") if isinstance(spec.get("coordination"), dict) else {}
    if not coordination.get("enabled"):
        raise ToolFailure(f"Agent '{name}' must have coordination enabled", "invalid_arguments",
                          "Use update_agent to set coordination.enabled: true, or choose another agent")
    if coordination.get("autonomous"):
        raise ToolFailure(f"Agent '{name}' must have autonomous coordination disabled", "invalid_arguments",
                          "Use update_agent to set coordination.autonomous: false, or choose another agent")


def _git_secret(namespace: str, args: dict[str, Any]) -> str:
    """The Git credential Secret the task will use: the named one, or the first default that exists."""
    ref = args.get("gitSecretRef")
    if isinstance(ref, dict):
        ref = ref.get("name")
    if ref is not None and (not isinstance(ref, str) or not ref):
        raise ToolFailure("gitSecretRef must be a Secret name", "invalid_arguments")
    candidates = (ref,) if ref else DEFAULT_GIT_SECRETS
    for name in candidates:
        found = secret_has_key(namespace, name, GIT_KEYS)
        if found is None:
            continue
        if not found:
            raise ToolFailure(f'git secret "{name}" must contain a non-empty token, password, or GITHUB_TOKEN key',
                              "invalid_arguments", "Put the GitHub token under the token key of that Secret")
        return name
    if ref:
        raise ToolFailure(f'git secret "{ref}" not found in namespace "{namespace}"', "not_found",
                          "Create the Secret, or name an existing one in gitSecretRef")
    raise ToolFailure(f'no Git credential Secret found in namespace "{namespace}": set gitSecretRef or create one '
                      f"of {', '.join(DEFAULT_GIT_SECRETS)}", "not_found",
                      "Create a Secret with a GitHub token under the token key, then try again")


def monitor_prompt(repo_url: str, per_page: int, review_event: str, extra: str | None) -> str:
    repo = f'repo_url="{repo_url}"'
    lines = [
        f"You are a scheduled pull request monitor for {repo_url}. On every run:",
        f"1. Call list_pull_requests with {repo} and per_page={per_page}.",
        f"2. For each open pull request, call check_pr_review_marker with {repo}, its pr_number and head SHA; "
        "skip it when that head is already reviewed.",
        f"3. Otherwise call check_pull_request_ci with {repo}, then review_pull_request with {repo} to read the diff.",
        f"4. Post one review with post_review_comment, {repo}, event {review_event}, and include the marker "
        "returned by check_pr_review_marker unchanged in the review body.",
        f"Always pass exactly {repo} to list_pull_requests, check_pr_review_marker, check_pull_request_ci, "
        "review_pull_request and post_review_comment. Never push, merge or change the repository.",
    ]
    if extra:
        lines.append(f"Additional instructions:\n{extra}")
    return "\n".join(lines)


def create_pr_monitor(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    checked_name(args)
    repo_url = text_arg(args, "repo_url", required=True)
    schedule = text_arg(args, "schedule", required=True)
    agent_ref = text_arg(args, "agent_ref", required=True)
    provider_ref = text_arg(args, "provider_ref")
    prompt = text_arg(args, "prompt")
    per_page = int_arg(args, "per_page", 10)
    if not 1 <= per_page <= 100:
        raise ToolFailure("per_page must be between 1 and 100", "invalid_arguments")
    review_event = (text_arg(args, "review_event") or "COMMENT").upper()
    if review_event not in REVIEW_EVENTS:
        raise ToolFailure(f"review_event must be one of {', '.join(REVIEW_EVENTS)}", "invalid_arguments")
    if parse_repo_url(repo_url) is None:
        raise ToolFailure(REPO_URL_MESSAGE, "invalid_arguments",
                          "Use the repository root URL, e.g. https://github.com/owner/repo")
    from croniter import croniter

    if not croniter.is_valid(schedule) or len(schedule.split()) != 5:
        raise ToolFailure(f"invalid schedule {schedule!r}: must be a 5-field cron expression", "invalid_arguments",
                          'Use a cron expression such as "*/30 * * * *"')
    namespace = ctx.namespace_for(args)
    _check_agent(namespace, agent_ref)
    secret = _git_secret(namespace, args)
    body: dict[str, Any] = {"type": "ai", "agentRef": {"name": agent_ref},
                            "prompt": monitor_prompt(repo_url, per_page, review_event, prompt),
                            "workspace": {"gitRepo": repo_url, "gitSecretRef": {"name": secret}},
                            "tools": list(PR_LOOP_TOOLS)}
    if provider_ref:
        body["ai"] = {"providerRef": {"name": provider_ref}}
    created = create_task_for(ctx, {**args, "namespace": namespace}, body)
    return {**created, "schedule": schedule, "repoURL": repo_url, "agentRef": agent_ref, "gitSecretRef": secret,
            "tools": list(PR_LOOP_TOOLS)}


def monitor_tools(ctx: ChatContext) -> list[Tool]:
    string = {"type": "string"}
    return [make_tool(
        "create_pr_monitor", "Create a scheduled pull request monitor: a scheduled AI task that reviews each new "
        "PR head of a GitHub repository with the PR review loop tools.",
        {"name": {"type": "string", "description": "Monitor (task) name"},
         "repo_url": {"type": "string", "description": "GitHub repository root URL, e.g. https://github.com/o/r"},
         "schedule": {"type": "string", "description": 'Cron schedule, e.g. "*/30 * * * *"'},
         "agent_ref": {"type": "string", "description": "AI Agent with coordination enabled, autonomous disabled"},
         "provider_ref": string, "gitSecretRef": {"type": "string", "description": "Secret with a GitHub token"},
         "per_page": {"type": "integer", "description": "Pull requests per run (default 10)"},
         "review_event": {"type": "string", "description": "COMMENT (default), APPROVE or REQUEST_CHANGES"},
         "prompt": {"type": "string", "description": "Extra review instructions"}},
        ["name", "repo_url", "schedule", "agent_ref"], create_pr_monitor, ctx)]
