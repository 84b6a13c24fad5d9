"""The core task tools: create, watch, read and cancel tasks through the tasks service."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

from shared.agent.tools import Tool
from shared.chat.toolkit import ChatContext, ToolFailure, int_arg, make_tool, text_arg
from shared.models.phases import TERMINAL_PHASES
from shared.tasks.repository import result_text, tasks
from shared.tasks.service import cancel_task as cancel
from shared.tasks.service import create_task

OUTPUT_LIMIT = 2048
WAIT_DEFAULT, WAIT_MAX = 30, 60
_UNSAFE = re.compile(r"[^a-z0-9-]+")


def task_name(ctx: ChatContext, requested: str, seq: int) -> str:
    """`chat-<sid>-<sha8>-<seq>`, at most 63 characters: session-scoped, so turns never collide."""
    sha8 = hashlib.sha256(f"{ctx.turn_id}/{requested}".encode()).hexdigest()[:8]
    tail = f"-{sha8}-{seq}"
    sid = _UNSAFE.sub("-", ctx.session_id.lower()).strip("-")
    return f"chat-{sid}"[: 63 - len(tail)].rstrip("-") + tail


def _create(ctx: ChatContext, args: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    requested = text_arg(args, "name") or body["type"]
    namespace = ctx.namespace_for(args)
    with ctx.lock:  # parallel calls of one turn share the per-turn budget
        if len(ctx.tasks_created) >= ctx.max_tasks_per_turn:
            raise ToolFailure(f"task creation limit reached (max {ctx.max_tasks_per_turn} per turn)",
                              "limit_reached", "Wait for the tasks you created with wait_for_task, then "
                              "summarise; ask the user to continue in a new message for more tasks")
        ctx.task_seq += 1
        name = task_name(ctx, requested, ctx.task_seq)
        ctx.tasks_created.append((namespace, name))
        ctx.aliases[(namespace, requested)] = name
    for key in ("timeout", "schedule"):
        if text_arg(args, key):
            body[key] = args[key]
    if "priority" in args:
        body["priority"] = int_arg(args, "priority", 500)
    try:
        record = create_task({"name": name, "namespace": namespace, **body}, ctx.principal,
                             server_labels=ctx.labels)
    except Exception:
        with ctx.lock:  # a refused create does not use up the budget
            ctx.tasks_created.remove((namespace, name))
        raise
    return {"name": record.name, "namespace": record.namespace, "type": body["type"],
            "phase": record.doc.get("status", {}).get("phase", "Pending")}


def create_ai_task(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "ai", "prompt": text_arg(args, "prompt", required=True)}
    if text_arg(args, "agentRef"):
        body["agentRef"] = {"name": args["agentRef"]}
    return _create(ctx, args, body)


def create_container_task(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "container", "image": text_arg(args, "image", required=True)}
    for key in ("command", "args"):
        value = args.get(key)
        if value is not None:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ToolFailure(f"{key} must be a list of strings", "invalid_arguments")
            body[key] = value
    return _create(ctx, args, body)


def create_agent_task(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "agent", "prompt": text_arg(args, "prompt", required=True),
                            "agentRef": {"name": text_arg(args, "agentRef", required=True)}}
    if "maxTurns" in args:
        body["maxTurns"] = int_arg(args, "maxTurns", 0)
    if isinstance(args.get("workspace"), dict):
        body["workspace"] = args["workspace"]
    return _create(ctx, args, body)


def _task(ctx: ChatContext, args: dict[str, Any]) -> tuple[str, Any]:
    name = text_arg(args, "name", required=True)
    namespace = ctx.namespace_for(args)
    record = tasks.get(namespace, name)
    if record is None and (namespace, name) in ctx.aliases:
        record = tasks.get(namespace, ctx.aliases[(namespace, name)])
    if record is None:
        raise ToolFailure(f"Task '{name}' not found in namespace '{namespace}'", "not_found",
                          "Use list_tasks to see available tasks")
    return namespace, record


def _progress(record: Any) -> dict[str, Any]:
    status = record.doc.get("status", {})
    return {"name": record.name, "namespace": record.namespace, "type": record.doc["spec"].get("type"),
            "phase": status.get("phase", "Pending"), "message": status.get("message"),
            "startTime": status.get("startTime"), "completionTime": status.get("completionTime"),
            "conditions": status.get("conditions", [])}


def check_task_progress(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    return _progress(_task(ctx, args)[1])


def fetch_task_output(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    namespace, record = _task(ctx, args)
    phase = record.doc.get("status", {}).get("phase", "Pending")
    text = result_text(record)
    if text is None:
        raise ToolFailure(f"Task '{record.name}' has no output yet (phase {phase})", "not_found",
                          "Use wait_for_task until the task has finished, then fetch its output")
    out = {"name": record.name, "phase": phase, "output": text[:OUTPUT_LIMIT], "truncated": len(text) > OUTPUT_LIMIT}
    if out["truncated"]:
        out["totalLength"] = len(text)
    return out


def wait_for_task(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    wait = min(max(int_arg(args, "timeout", WAIT_DEFAULT), 0), WAIT_MAX)
    # Stay inside the tool timeout, so the answer is a phase and not a timeout error.
    deadline = time.monotonic() + min(wait, max(0.0, ctx.tool_timeout - 1.0))
    namespace, record = _task(ctx, args)
    while True:
        phase = record.doc.get("status", {}).get("phase", "Pending")
        if phase in TERMINAL_PHASES or time.monotonic() >= deadline:
            return {**_progress(record), "done": phase in TERMINAL_PHASES}
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        record = tasks.get(namespace, record.name) or record


def cancel_task(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    namespace, record = _task(ctx, args)
    moved = cancel(namespace, record.name, reason="cancelled by the chat orchestrator")
    phase = (moved or tasks.get(namespace, record.name) or record).doc.get("status", {}).get("phase")
    return {"name": record.name, "namespace": namespace, "cancelled": moved is not None, "phase": phase}


def list_tasks(ctx: ChatContext, args: dict[str, Any]) -> dict[str, Any]:
    namespace = ctx.namespace_for(args)
    status = text_arg(args, "status")
    limit = min(max(int_arg(args, "limit", 20), 1), 100)
    found: list[dict[str, Any]] = []
    cursor = None
    while len(found) < limit:  # pages of the namespace, filtered by phase, until enough are found
        records, cursor = tasks.list_page(namespace, limit=100, cursor=cursor)
        for record in records:
            phase = record.doc.get("status", {}).get("phase", "Pending")
            if status and phase.lower() != status.lower():
                continue
            found.append({"name": record.name, "type": record.doc["spec"].get("type"), "phase": phase,
                          "labels": record.doc["metadata"].get("labels", {})})
            if len(found) >= limit:
                break
        if not cursor:
            break
    return {"namespace": namespace, "tasks": found, "count": len(found)}


_TIMEOUT = {"type": "string", "description": 'Timeout duration, e.g. "5m"'}
_NAME = {"type": "string", "description": "Task name"}


def task_tools(ctx: ChatContext) -> list[Tool]:
    return [
        make_tool("create_ai_task", "Create an AI/LLM-powered task. Use when the user needs LLM reasoning, code "
                  "review, content generation, or analysis. Do NOT use for running shell commands or CLI runtimes.",
                  {"name": _NAME, "prompt": {"type": "string", "description": "The prompt/instruction for the AI task"},
                   "agentRef": {"type": "string", "description": "Optional Agent name to use"},
                   "timeout": _TIMEOUT, "priority": {"type": "integer", "description": "Priority 0-1000"}},
                  ["name", "prompt"], create_ai_task, ctx),
        make_tool("create_container_task", "Create a container task to run commands. Use when the user needs to "
                  "run a shell command, build code, or execute a container image. Do NOT use for LLM reasoning.",
                  {"name": _NAME, "image": {"type": "string", "description": "Container image to run"},
                   "command": {"type": "array", "items": {"type": "string"}, "description": "Command to execute"},
                   "args": {"type": "array", "items": {"type": "string"}, "description": "Arguments"},
                   "timeout": _TIMEOUT}, ["name", "image"], create_container_task, ctx),
        make_tool("create_agent_task", "Create a task using an external CLI runtime (Copilot, Claude Code) for code "
                  "changes in a git repo. Do NOT use for simple container commands or direct LLM reasoning.",
                  {"name": _NAME, "prompt": {"type": "string", "description": "The prompt/instruction for the agent"},
                   "agentRef": {"type": "string", "description": "Agent name with a runtime configured"},
                   "timeout": _TIMEOUT, "maxTurns": {"type": "integer", "description": "Maximum agent iterations"},
                   "workspace": {"type": "object", "properties": {"gitRepo": {"type": "string"},
                                                                   "branch": {"type": "string"},
                                                                   "subPath": {"type": "string"}}}},
                  ["name", "prompt", "agentRef"], create_agent_task, ctx),
        make_tool("check_task_progress", "Get the current phase, duration, and status conditions of a task. Do NOT "
                  "use to get the output/result; use fetch_task_output for that.", {"name": _NAME}, ["name"],
                  check_task_progress, ctx),
        make_tool("fetch_task_output", "Get the result/output of a completed task, truncated to 2K characters if "
                  "large. Do NOT use to check if a task is still running; use check_task_progress for that.",
                  {"name": _NAME}, ["name"], fetch_task_output, ctx),
        make_tool("wait_for_task", "Wait for a task to complete. Each call waits up to the given timeout (max 60 s, "
                  "default 30). If the task isn't done, call again or do other work.",
                  {"name": _NAME, "timeout": {"type": "integer", "description": "Seconds to wait (max 60, default 30)"}},
                  ["name"], wait_for_task, ctx),
        make_tool("cancel_task", "Cancel a task. Use when a task is stuck, no longer needed, or the user requests "
                  "cancellation.", {"name": _NAME}, ["name"], cancel_task, ctx),
        make_tool("list_tasks", "List tasks with an optional status filter. Use to check what tasks exist or to "
                  "monitor several tasks.",
                  {"status": {"type": "string", "description": "Filter by status: Pending, Running, Succeeded, Failed"},
                   "limit": {"type": "integer", "description": "Max results to return (default 20)"}},
                  [], list_tasks, ctx),
    ]


create_task_for = _create  # the one create path, shared with create_pr_monitor (labels, budget, naming)
