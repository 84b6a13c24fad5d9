"""What a job runs with.

- Its config over the namespace's global defaults (the singleton AiConfig, `/api/config/defaults`):
  `model`, `effort` and `executorImage` fill what the job (after its webhook source's layers) left
  unset, and `providers.<config.provider>.{model,effort}` fill them first for that provider.
  `executorResources` (checked when the defaults are saved) become the task's `resources`, the
  requests and limits of its executor Job's container.
- `executorImage` becomes the task's `executorImage`: the Kubernetes executor runs the worker in it when
  SHOAL_JOBS_EXECUTOR_IMAGES allows it (an image it does not allow is a 400 naming the field); the
  local executor runs no images, so the job records a note instead (and its log says so).
- `effort` becomes the task's `ai.effort`. A coding-agent runtime applies it (its own reasoning-effort
  setting, shared/runtimes/profiles.py); a job runs on a runtime when its agent (`agentRole`, the
  agent's trigger name) has `runtime.type`, as an `agent` task of that agent. On the tool-calling loop
  the provider call has no effort setting that every model accepts, so the job records a note.
- The task's `ai` settings that make the worker use that model: `model` (a labrats alias such as
  `opus` mapped to the provider's model name through MODEL_ALIASES and SHOAL_JOBS_MODEL_ALIASES), and
  `provider`: a named provider (SHOAL_LLM_PROVIDERS) called like the job's `config.provider`, else the
  configured provider of the kind that labrats provider is (claude → anthropic, codex → openai,
  vllm/gemma/qwen → openai-compatible, mock → mock); none of that kind is a 400 naming the field.
"""

from __future__ import annotations

import json
from typing import Any

from shared.catalog.stores import agents
from shared.config import get_settings
from shared.errors import Invalid
from shared.executor.images import LOCAL_NOTE, refusal
from shared.jobs import agents as agent_model
from shared.jobs import stores
from shared.llm.registry import named_providers, providers_of_kind
from shared.models.worker_contract import runtime_type
from shared.store import Record

# labrats' (Claude Code's) model aliases → model names the providers accept. SHOAL_JOBS_MODEL_ALIASES
# adds to or replaces entries; a name that is no alias is passed through as it is.
MODEL_ALIASES = {"opus": "claude-opus-4-1", "sonnet": "claude-sonnet-4-5", "haiku": "claude-haiku-4-5",
                 "opusplan": "claude-opus-4-1", "sonnet[1m]": "claude-sonnet-4-5"}
# A labrats provider → the provider type that serves it in Shoal.
PROVIDER_KINDS = {"claude": "anthropic", "codex": "openai", "vllm": "openai-compatible",
                  "gemma": "openai-compatible", "qwen": "openai-compatible", "mock": "mock"}

_GLOBAL_FIELDS = ("model", "effort", "executorImage")
_PROVIDER_FIELDS = ("model", "effort")


def _strings(source: Any, keys: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(source, dict):
        return {}
    return {k: source[k] for k in keys if isinstance(source.get(k), str) and source[k]}


def effective_config(namespace: str, config: dict[str, Any]) -> dict[str, Any]:
    record = stores.ai_config.get(namespace, stores.CONFIG_NAME)
    defaults = record.doc if record else {}
    layered: dict[str, Any] = _strings(defaults, _GLOBAL_FIELDS)
    if isinstance(defaults.get("executorResources"), dict) and defaults["executorResources"]:
        layered["executorResources"] = defaults["executorResources"]
    provider = config.get("provider")
    if provider:
        layered.update(_strings((defaults.get("providers") or {}).get(provider), _PROVIDER_FIELDS))
    return {**layered, **config}


def model_aliases() -> dict[str, str]:
    raw = get_settings().jobs_model_aliases.strip()
    try:
        extra = json.loads(raw) if raw else {}
    except ValueError:
        raise Invalid("SHOAL_JOBS_MODEL_ALIASES is not valid JSON") from None
    if not isinstance(extra, dict) or not all(isinstance(v, str) and v for v in extra.values()):
        raise Invalid("SHOAL_JOBS_MODEL_ALIASES must map aliases to model names")
    return {**MODEL_ALIASES, **extra}


def _provider_name(provider: str) -> str:
    """The configured provider that runs a labrats provider (see the module docstring)."""
    settings = get_settings()
    if provider in named_providers(settings):
        return provider
    kind = PROVIDER_KINDS[provider]
    found = providers_of_kind(kind, settings=settings)
    if not found:
        raise Invalid(f"config.provider {provider} needs a configured {kind} provider "
                      "(SHOAL_LLM_PROVIDER or SHOAL_LLM_PROVIDERS); none is")
    return found[0].rstrip("/")


def task_ai(config: dict[str, Any]) -> dict[str, str] | None:
    model, provider = config.get("model"), config.get("provider")
    ai: dict[str, str] = {}
    if provider:
        name = _provider_name(provider)
        if name != "default":
            ai["provider"] = name
    if config.get("effort"):  # applied by a coding-agent runtime (shared/runtimes/profiles.py)
        ai["effort"] = config["effort"]
    if model:
        ai["model"] = model_aliases().get(model, model)
    elif "provider" in ai:  # a provider without a model: its configured one
        entry = named_providers(get_settings()).get(ai["provider"]) or {}
        if not entry.get("model"):
            raise Invalid(f"config.model is required with config.provider {provider}: provider "
                          f"{ai['provider']} has no configured model")
        ai["model"] = entry["model"]
    return ai or None


EFFORT_LOOP_NOTE = ("config.effort is not applied: this job runs Shoal's tool-calling loop, whose provider call "
                    "has no effort setting every model accepts; give the job an agent with a coding-agent "
                    "runtime (runtime.type) to apply it")


def runtime_agent(namespace: str, agent_role: str | None) -> Record | None:
    """The job's agent (by trigger name) when it runs a coding-agent runtime; one partition Query."""
    if not agent_role:
        return None
    records, _ = agents.list_page(namespace, limit=None)
    found = next((r for r in records if agent_model.trigger_name(r) == agent_role), None)
    return found if found is not None and runtime_type(found.doc.get("spec")) else None


def check_executor_image(image: str, field: str, origin: str = "") -> None:
    """A 400 naming `field` for an image the Kubernetes executor would refuse (the local one runs none)."""
    reason = None if get_settings().executor == "local" else refusal(image)
    if reason:
        raise Invalid(f"{field} {reason}{origin}")


def executor_fields(namespace: str, job: dict[str, Any], own: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """What the job's effort, executorImage and agent add to its task's spec, and the notes the job
    records for settings this deployment cannot apply. `own` is the job's config before the global
    defaults (a refused default image is named as such)."""
    config, body, notes = job["config"], {}, []
    image = config.get("executorImage")
    if image and get_settings().executor == "local":
        notes.append(f"config.executorImage is not applied: {LOCAL_NOTE}")
    elif image:
        origin = "" if own.get("executorImage") == image else " (from /api/config/defaults)"
        check_executor_image(image, "config.executorImage", origin)
        body["executorImage"] = image
    agent = runtime_agent(namespace, job.get("agentRole"))
    if agent is not None:
        body.update({"type": "agent", "agentRef": {"name": agent.name}})
    elif config.get("effort"):
        notes.append(EFFORT_LOOP_NOTE)
    return body, notes
