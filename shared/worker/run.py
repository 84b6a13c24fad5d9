"""The task worker: run an `ai`/`agent` task's agent loop and report through the internal API.

The executor sets the environment of shared.models.worker_contract (task, attempt, worker API);
the spec and the Agent/Skills/Tools the dispatcher resolved are read through the worker API
(shared/worker/inputs.py), and a heartbeat thread holds the attempt's lease (shared/worker/heartbeat.py).
The LLM provider comes from the usual settings.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from shared.agent.builtin import builtin_tools
from shared.agent.loop import run_agent
from shared.agent.tools import Tool, ToolRegistry
from shared.config import get_settings
from shared.llm.base import Message
from shared.llm.fallback import with_fallbacks
from shared.llm.registry import resolve
from shared.logs import get_logger
from shared.models.worker_contract import (
    AGENT_TOOL_NAMES,
    GITHUB_PR_TOOL_NAMES,
    MEMORY_TOOL_NAMES,
    SERVER_SIDE_WORKER_TOOLS,
    TASK_NAME_ENV,
    TASK_NAMESPACE_ENV,
    WORKSPACE_ENV,
    coordination_enabled,
    runtime_type,
)
from shared.observability import tracing
from shared.worker import heartbeat, inputs, session
from shared.worker.coordination import WorkerContext, coordination_tools
from shared.worker.remote_tools import catalog_tools, server_tools
from shared.worker.runtime_task import (
    CHANGES_ARTIFACT,
    TaskFailed,
    clone_workspace,
    run_runtime_task,
)
from shared.workerapi.client import InternalClient, worker_token

log = get_logger("worker")


def _settings(spec: dict, agent: dict) -> dict:
    """The effective ai settings: the dispatcher's resolution (task `ai` over agent) when present."""
    ai = dict(spec.get("ai") or {})
    for key in ("provider", "model", "systemPrompt", "temperature", "maxTokens", "modelFallbacks"):
        if key in agent:
            ai[key] = agent[key]
    return ai


def messages_for(spec: dict, agent: dict | None = None) -> list[Message]:
    ai = _settings(spec, agent or {})
    messages = []
    if ai.get("systemPrompt"):
        messages.append(Message(role="system", content=str(ai["systemPrompt"])))
    messages.append(Message(role="user", content=spec.get("prompt") or ""))
    return messages


def model_reference(spec: dict, agent: dict | None = None) -> str | None:
    ai = _settings(spec, agent or {})
    provider, model = ai.get("provider"), ai.get("model")
    if provider and model:
        return f"{provider}/{model}"
    return model or None


def completion_message(llm_calls: int, provider) -> str:
    """The status message of a finished task: the model that answered; every one when a fallback did."""
    if getattr(provider, "fell_back", False):
        models = ", ".join(dict.fromkeys(provider.answered))
        return f"completed in {llm_calls} LLM call(s) with {models} (model fallbacks used)"
    return f"completed in {llm_calls} LLM call(s) with {provider.kind}/{provider.model}"


def _tool_names(spec: dict, agent: dict) -> list[str] | None:
    if agent:
        return list(agent.get("tools") or []) or None
    wanted = spec.get("tools")
    return [t if isinstance(t, str) else t.get("name") for t in wanted] if isinstance(wanted, list) else None


def build_tools(spec: dict, client: InternalClient, namespace: str, name: str, workspace: Path,
                agent: dict | None = None) -> ToolRegistry:
    """Built-ins (all, or the ones named), the agent's catalog tools, and — with coordination — the
    coordination, memory and GitHub PR-loop tools; memory/GitHub tools named in `tools` are added too."""
    agent = agent or {}
    names = _tool_names(spec, agent)
    tools = builtin_tools(workspace, names)
    tools += catalog_tools(client, namespace, name, agent.get("catalogTools") or [])
    status, me = client.call("GET", f"/internal/v1/tasks/{namespace}/{name}")
    parent = (me or {}).get("labels", {}).get("orka.ai/parent-task") if status == 200 else None
    server_side = [n for n in names or [] if n in SERVER_SIDE_WORKER_TOOLS]
    # A delegated task can always talk to its siblings and parent; a top-level one opts in.
    if coordination_enabled(spec, agent) or parent:
        tools += coordination_tools(WorkerContext(client, namespace, name, parent,
                                                  wait_cap_seconds=max(1.0, get_settings().tool_timeout_seconds - 5)))
        server_side = [*MEMORY_TOOL_NAMES, *GITHUB_PR_TOOL_NAMES, *AGENT_TOOL_NAMES, *server_side]
    tools += server_tools(client, namespace, name, server_side)
    unique: dict[str, Tool] = {}
    for tool in tools:
        unique.setdefault(tool.spec.name, tool)
    return ToolRegistry(list(unique.values()))


PREVIEW_CHARS = 200


def _preview(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[:PREVIEW_CHARS - 1] + "…"


def progress_line(kind: str, data: dict) -> str | None:
    """One human-readable line of the tool loop's progress (the runtime path prints its own, in the
    same `[kind] …` form: shared/worker/runtime_task.py), or None for what a reader does not need."""
    if kind == "message":
        return str(data.get("content") or "").rstrip() or None
    if kind == "tool_call":
        return f"[tool_call] {data.get('name')} {_preview(json.dumps(data.get('args') or {}, default=str))}"
    if kind == "tool_result":
        return f"[tool_result] {data.get('name')}: {_preview(data.get('result') or '')}"
    if kind == "reprompt":
        return f"[reprompt] {_preview(data.get('content') or '')}"
    return None


def main() -> int:
    """Run the task of SHOAL_TASK_NAMESPACE/NAME; with tracing on, as one span in the dispatcher's trace."""
    namespace = os.environ[TASK_NAMESPACE_ENV]
    name = os.environ[TASK_NAME_ENV]
    try:
        with tracing.span("worker", kind="consumer", parent=os.environ.get(tracing.ENV_CARRIER),
                          attributes={"shoal.task.namespace": namespace, "shoal.task.name": name}):
            return _run(namespace, name)
    finally:
        tracing.flush()  # a Job's process ends here: export what is buffered


def _run(namespace: str, name: str) -> int:
    settings = get_settings()
    client = InternalClient(settings.internal_url, worker_token())
    heartbeat.start(client, namespace, name)
    scratch: Path | None = None  # a workspace this run made for itself, removed when it ends
    try:
        spec, agent = inputs.load(client, namespace, name)
        if spec.get("type") == "agent" and runtime_type(agent):
            return run_with_runtime(client, namespace, name, spec, agent)
        ai = _settings(spec, agent)
        provider = with_fallbacks(resolve(model_reference(spec, agent)), ai.get("modelFallbacks"))
        if os.environ.get(WORKSPACE_ENV):
            workspace = Path(os.environ[WORKSPACE_ENV])
        else:  # under make run every task's worker made one in /tmp and left it there
            workspace = scratch = Path(tempfile.mkdtemp(prefix=f"shoal-{name}-"))
        clone_workspace(spec, workspace)
        tools = build_tools(spec, client, namespace, name, workspace, agent)

        def observe(kind: str, data: dict) -> None:
            if kind in ("tool_call", "tool_result", "message"):
                client.post_event(namespace, name, kind, data)
            line = progress_line(kind, data)
            if line is not None:  # stdout is the job's log a person reads (JSON records go to stderr)
                print(line, flush=True)


        prompt = messages_for(spec, agent)
        system = [m for m in prompt if m.role == "system"]
        earlier = session.history(client, namespace, spec)
        result = run_agent(provider, system + earlier + prompt[len(system):], tools=tools,
                           max_iterations=settings.agent_max_iterations,
                           tool_timeout=settings.tool_timeout_seconds, max_tokens=int(ai.get("maxTokens", 4096)),
                           temperature=ai.get("temperature"), observe=observe)
        # This run's messages (its prompt onwards) go to the session transcript; the system prompt does not.
        session.save(client, namespace, spec, result.messages[len(system) + len(earlier):], name)
        client.post_result(namespace, name, result.text.encode())
        done = completion_message(result.llm_calls, provider)
        print(f"[done] {done}", flush=True)
        client.post_status(namespace, name, "Succeeded", done)
        log.info("task done", extra={"fields": {"task": name, "namespace": namespace,
                                                 "input_tokens": result.usage.input_tokens,
                                                 "output_tokens": result.usage.output_tokens}})
        return 0
    except TaskFailed as exc:
        print(f"[failed] {exc}", flush=True)
        client.post_status(namespace, name, "Failed", str(exc)[:1000])
        return 1
    except Exception as exc:
        log.exception("task failed", extra={"fields": {"task": name, "namespace": namespace}})
        print(f"[failed] {type(exc).__name__}: {exc}", flush=True)  # the traceback stays in the JSON record
        try:
            client.post_status(namespace, name, "Failed", f"{type(exc).__name__}: {exc}"[:1000])
        except Exception:
            log.exception("could not report failure")
        return 1
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def run_with_runtime(client: InternalClient, namespace: str, name: str, spec: dict, agent: dict) -> int:
    """An agent task whose Agent names a coding-agent runtime (`shared.worker.runtime_task`)."""

    try:
        outcome = run_runtime_task(client, namespace, name, spec, agent)
    except TaskFailed as exc:
        log.warning("runtime task failed", extra={"fields": {"task": name, "namespace": namespace}})
        client.post_status(namespace, name, "Failed", str(exc)[:1000])
        return 1
    except Exception as exc:
        log.exception("runtime task failed", extra={"fields": {"task": name, "namespace": namespace}})
        client.post_status(namespace, name, "Failed", f"{type(exc).__name__}: {exc}"[:1000])
        return 1
    if outcome.cancelled:
        return 0  # whoever cancelled the task has set its phase
    client.post_artifact(namespace, name, CHANGES_ARTIFACT, json.dumps(outcome.changes, indent=2).encode())
    client.post_result(namespace, name, outcome.text.encode())
    client.post_status(namespace, name, "Succeeded", outcome.message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
