"""A chat's agentRef supplies provider, model and temperature in the catalog's one agent shape."""

from __future__ import annotations

import pytest

from shared.chat.provider import resolve_chat_provider
from shared.errors import Invalid
from shared.store import ObjectStore

pytestmark = pytest.mark.usefixtures("aws")


def agent(name: str, spec: dict) -> None:
    ObjectStore("agent").create("default", name, {"apiVersion": "core.orka.ai/v1alpha1", "kind": "Agent",
                                                  "metadata": {"name": name}, "spec": spec})


def test_agent_provider_model_and_temperature_are_the_defaults(monkeypatch):
    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    from shared.config import reset_settings

    reset_settings()
    agent("reviewer", {"provider": "openai", "model": "gpt-4o", "temperature": 0.2, "runtime": {"type": "claude"}})
    resolved = resolve_chat_provider({"agentRef": "reviewer"}, "default", default_provider="", default_model="")
    assert (resolved.provider.kind, resolved.provider.model) == ("openai", "gpt-4o")
    assert resolved.temperature == 0.2 and resolved.runtime == "claude"
    # request fields win over the agent's
    resolved = resolve_chat_provider({"agentRef": "reviewer", "model": "gpt-4.1", "temperature": 0.9}, "default",
                                     default_provider="", default_model="")
    assert resolved.provider.model == "gpt-4.1" and resolved.temperature == 0.9


def test_an_agent_naming_an_unknown_provider_is_a_resolution_error():
    agent("odd", {"provider": "nowhere", "model": "m"})
    with pytest.raises(Invalid) as exc:
        resolve_chat_provider({"agentRef": "odd"}, "default", default_provider="", default_model="")
    assert exc.value.message == 'failed to resolve provider: unknown provider "nowhere"'
