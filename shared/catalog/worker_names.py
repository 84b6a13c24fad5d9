"""Tool names the worker provides itself (not stored Tools): the spec's coordination, memory and GitHub tools.

An agent's or task's `tools` may name them; resolution leaves them to the worker instead of
looking them up in the catalog.
"""

from __future__ import annotations

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
