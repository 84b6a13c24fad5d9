"""The executor↔worker contract: what an executor hands the worker it starts, and what the worker
may rely on. Both sides import this module (the executors, the dispatcher and the worker API on one
side, `shared.worker` on the other); it imports nothing, so the worker loads no store code for it.

1. **Environment** (every name also a field of `shared.settings.Settings`): which task and attempt
   to run, the lease to keep, where the worker API is and how to authenticate, the workspace.
2. **The resolved agent**: the dispatcher resolves a task's Agent, Skills and Tools once per attempt
   (`shared.tasks.agent_setup`) and stores the JSON below as the attempt's `task-agent` record; the
   worker reads it with its spec (`GET /internal/v1/tasks/<ns>/<task>/spec`), the Kubernetes executor
   reads its runtime to pick the image.
3. **The worker's tool set**: tools the worker provides itself, not stored Tools (resolution leaves
   them to the worker instead of looking them up in the catalog).
"""

from __future__ import annotations

from typing import Any, TypedDict

# 1. Environment the executors set (local: the subprocess; Kubernetes: the Job's container and its
# workspace-inputs init container).
TASK_NAMESPACE_ENV = "SHOAL_TASK_NAMESPACE"
TASK_NAME_ENV = "SHOAL_TASK_NAME"
TASK_ATTEMPT_ENV = "SHOAL_TASK_ATTEMPT"
TASK_LEASE_SECONDS_ENV = "SHOAL_TASK_LEASE_SECONDS"
INTERNAL_URL_ENV = "SHOAL_INTERNAL_URL"
WORKER_TOKEN_ENV = "SHOAL_WORKER_TOKEN"  # the local executor's credential; in a cluster the ServiceAccount token
WORKSPACE_ENV = "SHOAL_WORKSPACE"
# A task's git credential (its gitSecretRef): Secret key -> environment variable, read only by git's
# credential helper in the worker (shared.catalog.git_credentials writes, shared.runtimes.git_workspace reads).
GIT_CREDENTIAL_ENV = {"username": "SHOAL_GIT_USERNAME", "token": "SHOAL_GIT_TOKEN", "password": "SHOAL_GIT_PASSWORD",
                      "GITHUB_TOKEN": "SHOAL_GIT_GITHUB_TOKEN"}
WORKER_ENV = (TASK_NAMESPACE_ENV, TASK_NAME_ENV, TASK_ATTEMPT_ENV, TASK_LEASE_SECONDS_ENV, INTERNAL_URL_ENV,
              WORKER_TOKEN_ENV, WORKSPACE_ENV, *GIT_CREDENTIAL_ENV.values())

# Every report of a worker carries its attempt (the fencing token, shared.tasks.leases).
ATTEMPT_HEADER = "X-Shoal-Task-Attempt"
# Only these task types run the Shoal worker, which heartbeats; a container task's liveness is its Job's.
WORKER_TYPES = frozenset({"ai", "agent"})
# The reason (and condition) of an attempt whose worker vanished or died before it could report.
WORKER_LOST = "WorkerLost"

# 2. The resolved agent of an attempt (kind of its record, and its JSON).
RESOLVED_AGENT_KIND = "task-agent"


class ResolvedAgent(TypedDict, total=False):
    agent: str | None                       # the agentRef's name
    provider: str                           # effective model settings
    model: str
    temperature: float
    maxTokens: int
    systemPrompt: str                       # with the skills' markdown appended
    skills: list[str]
    tools: list[str]                        # every tool name asked for
    catalogTools: list[dict[str, Any]]      # {"name", "description", "parameters"}: run via the worker API
    runtime: dict[str, Any]                 # {"type": claude|codex|copilot|opencode, "secretRef"?, "model"?}
    coordination: dict[str, Any]            # {"enabled": bool, ...}


def runtime_type(resolved: dict[str, Any] | None) -> str | None:
    """The coding-agent runtime (claude, codex, …) a resolved agent asks for, if any."""
    runtime = resolved.get("runtime") if isinstance(resolved, dict) else None
    return runtime.get("type") if isinstance(runtime, dict) and runtime.get("type") else None


# 3. The worker's tool set.
MEMORY_TOOL_NAMES = ("recall_memory", "remember", "propose_memory", "search_transcript")
# The pull request tools; auto-injected with coordination (spec: coordination tools table).
GITHUB_PR_TOOL_NAMES = ("create_pull_request", "check_pull_request_ci", "list_pull_requests", "check_pr_review_marker",
                        "merge_pull_request", "auto_merge_pull_request", "review_pull_request", "post_review_comment")
# Only when the Agent's spec.tools lists them (spec: "require explicit spec.tools[] entries").
GITHUB_ISSUE_TOOL_NAMES = ("list_issues", "get_issue", "comment_on_issue")
GITHUB_TOOL_NAMES = GITHUB_PR_TOOL_NAMES + GITHUB_ISSUE_TOOL_NAMES
COORDINATION_TOOL_NAMES = ("delegate_task", "wait_for_tasks", "create_container_task", "cancel_task", "send_message",
                           "check_messages", "update_plan")
# Coordination tools that need the store: they run server-side, bound to the task (shared.catalog.worker_agent_tools).
AGENT_TOOL_NAMES = ("create_agent", "delete_agent")
SERVER_SIDE_WORKER_TOOLS = frozenset(MEMORY_TOOL_NAMES + GITHUB_TOOL_NAMES + AGENT_TOOL_NAMES)
WORKER_TOOL_NAMES = frozenset(MEMORY_TOOL_NAMES + GITHUB_TOOL_NAMES + COORDINATION_TOOL_NAMES + AGENT_TOOL_NAMES)


def coordination_enabled(spec: dict, agent: dict | None = None) -> bool:
    """Whether a task coordinates (may delegate): its Agent's `coordination.enabled`, or Shoal's opt-in on
    the task itself (`spec.coordination` / `spec.ai.coordination`) for a task without an Agent."""
    ai = spec.get("ai") or {}
    return bool((ai.get("coordination") or {}).get("enabled") or (spec.get("coordination") or {}).get("enabled")
                or ((agent or {}).get("coordination") or {}).get("enabled"))
