"""Event triggers and chains: which agents an event starts, and the next link when a job finishes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from shared.auth.principal import Principal
from shared.catalog.stores import agents
from shared.config import get_settings
from shared.jobs import agents as agent_model
from shared.jobs import stores
from shared.jobs.instructions import resolve_for_agent
from shared.jobs.model import DEFAULT_PRIORITY, job_fields
from shared.jobs.source_config import for_repo
from shared.jobs.submit import _config, create_job
from shared.logs import get_logger
from shared.store import Record, idempotency

log = get_logger("jobs.triggers")
PAYLOAD_PROMPT_CHARS = 20_000
RESULT_PROMPT_CHARS = 20_000


def system_principal(namespace: str, who: str) -> Principal:
    """The identity jobs started by events and chains are created under."""
    return Principal(kind="system", subject=f"system:shoal:{who}", username=f"system:shoal:{who}",
                     namespace=namespace)


def all_agents(namespace: str) -> list[Record]:
    records, _ = agents.list_page(namespace, limit=None)  # one partition Query, paged inside
    return records


def find_by_trigger(namespace: str, name: str) -> Record | None:
    return next((r for r in all_agents(namespace) if agent_model.trigger_name(r) == name), None)


def _event_matches(patterns: list[str], event: str) -> bool:
    for pattern in patterns:
        if pattern in ("*", event) or (pattern.endswith(".*") and event.startswith(pattern[:-1])):
            return True
    return False


def _lookup(payload: Any, path: str) -> Any:
    aliases = {"label": "label.name", "repo": "repository.full_name", "repository": "repository.full_name",
               "sender": "sender.login"}
    value = payload
    for part in aliases.get(path, path).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _filters_match(filters: dict[str, Any], payload: Any) -> bool:
    """Every filter must hold: a list means "one of", a scalar means "equal to"."""
    for path, expected in (filters or {}).items():
        actual = _lookup(payload, path)
        if isinstance(expected, list):
            if actual not in expected:
                return False
        elif actual != expected:
            return False
    return True


def trigger_matches(trigger: dict[str, Any], source: str | None, event: str | None, payload: Any = None) -> bool:
    if trigger.get("enabled", True) is False:
        return False
    if source is not None and trigger.get("source") != source:
        return False
    if event is not None and not _event_matches(trigger.get("events") or [], event):
        return False
    return payload is None or _filters_match(trigger.get("filters") or {}, payload)


def matching(namespace: str, source: str | None, event: str | None, payload: Any = None
             ) -> list[tuple[Record, dict[str, Any]]]:
    """(agent, first matching trigger) for every enabled agent with a matching enabled trigger."""
    found = []
    for record in all_agents(namespace):
        if not agent_model.enabled(record):
            continue
        for trigger in record.doc.get("spec", {}).get("eventTriggers") or []:
            if trigger_matches(trigger, source, event, payload):
                found.append((record, trigger))
                break
    return found


def _instruction_text(namespace: str, name: str | None) -> str:
    if not name:
        return ""
    record = stores.instructions.get(namespace, name)
    return record.doc.get("content", "") if record else name


def _job_for(agent: Record, trigger: dict[str, Any] | None, *, source: str, event: str, payload: Any,
             context: str = "", source_doc: dict[str, Any] | None = None, repo: str | None = None) -> dict[str, Any]:
    spec = agent.doc.get("spec", {})
    config = {k: v for k, v in {"model": spec.get("defaultModel") or spec.get("model"),
                                "effort": spec.get("defaultEffort"),
                                "provider": spec.get("defaultProvider")}.items() if v}
    if repo is None and isinstance(payload, dict):
        repo = _lookup(payload, "repo")
    # The webhook source's defaults and its override for this repository (source_config.py).
    settings = for_repo(source_doc, repo if isinstance(repo, str) else None)
    priority = settings.pop("priority", DEFAULT_PRIORITY)
    config.update(settings)
    config.update((trigger or {}).get("config") or {})
    parts = [i["content"] for i in resolve_for_agent(agent.namespace, agent) if i.get("content")]
    instruction = _instruction_text(agent.namespace, (trigger or {}).get("instruction"))
    if instruction:
        parts.append(instruction)
    parts.append(f"Event: {source} {event}")
    if payload is not None:
        parts.append("Payload:\n" + json.dumps(payload, indent=1, default=str)[:PAYLOAD_PROMPT_CHARS])
    if context:
        parts.append(context)
    metadata = {"event": event, "agent": agent.name}
    if repo:
        metadata["repo"] = repo
    number = _lookup(payload, "issue.number") or _lookup(payload, "pull_request.number")
    if number:
        metadata["number"] = number
    clone = _lookup(payload, "repository.clone_url") if isinstance(payload, dict) else None
    return {"source": source, "type": (trigger or {}).get("instruction") or event, "prompt": "\n\n".join(parts),
            "errors": None, "priority": priority, "agentRole": agent_model.trigger_name(agent),
            "workspaceSetup": {"gitRepo": clone} if clone else None, "workspaceFiles": [], "workspaceUploads": [],
            "config": _config(config), "callbackUrl": None, "pipeline": None, "metadata": metadata}


def start_from_event(namespace: str, source: str, event: str, payload: Any, principal: Principal,
                     webhook_source: Record | None = None) -> list[dict[str, str]]:
    """One job per matching agent; each starts a chain of its own. `webhook_source` is the enabled
    webhook source the event came through, whose defaults/repoOverrides shape the jobs (and, by its
    name kept on the job, the later links of their chains)."""
    source_doc = webhook_source.doc if webhook_source is not None else None
    via = {"webhookSource": webhook_source.name} if webhook_source is not None else {}
    started = []
    for agent, trigger in matching(namespace, source, event, payload):
        job = _job_for(agent, trigger, source=source, event=event, payload=payload, source_doc=source_doc)
        chain = {"chainId": str(uuid.uuid4()), "chainDepth": 0, "parentJobId": None,
                 "chainPath": [agent_model.trigger_name(agent)], "next": trigger.get("next"),
                 "event": event}
        record = create_job(job, principal, chain=chain, trigger={"source": source, "event": event,
                                                                   "agent": agent.name, **via})
        started.append({"jobId": record.name, "agent": agent.name})
    return started


def _enabled_source(namespace: str, name: str | None) -> dict[str, Any] | None:
    """The webhook source a chain started from, if it still exists and is enabled (its current settings)."""
    if not name:
        return None

    record = stores.webhook_sources.get(namespace, name)
    return record.doc if record is not None and record.doc.get("enabled", True) is not False else None


def _should_continue(phase: str, nxt: dict[str, Any]) -> bool:
    condition, policy = nxt.get("condition", "on-success"), nxt.get("failurePolicy", "stop")
    if phase == "Succeeded":
        return condition in ("on-success", "always")
    if phase == "Failed":
        return condition in ("on-failure", "always") or policy == "continue"
    return False  # Cancelled ends a chain


def continue_chain(record: Record, result: str | None) -> str | None:
    """Start the next link of a finished job's chain; the new job id, or None when the chain ends."""
    job = job_fields(record)
    chain = (job or {}).get("chain") or {}
    nxt = chain.get("next")
    phase = record.doc.get("status", {}).get("phase")
    if not nxt or not _should_continue(phase, nxt):
        return None
    depth = int(chain.get("chainDepth", 0)) + 1
    if depth >= get_settings().jobs_max_chain_depth:
        log.warning("chain depth limit reached", extra={"fields": {"job": record.name, "chain": chain.get("chainId")}})
        return None
    agent = find_by_trigger(record.namespace, nxt["agentTriggerName"])
    if agent is None or not agent_model.enabled(agent):
        log.warning("chain target missing or disabled", extra={"fields": {"job": record.name,
                                                                          "next": nxt["agentTriggerName"]}})
        return None
    # One next link per job, even when a retried job finishes twice.
    key = f"chain#{record.namespace}/{record.name}"
    if idempotency.claim(key) is not idempotency.Claim.CLAIMED:
        return None
    with idempotency.held(key):
        event = chain.get("event") or "chain"
        triggers = [t for t in agent.doc.get("spec", {}).get("eventTriggers") or [] if t.get("enabled", True)]
        trigger = next((t for t in triggers if _event_matches(t.get("events") or [], "chain")), None) or \
            next((t for t in triggers if _event_matches(t.get("events") or [], event)), None) or \
            (triggers[0] if triggers else None)
        context = (f"Previous step: job {record.name} ({(job or {}).get('agentRole')}) finished with phase {phase}."
                   + (f"\nIts result:\n{result[:RESULT_PROMPT_CHARS]}" if result else ""))
        via = ((job or {}).get("trigger") or {}).get("webhookSource")
        repo = ((job or {}).get("metadata") or {}).get("repo")
        new_job = _job_for(agent, trigger, source=(job or {}).get("source") or "chain", event=event, payload=None,
                           context=context, source_doc=_enabled_source(record.namespace, via),
                           repo=repo if isinstance(repo, str) else None)
        new_job["metadata"].update({k: v for k, v in ((job or {}).get("metadata") or {}).items()
                                    if k in ("repo", "number")})
        new_job["workspaceSetup"] = (job or {}).get("workspaceSetup")
        new_chain = {"chainId": chain.get("chainId"), "chainDepth": depth, "parentJobId": record.name,
                     "chainPath": [*(chain.get("chainPath") or []), agent_model.trigger_name(agent)],
                     "next": (trigger or {}).get("next"), "event": event}
        created = create_job(new_job, system_principal(record.namespace, "reactor"), chain=new_chain,
                             trigger={"source": "chain", "event": event, "agent": agent.name,
                                      **({"webhookSource": via} if via else {})})
    return created.name
