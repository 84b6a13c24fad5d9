"""The worker coordination tools `create_agent` and `delete_agent` (spec: coordination tools table).

They run server-side (the worker has no store), through `POST /internal/v1/worker-tools/<ns>/<tool>/call`,
bound to the calling task, and only in the task's own namespace:
- `create_agent` — `name`, `provider`, `model` (required); `systemPrompt`, `tools`, `coordination`:
  an Agent of the catalog's one shape, labelled as Orka labels agents a task creates
  (`orka.ai/created-by: create_agent`, `orka.ai/parent-task: <task>`);
- `delete_agent` — `name` (required), `namespace` (the task's own, if given): only an agent this task
  created with `create_agent` (`shared.catalog.stores.created_by_task`, the rule `allowedAgents` uses too),
  so a worker cannot delete the platform's agents or another task's.
Results use Orka's tool-result shape; refusals are `{"success": false, ...}` results, not HTTP errors.
"""

from __future__ import annotations

from typing import Any

from shared.agent.tools import Tool
from shared.catalog import crd
from shared.catalog.agents import agents, validate_spec
from shared.catalog.stores import (
    CREATED_BY_LABEL,
    PARENT_TASK_ANNOTATION,
    PARENT_TASK_LABEL,
    created_by_task,
    parent_task,
)
from shared.errors import Invalid
from shared.llm.base import ToolSpec
from shared.store import AlreadyExists


def _fail(error: str, error_type: str, suggestion: str = "") -> dict[str, Any]:
    return {"success": False, "error": error, "errorType": error_type, "suggestion": suggestion}


def _text(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{key} is required")
    return value.strip()


def _other_namespace(args: dict[str, Any], namespace: str) -> dict[str, Any] | None:
    wanted = args.get("namespace")
    if wanted in (None, "", namespace):
        return None
    return _fail(f'namespace "{wanted}" not allowed, restricted to "{namespace}"', "permission_denied",
                 "Omit namespace: agents are created in the task's own namespace")


def agent_tools(namespace: str, task: str) -> list[Tool]:
    def create_agent(args: dict[str, Any]) -> dict[str, Any]:
        refused = _other_namespace(args, namespace)
        if refused:
            return refused
        try:
            name = crd.check_name(_text(args, "name"))
            spec: dict[str, Any] = {"provider": _text(args, "provider"), "model": _text(args, "model")}
            for key in ("systemPrompt", "tools", "coordination"):
                if args.get(key) is not None:
                    spec[key] = args[key]
            spec = validate_spec(spec)
        except Invalid as exc:
            return _fail(exc.message, "invalid_arguments")
        parsed = crd.Parsed(name, namespace, {CREATED_BY_LABEL: "create_agent", PARENT_TASK_LABEL: task},
                            {PARENT_TASK_ANNOTATION: task}, spec)

        try:
            agents.create(namespace, name, crd.new_document("Agent", parsed, name, spec, {"phase": "Ready"}))
        except AlreadyExists:
            return _fail(f'agent "{name}" already exists in namespace "{namespace}"', "already_exists",
                         "Choose another name")
        return {"success": True, "data": {"agentName": name, "namespace": namespace, "status": "created"}}

    def delete_agent(args: dict[str, Any]) -> dict[str, Any]:
        refused = _other_namespace(args, namespace)
        if refused:
            return refused
        try:
            name = _text(args, "name")
        except Invalid as exc:
            return _fail(exc.message, "invalid_arguments")
        record = agents.get(namespace, name)
        if record is None:
            return _fail(f'agent "{name}" not found in namespace "{namespace}"', "not_found")
        if not created_by_task(record.doc, task):
            owner = parent_task(record.doc)  # Orka's wording: the owner and the caller, Go-quoted
            return _fail(f'cannot delete agent {namespace}/{name}: not owned by current task (owner: "{owner}", '
                         f'current: "{task}")', "permission_denied",
                         "Only agents this task created with create_agent can be deleted")
        agents.delete(namespace, name)
        return {"success": True, "data": {"name": name, "status": "deleted"}}

    def spec(name: str, description: str, properties: dict[str, Any], required: list[str]) -> ToolSpec:
        return ToolSpec(name, description, {"type": "object", "properties": properties, "required": required})

    return [
        Tool(spec("create_agent", "Create an Agent at runtime (in this task's namespace)", {
            "name": {"type": "string", "description": "Lowercase RFC 1123 name"},
            "provider": {"type": "string"}, "model": {"type": "string"},
            "systemPrompt": {"type": "string"}, "tools": {"type": "array", "items": {"type": "string"}},
            "coordination": {"type": "object", "properties": {"enabled": {"type": "boolean"}}}},
            ["name", "provider", "model"]), create_agent),
        Tool(spec("delete_agent", "Delete an Agent this task created", {
            "name": {"type": "string"}, "namespace": {"type": "string"}}, ["name"]), delete_agent),
    ]
