"""The platform tools the compat endpoints run server-side: one function builds the set.

The platform's built-ins that are safe inside an API function (web_search, and web_fetch through
the SSRF-guarded outbound client), then the task tools built on `shared.tasks` (create an AI task,
check it, wait for it, read its output, cancel it). Orka also injects code_exec and the file tools;
here there is no sandbox and no workspace (the request runs inside the compat function itself), so
those stay with the task workers: the model delegates such work with create_ai_task.
Results use Orka's tool-result shape: {"success":true,"data":{…}} or
{"success":false,"error","errorType","suggestion"}.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from shared.agent.builtin.web import web_fetch_tool, web_search_tool
from shared.agent.tools import Tool, ToolRegistry
from shared.auth.principal import Principal
from shared.config import get_settings
from shared.errors import ShoalError
from shared.llm.base import ToolSpec
from shared.models.phases import TERMINAL_PHASES
from shared.tasks.repository import TASK_NOT_FOUND, result_text, tasks
from shared.tasks.service import cancel_task as cancel
from shared.tasks.service import create_task

SERVER_SIDE_BUILTINS = ("web_search", "web_fetch")  # never code_exec/file_*: no sandbox in an API function
CREATED_BY = {"orka.ai/created-by": "compat-proxy"}
WAIT_DEFAULT, WAIT_MAX, POLL_SECONDS = 30, 60, 0.5
OUTPUT_LIMIT = 2048  # Orka's fetch_task_output truncation
STILL_RUNNING = ("Task is still running. Call wait_for_task again to continue waiting, "
                 "or do other work in the meantime.")
_NAME = {"name": {"type": "string", "description": "The task name"}}


def ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "data": data}


def fail(error: str, error_type: str, suggestion: str = "") -> dict[str, Any]:
    return {"success": False, "error": error, "errorType": error_type, "suggestion": suggestion}


_ERROR_TYPES = {400: "invalid_arguments", 403: "permission_denied", 404: "not_found", 409: "already_exists"}


def _failure(exc: ShoalError) -> dict[str, Any]:
    return fail(exc.message, _ERROR_TYPES.get(exc.status, "internal_error"))


def _status(record: Any) -> dict[str, Any]:
    status = record.doc.get("status", {})
    return {"name": record.name, "phase": status.get("phase") or "Pending", "message": status.get("message", "")}


def compat_tools(principal: Principal, namespace: str) -> ToolRegistry:
    """The tools a compat request runs with, acting as `principal` in `namespace`."""
    max_tasks = get_settings().compat_max_tasks_per_request
    created: list[str] = []  # tasks made in this request (the limit is per request, as chat's per turn)

    def name_of(args: dict[str, Any]) -> str | None:
        name = args.get("name")
        return name if isinstance(name, str) and name else None

    def create_ai_task(args: dict[str, Any]) -> dict[str, Any]:
        prompt = args.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return fail("prompt is required", "invalid_arguments", "Describe the work in prompt")
        if len(created) >= max_tasks:
            return fail(f"task creation limit reached (max {max_tasks} per turn)", "limit_reached",
                        "Wait for the tasks you created and use their results")
        body: dict[str, Any] = {"name": f"proxy-{secrets.token_hex(4)}", "type": "ai", "prompt": prompt}
        for key in ("agentRef", "timeout"):
            if args.get(key):
                body[key] = args[key]

        try:
            record = create_task(body, principal, namespace_hint=namespace, server_labels=CREATED_BY)
        except ShoalError as exc:
            return _failure(exc)
        created.append(record.name)
        return ok({"taskName": record.name, "namespace": record.namespace, "phase": "Pending"})

    def check_task_progress(args: dict[str, Any]) -> dict[str, Any]:
        name = name_of(args)
        if name is None:
            return fail("name is required", "invalid_arguments", "Provide the task name")
        record = tasks.get(namespace, name)
        return ok(_status(record)) if record else fail(TASK_NOT_FOUND, "not_found")

    def wait_for_task(args: dict[str, Any]) -> dict[str, Any]:
        name = name_of(args)
        if name is None:
            return fail("name is required", "invalid_arguments", "Provide the task name")
        try:
            timeout = min(max(float(args.get("timeout", WAIT_DEFAULT)), 0.0), WAIT_MAX)
        except (TypeError, ValueError):
            return fail("timeout must be a number of seconds", "invalid_arguments")
        deadline = time.monotonic() + timeout
        while True:
            record = tasks.get(namespace, name)
            if record is None:
                return fail(TASK_NOT_FOUND, "not_found")
            status = _status(record)
            if status["phase"] in TERMINAL_PHASES:
                return ok(status)
            if time.monotonic() >= deadline:
                return ok({**status, "message": STILL_RUNNING})
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def fetch_task_output(args: dict[str, Any]) -> dict[str, Any]:
        name = name_of(args)
        if name is None:
            return fail("name is required", "invalid_arguments", "Provide the task name")
        record = tasks.get(namespace, name)
        if record is None:
            return fail(TASK_NOT_FOUND, "not_found")
        status = _status(record)
        text = result_text(record)
        if text is None:
            return fail("task has no result yet", "not_found",
                        "wait_for_task until it finishes; check its message if it failed")
        truncated = len(text) > OUTPUT_LIMIT
        return ok({**status, "output": text[:OUTPUT_LIMIT], "truncated": truncated})

    def cancel_task(args: dict[str, Any]) -> dict[str, Any]:
        name = name_of(args)
        if name is None:
            return fail("name is required", "invalid_arguments", "Provide the task name")

        try:
            record = cancel(namespace, name, "cancelled by the coordinator")
        except ShoalError as exc:
            return _failure(exc)
        if record is None:
            return fail(f"task {name} has already finished", "invalid_arguments")
        return ok(_status(record))

    def spec(name: str, description: str, properties: dict[str, Any], required: list[str]) -> ToolSpec:
        return ToolSpec(name, description, {"type": "object", "properties": properties, "required": required})


    builtins = {"web_search": web_search_tool, "web_fetch": web_fetch_tool}
    return ToolRegistry([
        *(builtins[name]() for name in SERVER_SIDE_BUILTINS),
        Tool(spec("create_ai_task", "Create an LLM-only task that works on a prompt; returns its name.",
                  {"prompt": {"type": "string", "description": "What the task should do"},
                   "agentRef": {"type": "string", "description": "An existing Agent to run it"},
                   "timeout": {"type": "string", "description": "A duration such as 30m"}}, ["prompt"]),
             create_ai_task),
        Tool(spec("check_task_progress", "The phase and message of a task, without waiting.", _NAME, ["name"]),
             check_task_progress),
        Tool(spec("wait_for_task", "Wait for a task to finish. Each call waits up to the timeout; call again "
                  "while it is still running.",
                  {**_NAME, "timeout": {"type": "integer", "description": "Seconds to wait (max 60, default 30)"}},
                  ["name"]), wait_for_task),
        Tool(spec("fetch_task_output", "The result of a finished task (first 2048 characters).", _NAME, ["name"]),
             fetch_task_output),
        Tool(spec("cancel_task", "Cancel a task that has not finished.", _NAME, ["name"]), cancel_task),
    ])
