"""The provider registry: named providers from configuration, a `default` one always.

Resolution of a model reference: "provider/model" picks a named provider and overrides its model;
a bare "model" keeps the default provider with that model; nothing gives the default as configured.
A configured provider that cannot be built is an error, never a silent fallback to the mock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.config import get_settings
from shared.errors import Invalid
from shared.llm.base import Provider

if TYPE_CHECKING:
    from shared.settings import Settings

DEFAULT_MODELS = {"mock": "shoal-mock", "openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5",
                  "openai-compatible": None}


def build_provider(kind: str, *, name: str, model: str | None, settings: Settings) -> Provider:
    model = model or settings.llm_model or DEFAULT_MODELS.get(kind)
    if kind == "mock":
        from shared.llm.mock import MockProvider

        return MockProvider(name, model)
    if kind == "openai":
        if not settings.openai_api_key:
            raise Invalid("provider openai is configured but OPENAI_API_KEY is not set")
        from shared.llm.openai_provider import OpenAIProvider

        return OpenAIProvider(name, model, api_key=settings.openai_api_key, base_url=settings.llm_base_url,
                              timeout=settings.llm_timeout_seconds)
    if kind == "openai-compatible":
        if not settings.llm_base_url or not model:
            raise Invalid("provider openai-compatible needs SHOAL_LLM_BASE_URL and SHOAL_LLM_MODEL")
        from shared.llm.openai_provider import OpenAIProvider

        return OpenAIProvider(name, model, api_key=settings.openai_api_key, base_url=settings.llm_base_url,
                              kind="openai-compatible", timeout=settings.llm_timeout_seconds)
    if kind == "anthropic":
        if not settings.anthropic_api_key:
            raise Invalid("provider anthropic is configured but ANTHROPIC_API_KEY is not set")
        from shared.llm.anthropic_provider import AnthropicProvider

        return AnthropicProvider(name, model, api_key=settings.anthropic_api_key, base_url=settings.llm_base_url,
                                 timeout=settings.llm_timeout_seconds)
    raise Invalid(f"unknown provider type {kind!r}")


def resolve(reference: str | None = None, *, settings: Settings | None = None) -> Provider:
    """The provider for a model reference (see the module docstring)."""
    settings = settings or get_settings()
    if reference and "/" in reference:
        provider_name, model = reference.split("/", 1)
        if provider_name not in ("default", settings.llm_provider):
            raise Invalid(f'failed to resolve provider: unknown provider "{provider_name}"')
        return build_provider(settings.llm_provider, name="default", model=model or None, settings=settings)
    return build_provider(settings.llm_provider, name="default", model=reference or None, settings=settings)


def describe_default(settings: Settings | None = None) -> dict[str, str | None]:
    """Name and model of the default provider, without building it (for /readyz)."""
    settings = settings or get_settings()
    model = settings.llm_model or DEFAULT_MODELS.get(settings.llm_provider)
    return {"provider": settings.llm_provider, "model": model}
