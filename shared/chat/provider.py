"""Which provider and model a chat request uses: request fields, then its agentRef, then chat defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.chat.catalog_tools import agents
from shared.errors import Invalid
from shared.llm.base import Provider
from shared.llm.fallback import with_fallbacks
from shared.llm.registry import resolve


@dataclass
class Resolved:
    provider: Provider
    temperature: float | None
    runtime: str | None  # the agentRef's runtime type, if it has one


def resolve_chat_provider(body: dict[str, Any], namespace: str, *, default_provider: str, default_model: str
                          ) -> Resolved:
    """The provider for a chat; Invalid("failed to resolve provider: …") when it cannot be built."""
    provider_name = body.get("provider") or ""
    model = body.get("model") or ""
    temperature = body.get("temperature")
    runtime = None
    fallbacks = None
    agent_ref = body.get("agentRef")
    if agent_ref:
        record = agents.get(namespace, agent_ref)
        if record is None:
            raise Invalid(f'failed to resolve provider: agent "{agent_ref}" not found in namespace "{namespace}"')
        spec = record.doc.get("spec") or {}
        # The catalog's one agent shape (shared.models.agent): provider/providerRef, model, temperature.
        provider_ref = spec.get("providerRef") if isinstance(spec.get("providerRef"), dict) else {}
        provider_name = provider_name or spec.get("provider") or provider_ref.get("name") or ""
        model = model or (spec.get("model") if isinstance(spec.get("model"), str) else "") or ""
        if temperature is None and isinstance(spec.get("temperature"), int | float):
            temperature = float(spec["temperature"])
        if isinstance(spec.get("runtime"), dict):
            runtime = spec["runtime"].get("type")
        fallbacks = spec.get("modelFallbacks")  # Orka's spec.model.fallbacks, tried when the model is down
    provider_name = provider_name or default_provider
    model = model or default_model
    reference = f"{provider_name}/{model}" if provider_name else (model or None)
    try:
        provider = resolve(reference)
    except Invalid as exc:
        message = exc.message
        prefix = "failed to resolve provider: "
        raise Invalid(message if message.startswith(prefix) else prefix + message) from None
    return Resolved(with_fallbacks(provider, fallbacks), temperature, runtime)
