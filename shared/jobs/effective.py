"""What a job runs with.

- Its config over the namespace's global defaults (the singleton AiConfig, `/api/config/defaults`):
  `model`, `effort` and `executorImage` fill what the job (after its webhook source's layers) left
  unset, and `providers.<config.provider>.{model,effort}` fill them first for that provider.
  `executorResources` (checked when the defaults are saved) become the task's `resources`, the
  requests and limits of its executor Job's container. `executorImage` is kept for the record only:
  Shoal's executor runs its own worker image, which speaks the worker protocol.
- The task's `ai` settings that make the worker use that model: `model`, and `provider` when the job's
  provider is one of this deployment's named providers (SHOAL_LLM_PROVIDERS); otherwise the model
  runs on the default provider.
"""

from __future__ import annotations

from typing import Any

from shared.config import get_settings
from shared.jobs import stores
from shared.llm.registry import named_providers

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


def task_ai(config: dict[str, Any]) -> dict[str, str] | None:
    model = config.get("model")
    if not model:
        return None
    ai = {"model": model}
    provider = config.get("provider")
    if provider and provider in named_providers(get_settings()):
        ai["provider"] = provider
    return ai
