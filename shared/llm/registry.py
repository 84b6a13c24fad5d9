"""The provider registry: named providers from configuration, a `default` one always.

Resolution of a model reference: "provider/model" picks a named provider and overrides its model;
a bare "model" keeps the default provider with that model; nothing gives the default as configured.
A configured provider that cannot be built is an error, never a silent fallback to the mock.

Built providers are cached here, for every caller (chat, compat, analyze, incidents, the worker):
building one builds an SDK client (an HTTP pool, a TLS context), ~100 ms, more than a proxied call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from shared.config import get_settings
from shared.errors import Invalid
from shared.llm.base import Provider
from shared.llm.measured import Measured

if TYPE_CHECKING:
    from shared.settings import Settings

DEFAULT_MODELS = {"mock": "shoal-mock", "openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5",
                  "openai-compatible": None, "azure-openai": None, "ollama": None,
                  "mistral": "mistral-large-latest", "tgi": "tgi", "bedrock": None,
                  "vertex-anthropic": None, "gemini": "gemini-2.5-flash", "vertex-gemini": "gemini-2.5-flash"}
# OpenAI-compatible servers with a known endpoint (None: the base URL must be configured).
COMPATIBLE_ENDPOINTS = {"ollama": "http://localhost:11434/v1", "mistral": "https://api.mistral.ai/v1", "tgi": None}

_CACHE_SIZE = 32  # clients may name any model: keep the cache bounded (least recently used goes)
_cache_lock = threading.Lock()
_cache: dict[str, object] = {"settings": None, "providers": OrderedDict()}


def _cached(key: tuple, settings: Settings, build) -> Provider:
    """The provider for `key` under `settings`, built once. A new settings object (a reset) drops all."""
    with _cache_lock:
        if _cache["settings"] is not settings:
            _cache.update(settings=settings, providers=OrderedDict())
        providers: OrderedDict = _cache["providers"]  # type: ignore[assignment]
        provider = providers.get(key)
        if provider is not None:
            providers.move_to_end(key)
            return provider
    provider = build()  # outside the lock: a slow build never blocks another model's lookup
    with _cache_lock:
        if _cache["settings"] is settings:
            provider = providers.setdefault(key, provider)
            while len(providers) > _CACHE_SIZE:
                providers.popitem(last=False)
    return provider


def clear_provider_cache() -> None:
    """Forget every built provider (tests; a credentials rotation)."""
    with _cache_lock:
        _cache.update(settings=None, providers=OrderedDict())


def build_provider(kind: str, *, name: str, model: str | None, settings: Settings,
                   api_key: str | None = None, base_url: str | None = None,
                   default_model: str | None = None) -> Provider:
    """A provider of type `kind`. Keys and base URL default to the `default` entry's settings."""
    model = model or default_model or settings.llm_model or DEFAULT_MODELS.get(kind)
    base_url = base_url or settings.llm_base_url
    if kind == "mock":  # never cached: it reads SHOAL_MOCK_SCRIPT when built
        from shared.llm.mock import MockProvider  # loaded with the provider it builds, as the SDK ones

        return Measured(MockProvider(name, model))
    # The key holds the resolved identity; the api key too, since a named provider's comes from its
    # own environment variable, outside the settings object (kept in memory only, never logged).
    key = (kind, name, model, base_url, api_key)
    return _cached(key, settings, lambda: Measured(_build(kind, name=name, model=model, settings=settings,
                                                          api_key=api_key, base_url=base_url)))


def _required_key(key: str | None, *, name: str, kind: str, env: str) -> str:
    """The provider's API key, or the 400 that names the provider and the variable to set."""
    if not key:
        raise Invalid(f"provider {name if name != 'default' else kind} is configured but {env} is not set")
    return key


def _build(kind: str, *, name: str, model: str | None, settings: Settings, api_key: str | None,
           base_url: str | None) -> Provider:
    if kind == "openai":
        key = _required_key(api_key or settings.openai_api_key, name=name, kind="openai", env="OPENAI_API_KEY")
        from shared.llm.openai_provider import (
            OpenAIProvider,  # the openai SDK: only when this provider is used
        )

        return OpenAIProvider(name, model, api_key=key, base_url=base_url, timeout=settings.llm_timeout_seconds)
    if kind == "openai-compatible":
        if not base_url or not model:
            raise Invalid("provider openai-compatible needs SHOAL_LLM_BASE_URL and SHOAL_LLM_MODEL")
        from shared.llm.openai_provider import (
            OpenAIProvider,  # the openai SDK: only when this provider is used
        )

        base_url = with_v1(base_url)
        return OpenAIProvider(name, model, api_key=api_key or settings.openai_api_key, base_url=base_url,
                              kind="openai-compatible", timeout=settings.llm_timeout_seconds)
    if kind in COMPATIBLE_ENDPOINTS:
        return _compatible(kind, name=name, model=model, settings=settings, api_key=api_key, base_url=base_url)
    if kind == "bedrock":
        if not model:
            raise Invalid("provider bedrock needs SHOAL_LLM_MODEL (a Bedrock model id or inference profile)")
        from shared.llm.bedrock_provider import BedrockAnthropicProvider

        return BedrockAnthropicProvider(name, model, region=settings.aws_region, base_url=base_url,
                                        timeout=settings.llm_timeout_seconds)
    if kind in ("vertex-anthropic", "vertex-gemini"):
        return _vertex(kind, name=name, model=model, settings=settings, api_key=api_key, base_url=base_url)
    if kind == "gemini":
        key = _required_key(api_key or settings.gemini_api_key, name=name, kind="gemini", env="GEMINI_API_KEY")
        from shared.llm.gemini_provider import GeminiProvider  # the google-genai SDK: only when used

        return GeminiProvider(name, model, api_key=key, base_url=base_url, timeout=settings.llm_timeout_seconds)
    if kind == "azure-openai":
        key = api_key or settings.azure_openai_api_key
        if not base_url or not model or not key:
            raise Invalid("provider azure-openai needs SHOAL_LLM_BASE_URL (the resource endpoint), SHOAL_LLM_MODEL "
                          "(the deployment) and AZURE_OPENAI_API_KEY")
        from shared.llm.azure_provider import AzureOpenAIProvider

        return AzureOpenAIProvider(name, model, api_key=key, base_url=base_url,
                                   api_version=settings.azure_openai_api_version, timeout=settings.llm_timeout_seconds)
    if kind == "anthropic":
        key = _required_key(api_key or settings.anthropic_api_key, name=name, kind="anthropic", env="ANTHROPIC_API_KEY")
        from shared.llm.anthropic_provider import AnthropicProvider  # the anthropic SDK: only when used

        return AnthropicProvider(name, model, api_key=key, base_url=base_url, timeout=settings.llm_timeout_seconds)
    raise Invalid(f"unknown provider type {kind!r}")


def _vertex(kind: str, *, name: str, model: str | None, settings: Settings, api_key: str | None,
            base_url: str | None) -> Provider:
    """Anthropic models (the anthropic SDK's AnthropicVertex) or Gemini models (google-genai) on Vertex AI."""
    if not model or not settings.vertex_project:
        raise Invalid(f"provider {kind} needs SHOAL_LLM_MODEL and SHOAL_VERTEX_PROJECT")
    # Each SDK is imported only when its provider is used.
    if kind == "vertex-gemini":
        from shared.llm.gemini_provider import VertexGeminiProvider as Vertex
    else:
        from shared.llm.vertex_provider import VertexAnthropicProvider as Vertex  # type: ignore[assignment]
    return Vertex(name, model, project=settings.vertex_project, region=settings.vertex_region,
                  access_token=api_key or settings.vertex_access_token, base_url=base_url,
                  timeout=settings.llm_timeout_seconds)


def _compatible(kind: str, *, name: str, model: str | None, settings: Settings, api_key: str | None,
                base_url: str | None) -> Provider:
    """Ollama, Mistral and Hugging Face TGI: their OpenAI-compatible Chat Completions API."""
    from shared.llm.openai_provider import OpenAIProvider

    endpoint = base_url or COMPATIBLE_ENDPOINTS[kind]
    if not endpoint or not model:
        raise Invalid(f"provider {kind} needs SHOAL_LLM_BASE_URL and SHOAL_LLM_MODEL")
    key = api_key or (settings.mistral_api_key if kind == "mistral" else None)
    if kind == "mistral":
        key = _required_key(key, name=name, kind=kind, env="MISTRAL_API_KEY")
    return OpenAIProvider(name, model, api_key=key or kind, base_url=with_v1(endpoint), kind=kind,
                          timeout=settings.llm_timeout_seconds)


def with_v1(base_url: str) -> str:
    """An OpenAI-compatible server given by its origin (`http://vllm:8000`, as Kubernaut documents
    it; vLLM, TGI, Ollama, LocalAI serve under /v1) gets `/v1`; a URL with a path is kept as given."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base_url)
    if parts.path.strip("/"):
        return base_url
    return urlunsplit(parts._replace(path="/v1"))


def named_providers(settings: Settings) -> dict[str, dict]:
    """SHOAL_LLM_PROVIDERS: {"name": {"type", "model", "baseURL", "apiKeyEnv"}}; `default` is never in it."""
    import json

    if not settings.llm_providers.strip():
        return {}
    try:
        table = json.loads(settings.llm_providers)
    except ValueError:
        raise Invalid("SHOAL_LLM_PROVIDERS is not valid JSON") from None
    if not isinstance(table, dict) or not all(isinstance(v, dict) and v.get("type") for v in table.values()):
        raise Invalid("SHOAL_LLM_PROVIDERS must map names to objects with a type")
    table.pop("default", None)  # the default provider is always the SHOAL_LLM_* one
    return table


def _build_named(name: str, entry: dict, model: str | None, settings: Settings,
                 api_key: str | None = None) -> Provider:
    import os

    key_env = entry.get("apiKeyEnv")
    if api_key is None:
        api_key = os.environ.get(key_env) if key_env else None
        if key_env and not api_key:
            raise Invalid(f"provider {name} is configured but {key_env} is not set")
    return build_provider(entry["type"], name=name, model=model, settings=settings, api_key=api_key,
                          base_url=entry.get("baseURL"), default_model=entry.get("model"))


def _locate(reference: str | None, settings: Settings) -> tuple[str, dict | None, str | None]:
    """(provider name, its SHOAL_LLM_PROVIDERS entry or None for `default`, model override) of a
    reference; Invalid for an unknown provider name."""
    if reference and "/" in reference:
        provider_name, model = reference.split("/", 1)
        named = named_providers(settings)
        if provider_name in named:
            return provider_name, named[provider_name], model or None
        if provider_name not in ("default", settings.llm_provider):
            raise Invalid(f'failed to resolve provider: unknown provider "{provider_name}"')
        return "default", None, model or None
    return "default", None, reference or None


def resolve(reference: str | None = None, *, settings: Settings | None = None,
            api_key: str | None = None) -> Provider:
    """The provider for a model reference (see the module docstring). `api_key`, when given, replaces
    the provider's configured key (a task's own runtime credential); endpoint and model stay."""
    settings = settings or get_settings()
    name, entry, model = _locate(reference, settings)
    if entry is not None:
        return _build_named(name, entry, model, settings, api_key)
    return build_provider(settings.llm_provider, name="default", model=model, settings=settings, api_key=api_key)


def reference_kind(reference: str | None, *, settings: Settings | None = None) -> str:
    """The provider type a reference resolves to, without building it; Invalid for an unknown provider."""
    settings = settings or get_settings()
    _, entry, _ = _locate(reference, settings)
    return entry["type"] if entry is not None else settings.llm_provider


def configured_reference(model: str | None, *, settings: Settings | None = None) -> str | None:
    """`model` as a reference to something configured, else None: a `provider/model` naming a configured
    provider, or a bare model that is the configured model of the default provider or of a named one
    (then as `<name>/<model>`, so it runs where it is configured)."""
    settings = settings or get_settings()
    if not model:
        return None
    if "/" in model:
        try:
            _locate(model, settings)
        except Invalid:
            return None
        return model
    if model == describe_default(settings)["model"]:
        return model
    return next((f"{name}/{model}" for name, entry in sorted(named_providers(settings).items())
                 if entry.get("model") == model), None)


def providers_of_kind(kind: str, *, settings: Settings | None = None) -> list[str]:
    """References (`default/`, `<name>/`) of the configured providers of one type, default first."""
    settings = settings or get_settings()
    found = ["default/"] if settings.llm_provider == kind else []
    return found + [f"{name}/" for name, entry in sorted(named_providers(settings).items()) if entry["type"] == kind]


def provider_names(settings: Settings | None = None) -> list[str]:
    """`default` and every named provider, for listings (e.g. /models)."""
    settings = settings or get_settings()
    return ["default", *sorted(named_providers(settings))]


# What a worker process needs, beyond SHOAL_LLM_*, to build providers of each kind: the secret key's
# variable (read from the `shoal-llm` Secret) and plain settings (copied as values).
_KIND_SECRETS = {"openai": "OPENAI_API_KEY", "openai-compatible": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY",
                 "azure-openai": "AZURE_OPENAI_API_KEY", "mistral": "MISTRAL_API_KEY", "gemini": "GEMINI_API_KEY",
                 "vertex-anthropic": "SHOAL_VERTEX_ACCESS_TOKEN", "vertex-gemini": "SHOAL_VERTEX_ACCESS_TOKEN"}
_KIND_SETTINGS = {"azure-openai": (("SHOAL_AZURE_OPENAI_API_VERSION", "azure_openai_api_version"),),
                  "vertex-anthropic": (("SHOAL_VERTEX_PROJECT", "vertex_project"), ("SHOAL_VERTEX_REGION", "vertex_region")),
                  "vertex-gemini": (("SHOAL_VERTEX_PROJECT", "vertex_project"), ("SHOAL_VERTEX_REGION", "vertex_region")),
                  "bedrock": (("AWS_REGION", "aws_region"),)}


def worker_environment(settings: Settings) -> tuple[list[tuple[str, str]], list[str]]:
    """(plain settings, secret variable names) a task's worker needs for the configured providers: the
    default and every SHOAL_LLM_PROVIDERS entry (its kind's key, and its own apiKeyEnv)."""
    entries = [(settings.llm_provider, None), *((e["type"], e.get("apiKeyEnv")) for e in named_providers(settings).values())]
    values: dict[str, str] = {}
    secrets = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]
    for kind, key_env in entries:
        for name in (_KIND_SECRETS.get(kind), key_env):
            if name and name not in secrets:
                secrets.append(name)
        for name, field in _KIND_SETTINGS.get(kind, ()):
            value = getattr(settings, field, None)
            if value:
                values[name] = str(value)
    return sorted(values.items()), secrets


def describe_default(settings: Settings | None = None) -> dict[str, str | None]:
    """Name and model of the default provider, without building it (for /readyz)."""
    settings = settings or get_settings()
    model = settings.llm_model or DEFAULT_MODELS.get(settings.llm_provider)
    return {"provider": settings.llm_provider, "model": model}
