"""Coordination tools for worker agents: delegate, wait, message siblings, plan, cancel.

They act only through the worker API (`/internal/v1`), with the worker's own credential, so a
worker can coordinate within its namespace and nowhere else. Message scope: a task talks within
its parent's group (siblings and the parent); a task without a parent is the coordinator of its
own children, so its scope is itself.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from shared.agent.tools import Tool, fail, ok
from shared.duration import parse_go_duration
from shared.llm.base import ToolSpec
from shared.workerapi.client import InternalClient

COORDINATION_NAMES = ("delegate_task", "wait_for_tasks", "create_container_task", "cancel_task", "send_message",
                      "check_messages", "update_plan")
TERMINAL = {"Succeeded", "Failed", "Cancelled"}
RESULT_CHARS = 8000


@dataclass
class WorkerContext:
    client: InternalClient
    namespace: str
    task: str
    parent: str | None
    wait_cap_seconds: float = 55.0  # under the loop's per-tool timeout; the model can wait again
    poll_seconds: float = 1.0

    @property
    def scope(self) -> str:
        return self.parent or self.task


def _error(status: int, body: Any) -> dict:
    message = body.get("error", {}).get("message") if isinstance(body, dict) else str(body)
    kind = {400: "invalid_arguments", 403: "permission_denied", 404: "not_found", 409: "already_exists"}.get(
        status, "internal_error")
    return fail(message or f"HTTP {status}", kind)


def _child_name(ctx: WorkerContext, requested: Any) -> str:
    if isinstance(requested, str) and requested:
        return requested
    return f"{ctx.task[:240]}-{uuid.uuid4().hex[:8]}"


def _create(ctx: WorkerContext, body: dict[str, Any]) -> dict:
    status, answer = ctx.client.call("POST", f"/internal/v1/tasks/{ctx.namespace}",
                                     json={**body, "parentTask": ctx.task})
    if status != 201:
        return _error(status, answer)
    return ok({"taskName": answer["metadata"]["name"], "namespace": ctx.namespace,
               "phase": answer["status"]["phase"]})


def delegate_task(ctx: WorkerContext, args: dict[str, Any]) -> dict:
    agent, prompt = args.get("agent"), args.get("prompt")
    if not isinstance(agent, str) or not agent or not isinstance(prompt, str) or not prompt:
        return fail("agent and prompt are required")
    body: dict[str, Any] = {"name": _child_name(ctx, args.get("name")), "type": "ai", "prompt": prompt,
                            "agentRef": {"name": agent}}
    if args.get("priority") is not None:
        body["priority"] = args["priority"]
    if args.get("auto_retry"):
        body["retryPolicy"] = {"maxRetries": int(args.get("max_retries", 2))}
    return _create(ctx, body)


def create_container_task(ctx: WorkerContext, args: dict[str, Any]) -> dict:
    if not isinstance(args.get("image"), str) or not args["image"]:
        return fail("image is required")
    body: dict[str, Any] = {"name": _child_name(ctx, args.get("name")), "type": "container", "image": args["image"]}
    for key in ("command", "args", "env", "workspace", "timeout"):
        if args.get(key) is not None:
            body[key] = args[key]
    return _create(ctx, body)


def _state(ctx: WorkerContext, name: str) -> dict[str, Any]:
    status, body = ctx.client.call("GET", f"/internal/v1/tasks/{ctx.namespace}/{name}")
    if status != 200:
        return {"name": name, "phase": "Unknown", "error": _error(status, body)["error"]}
    state = {"name": name, "phase": body["phase"], "message": body.get("message")}
    if body.get("result") is not None:
        state["result"] = body["result"][:RESULT_CHARS]
    return state


def wait_for_tasks(ctx: WorkerContext, args: dict[str, Any]) -> dict:
    names = args.get("tasks")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        return fail("tasks must be a list of task names")

    try:
        wanted = parse_go_duration(str(args.get("timeout", "10m")))
    except ValueError as exc:
        return fail(f"invalid timeout: {exc}")
    deadline = time.monotonic() + min(wanted, ctx.wait_cap_seconds)
    while True:
        states = [_state(ctx, n) for n in names]
        # A result posted just before the phase flips would be missed: finished means a terminal phase.
        if all(s["phase"] in TERMINAL or s["phase"] == "Unknown" for s in states) or time.monotonic() >= deadline:
            done = all(s["phase"] in TERMINAL for s in states)
            return ok({"tasks": states, "allDone": done,
                       **({} if done else {"note": "some tasks are still running; call wait_for_tasks again"})})
        time.sleep(ctx.poll_seconds)


def cancel_task(ctx: WorkerContext, args: dict[str, Any]) -> dict:
    name = args.get("task_name")
    if not isinstance(name, str) or not name:
        return fail("task_name is required")
    status, body = ctx.client.call("POST", f"/internal/v1/tasks/{ctx.namespace}/{name}/cancel",
                                   json={"reason": args.get("reason") or f"cancelled by {ctx.task}"})
    return ok(body) if status == 200 else _error(status, body)


def send_message(ctx: WorkerContext, args: dict[str, Any]) -> dict:
    to, content = args.get("to_task"), args.get("content")
    if not isinstance(to, str) or not to or not isinstance(content, str) or not content:
        return fail("to_task and content are required")
    status, body = ctx.client.call("POST", f"/internal/v1/messages/{ctx.namespace}", json={
        "fromTask": ctx.task, "toTask": to, "parentTask": ctx.scope, "content": content})
    return ok({"sent": True, "toTask": to}) if status == 204 else _error(status, body)


def check_messages(ctx: WorkerContext, args: dict[str, Any]) -> dict:
    mark = "false" if args.get("mark_read") is False else "true"
    try:
        wait = min(float(args.get("wait_seconds", 0)), ctx.wait_cap_seconds)
    except (TypeError, ValueError):
        return fail("wait_seconds must be a number")
    deadline = time.monotonic() + wait
    while True:
        status, body = ctx.client.call("GET", f"/internal/v1/messages/{ctx.namespace}/{ctx.task}",
                                       params={"parentTask": ctx.scope, "markRead": mark})
        if status != 200:
            return _error(status, body)
        if body or time.monotonic() >= deadline:
            return ok({"messages": [{"from": m["fromTask"], "to": m["toTask"], "content": m["content"],
                                     "sentAt": m["createdAt"]} for m in body]})
        time.sleep(ctx.poll_seconds)


def update_plan(ctx: WorkerContext, args: dict[str, Any]) -> dict:
    if not isinstance(args.get("summary"), str) or not isinstance(args.get("plan_document"), str):
        return fail("summary and plan_document are required")
    body = {k: args[k] for k in ("summary", "plan_document", "progress_pct", "goal_complete") if k in args}
    status, answer = ctx.client.call("POST", f"/internal/v1/plans/{ctx.namespace}/{ctx.task}", json=body)
    return ok({"saved": True}) if status == 204 else _error(status, answer)


_SPECS = {
    "delegate_task": ("Delegate a subtask to another agent (a child task)", {
        "agent": {"type": "string"}, "prompt": {"type": "string"}, "name": {"type": "string"},
        "namespace": {"type": "string"}, "priority": {"type": "integer"}, "auto_retry": {"type": "boolean"},
        "max_retries": {"type": "integer"}}, ["agent", "prompt"], delegate_task),
    "wait_for_tasks": ("Wait for delegated tasks to complete; returns their phases and results", {
        "tasks": {"type": "array", "items": {"type": "string"}}, "timeout": {"type": "string", "default": "10m"}},
        ["tasks"], wait_for_tasks),
    "create_container_task": ("Create a child container task", {
        "name": {"type": "string"}, "image": {"type": "string"}, "command": {"type": "array", "items": {"type": "string"}},
        "args": {"type": "array", "items": {"type": "string"}}, "env": {"type": "object"},
        "workspace": {"type": "object"}, "timeout": {"type": "string"}}, ["image"], create_container_task),
    "cancel_task": ("Cancel a running child task", {
        "task_name": {"type": "string"}, "namespace": {"type": "string"}, "reason": {"type": "string"}},
        ["task_name"], cancel_task),
    "send_message": ("Send a message to a sibling task (to_task \"*\" broadcasts)", {
        "to_task": {"type": "string"}, "content": {"type": "string"}}, ["to_task", "content"], send_message),
    "check_messages": ("Check for messages from sibling tasks", {
        "mark_read": {"type": "boolean", "default": True},
        "wait_seconds": {"type": "number", "description": "Wait up to this long for a message", "default": 0}},
        [], check_messages),
    "update_plan": ("Update the autonomous execution plan", {
        "summary": {"type": "string"}, "plan_document": {"type": "string"}, "progress_pct": {"type": "integer"},
        "goal_complete": {"type": "boolean"}}, ["summary", "plan_document"], update_plan),
}


def coordination_tools(ctx: WorkerContext) -> list[Tool]:
    tools = []
    for name in COORDINATION_NAMES:
        description, properties, required, fn = _SPECS[name]
        tools.append(Tool(ToolSpec(name, description, {"type": "object", "properties": properties,
                                                       "required": required}),
                          lambda args, fn=fn: fn(ctx, args)))
    return tools
