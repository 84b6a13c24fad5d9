"""Endpoints and connection failures of the SDK-backed providers (issue 20): an OpenAI-compatible
server given by its origin gets /v1; an unreachable provider is named with its URL and the cause."""

from __future__ import annotations

import socket

import pytest

from shared.llm.anthropic_provider import AnthropicProvider
from shared.llm.base import Message, ProviderError
from shared.llm.openai_provider import OpenAIProvider
from shared.llm.registry import build_provider, clear_provider_cache, with_v1
from tests.support.llm_wire import ScriptedLLM


@pytest.mark.parametrize("given,expected", [
    ("http://vllm:8000", "http://vllm:8000/v1"), ("http://vllm:8000/", "http://vllm:8000/v1"),
    ("http://vllm:8000/v1", "http://vllm:8000/v1"), ("https://gw.example/openai/v1", "https://gw.example/openai/v1"),
    ("http://tgi:8080/custom", "http://tgi:8080/custom")])
def test_an_origin_gets_v1_a_path_is_kept(given, expected):
    assert with_v1(given) == expected


def test_openai_compatible_with_the_servers_origin_reaches_its_v1_routes(monkeypatch):
    from shared.config import get_settings, reset_settings

    monkeypatch.setenv("SHOAL_LLM_MODEL", "llama3")
    reset_settings()
    clear_provider_cache()
    with ScriptedLLM([{"text": "from vllm"}]) as server:
        provider = build_provider("openai-compatible", name="default", model=None, settings=get_settings(),
                                  base_url=server.url)  # no /v1, as Kubernaut's docs configure it
        assert provider.complete([Message(role="user", content="hi")]).text == "from vllm"
        assert server.requests[0]["path"] == "/v1/chat/completions"
    clear_provider_cache()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("make,url", [
    (lambda port: OpenAIProvider("default", "m", api_key="k", base_url=f"http://127.0.0.1:{port}/v1",
                                 kind="openai-compatible", timeout=2),
     "openai-compatible provider at http://127.0.0.1:{port}/v1 is unreachable: "),
    (lambda port: AnthropicProvider("default", "m", api_key="k", base_url=f"http://127.0.0.1:{port}", timeout=2),
     "anthropic provider at http://127.0.0.1:{port} is unreachable: "),
])
def test_a_connection_failure_names_the_provider_the_url_and_the_cause(make, url):
    port = _closed_port()
    with pytest.raises(ProviderError) as raised:
        make(port).complete([Message(role="user", content="hi")])
    message = str(raised.value)
    assert message.startswith(url.format(port=port)), message
    assert "refused" in message.lower(), message  # the cause, not just "APIConnectionError"
    assert raised.value.retryable
