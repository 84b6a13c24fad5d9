"""The task worker: run an `ai`/`agent` task's agent loop and report through the internal API.

Inputs come from the environment the executor sets (SHOAL_TASK_NAMESPACE, SHOAL_TASK_NAME,
SHOAL_TASK_SPEC as JSON, SHOAL_INTERNAL_URL); the LLM provider from the usual settings.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from shared.agent.loop import run_agent
from shared.agent.tools import ToolRegistry
from shared.config import get_settings
from shared.llm.base import Message
from shared.llm.registry import resolve
from shared.logs import get_logger
from shared.worker.internal_client import InternalClient, worker_token

log = get_logger("worker")


def messages_for(spec: dict) -> list[Message]:
    ai = spec.get("ai") or {}
    messages = []
    if ai.get("systemPrompt"):
        messages.append(Message(role="system", content=str(ai["systemPrompt"])))
    messages.append(Message(role="user", content=spec.get("prompt") or ""))
    return messages


def model_reference(spec: dict) -> str | None:
    ai = spec.get("ai") or {}
    provider, model = ai.get("provider"), ai.get("model")
    if provider and model:
        return f"{provider}/{model}"
    return model or None


def coordination_enabled(spec: dict) -> bool:
    ai = spec.get("ai") or {}
    return bool((ai.get("coordination") or {}).get("enabled") or (spec.get("coordination") or {}).get("enabled"))


def build_tools(spec: dict, client: InternalClient, namespace: str, name: str, workspace: Path) -> ToolRegistry:
    """Built-ins (all, or the ones `spec.tools` names) plus coordination tools when enabled."""
    from shared.agent.builtin import builtin_tools

    wanted = spec.get("tools")
    names = [t if isinstance(t, str) else t.get("name") for t in wanted] if isinstance(wanted, list) else None
    tools = builtin_tools(workspace, names)
    status, me = client.call("GET", f"/internal/v1/tasks/{namespace}/{name}")
    parent = (me or {}).get("labels", {}).get("orka.ai/parent-task") if status == 200 else None
    # A delegated task can always talk to its siblings and parent; a top-level one opts in.
    if coordination_enabled(spec) or parent:
        from shared.agent.coordination import WorkerContext, coordination_tools

        tools += coordination_tools(WorkerContext(client, namespace, name, parent,
                                                  wait_cap_seconds=max(1.0, get_settings().tool_timeout_seconds - 5)))
    return ToolRegistry(tools)


def main() -> int:
    namespace = os.environ["SHOAL_TASK_NAMESPACE"]
    name = os.environ["SHOAL_TASK_NAME"]
    spec = json.loads(os.environ.get("SHOAL_TASK_SPEC", "{}"))
    settings = get_settings()
    client = InternalClient(settings.internal_url, worker_token())
    try:
        provider = resolve(model_reference(spec))
        ai = spec.get("ai") or {}
        workspace = Path(os.environ.get("SHOAL_WORKSPACE") or tempfile.mkdtemp(prefix=f"shoal-{name}-"))
        tools = build_tools(spec, client, namespace, name, workspace)

        def observe(kind: str, data: dict) -> None:
            if kind in ("tool_call", "tool_result", "message"):
                client.post_event(namespace, name, kind, data)

        from shared.worker import session

        prompt = messages_for(spec)
        system = [m for m in prompt if m.role == "system"]
        earlier = session.history(client, namespace, spec)
        result = run_agent(provider, system + earlier + prompt[len(system):], tools=tools,
                           max_iterations=settings.agent_max_iterations,
                           tool_timeout=settings.tool_timeout_seconds, max_tokens=int(ai.get("maxTokens", 4096)),
                           temperature=ai.get("temperature"), observe=observe)
        # This run's messages (its prompt onwards) go to the session transcript; the system prompt does not.
        session.save(client, namespace, spec, result.messages[len(system) + len(earlier):], name)
        client.post_result(namespace, name, result.text.encode())
        client.post_status(namespace, name, "Succeeded",
                           f"completed in {result.llm_calls} LLM call(s) with {provider.kind}/{provider.model}")
        log.info("task done", extra={"fields": {"task": name, "namespace": namespace,
                                                 "input_tokens": result.usage.input_tokens,
                                                 "output_tokens": result.usage.output_tokens}})
        return 0
    except Exception as exc:
        log.exception("task failed", extra={"fields": {"task": name, "namespace": namespace}})
        try:
            client.post_status(namespace, name, "Failed", f"{type(exc).__name__}: {exc}"[:1000])
        except Exception:
            log.exception("could not report failure")
        return 1


if __name__ == "__main__":
    sys.exit(main())
