"""What a job runs with.

- Its config over the namespace's global defaults (the singleton AiConfig, `/api/config/defaults`):
  `model`, `effort` and `executorImage` fill what the job (after its webhook source's layers) left
  unset, and `providers.<config.provider>.{model,effort}` fill them first for that provider.
  `executorResources` (checked when the defaults are saved) become the task's `resources`, the
  requests and limits of its executor Job's container. `executorImage` is kept for the record only:
  Shoal's executor runs its own worker image, which speaks the worker protocol.
- The task's `ai` settings that make the worker use that model: `model` (a labrats alias such as
  `opus` mapped to the provider's model name through MODEL_ALIASES and SHOAL_JOBS_MODEL_ALIASES), and
  `provider`: a named provider (SHOAL_LLM_PROVIDERS) called like the job's `config.provider`, else the
  configured provider of the kind that labrats provider is (claude → anthropic, codex → openai,
  vllm/gemma/qwen → openai-compatible, mock → mock); none of that kind is a 400 naming the field.
"""

from __future__ import annotations

import json
from typing import Any

from shared.config import get_settings
from shared.errors import Invalid
from shared.jobs import stores
from shared.llm.registry import named_providers, providers_of_kind

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
    if model:
        ai["model"] = model_aliases().get(model, model)
    elif ai:  # a provider without a model: its configured one
        entry = named_providers(get_settings()).get(ai["provider"]) or {}
        if not entry.get("model"):
            raise Invalid(f"config.model is required with config.provider {provider}: provider "
                          f"{ai['provider']} has no configured model")
        ai["model"] = entry["model"]
    return ai or None
