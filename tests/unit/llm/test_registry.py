"""The provider registry: `default` always, named providers from SHOAL_LLM_PROVIDERS, real SDKs on the wire."""

from __future__ import annotations

import json

import pytest

from shared.errors import Invalid
from shared.llm.base import Message
from shared.llm.registry import provider_names, resolve


def configure(monkeypatch, table, **env):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDERS", json.dumps(table) if not isinstance(table, str) else table)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_settings()


def test_named_providers_resolve_by_provider_slash_model_over_the_wire(monkeypatch, scripted_llm):
    configure(monkeypatch, {
        "fast": {"type": "openai-compatible", "model": "small", "baseURL": scripted_llm.url + "/v1",
                 "apiKeyEnv": "FAST_KEY"},
        "claude": {"type": "anthropic", "model": "claude-x", "baseURL": scripted_llm.url, "apiKeyEnv": "CLAUDE_KEY"},
        "default": {"type": "openai"}},  # `default` cannot be replaced from the table
        FAST_KEY="sk-fast", CLAUDE_KEY="sk-claude")
    scripted_llm.script = [{"text": "from openai wire"}, {"text": "from anthropic wire"}]
    fast = resolve("fast/")
    assert (fast.name, fast.kind, fast.model) == ("fast", "openai-compatible", "small")
    assert fast.complete([Message(role="user", content="hi")]).text == "from openai wire"
    claude = resolve("claude/claude-override")
    assert (claude.name, claude.kind, claude.model) == ("claude", "anthropic", "claude-override")
    assert claude.complete([Message(role="user", content="hi")]).text == "from anthropic wire"
    first, second = scripted_llm.requests
    assert first["path"] == "/v1/chat/completions" and first["headers"]["Authorization"] == "Bearer sk-fast"
    assert second["path"] == "/v1/messages" and "sk-claude" in (
        second["headers"].get("X-Api-Key", "") + second["headers"].get("Authorization", ""))
    assert second["json"]["model"] == "claude-override"
    assert provider_names() == ["default", "claude", "fast"]
    default = resolve()
    assert (default.name, default.kind, default.model) == ("default", "mock", "shoal-mock")
    assert resolve("bigger-model").model == "bigger-model"
    assert resolve("default/other").model == "other"


def test_bad_configuration_and_unknown_names_are_errors_never_the_mock(monkeypatch):
    configure(monkeypatch, {"x": {"type": "openai", "apiKeyEnv": "MISSING_KEY"}})
    with pytest.raises(Invalid, match="provider x is configured but MISSING_KEY is not set"):
        resolve("x/gpt")
    with pytest.raises(Invalid, match='failed to resolve provider: unknown provider "nope"'):
        resolve("nope/model")
    configure(monkeypatch, "{not json")
    with pytest.raises(Invalid, match="SHOAL_LLM_PROVIDERS is not valid JSON"):
        resolve("x/y")
    configure(monkeypatch, {"x": {"model": "m"}})
    with pytest.raises(Invalid, match="must map names to objects with a type"):
        resolve("x/y")


def test_resolved_providers_are_reused_until_the_settings_reset(monkeypatch):
    from shared.config import get_settings, reset_settings

    configure(monkeypatch, {"fast": {"type": "openai-compatible", "model": "small", "baseURL": "http://127.0.0.1:9/v1"}},
              SHOAL_LLM_PROVIDER="openai", OPENAI_API_KEY="sk-test")
    first = resolve("fast/small")
    assert resolve("fast/small") is first  # same reference, same object: no second SDK client
    assert resolve("fast/") is first  # the model resolves to the same one
    assert resolve("fast/other") is not first
    default = resolve("gpt-x")
    assert resolve("default/gpt-x") is default and resolve("gpt-x", settings=get_settings()) is default
    reset_settings()  # a new settings object: every provider built under the old one is dropped
    assert resolve("fast/small") is not first and resolve("gpt-x") is not default


def test_the_mock_provider_is_never_cached(monkeypatch, tmp_path):
    configure(monkeypatch, {}, SHOAL_LLM_PROVIDER="mock")
    first = resolve(None)
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"text": "scripted"}]))
    monkeypatch.setenv("SHOAL_MOCK_SCRIPT", str(script))  # read when built: a cached mock would miss it
    second = resolve(None)
    assert second is not first and second.script == [{"text": "scripted"}]


def test_configured_reference_names_only_what_is_configured(monkeypatch):
    from shared.llm.registry import configured_reference, providers_of_kind, reference_kind

    configure(monkeypatch, {"claude": {"type": "anthropic", "model": "claude-x"},
                            "fast": {"type": "openai-compatible", "model": "small", "baseURL": "http://f/v1"}},
              SHOAL_LLM_PROVIDER="openai", SHOAL_LLM_MODEL="gpt-configured")
    assert configured_reference("gpt-configured") == "gpt-configured"        # the default's model
    assert configured_reference("claude-x") == "claude/claude-x"             # a named provider's, run there
    assert configured_reference("claude/anything") == "claude/anything"      # a configured provider, named
    assert configured_reference("default/anything") == "default/anything"
    assert configured_reference("openai/anything") == "openai/anything"      # the default by its type
    for unknown in ("claude-sonnet-4-5", "nope/model", "", None):
        assert configured_reference(unknown) is None
    assert [reference_kind(r) for r in (None, "x", "claude/", "fast/m")] == [
        "openai", "openai", "anthropic", "openai-compatible"]
    with pytest.raises(Invalid):
        reference_kind("nope/model")
    assert providers_of_kind("anthropic") == ["claude/"] and providers_of_kind("openai") == ["default/"]


def test_a_callers_key_replaces_the_configured_one(monkeypatch, scripted_llm):
    configure(monkeypatch, {"claude": {"type": "anthropic", "baseURL": scripted_llm.url, "apiKeyEnv": "UNSET_KEY"}},
              SHOAL_LLM_PROVIDER="anthropic", SHOAL_LLM_BASE_URL=scripted_llm.url)
    # Neither the platform's ANTHROPIC_API_KEY nor UNSET_KEY exists: the caller's key is all there is.
    for reference in (None, "claude/claude-x"):
        resolve(reference, api_key="sk-callers-own").complete([Message(role="user", content="hi")])
    sent = [r["headers"].get("X-Api-Key", "") + r["headers"].get("Authorization", "") for r in scripted_llm.requests]
    assert len(sent) == 2 and all("sk-callers-own" in s for s in sent)
    with pytest.raises(Invalid):
        resolve("claude/claude-x")
