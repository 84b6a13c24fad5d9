"""Endpoints and connection failures of the SDK-backed providers (issue 20): an OpenAI-compatible
server given by its origin gets /v1; an unreachable provider is named with its URL and the cause."""

from __future__ import annotations

import pytest

from shared.llm.anthropic_provider import AnthropicProvider
from shared.llm.base import Message, ProviderError
from shared.llm.openai_provider import OpenAIProvider
from shared.llm.registry import build_provider, clear_provider_cache, with_v1
from tests.support.llm_wire import ScriptedLLM
from tests.support.servers import refusing_port


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


@pytest.fixture
def closed_port():
    """A port that refuses connections (tests.support.servers.refusing_port) for the test's length."""
    with refusing_port() as port:
        yield port


@pytest.mark.parametrize("make,url", [
    (lambda port: OpenAIProvider("default", "m", api_key="k", base_url=f"http://127.0.0.1:{port}/v1",
                                 kind="openai-compatible", timeout=2),
     "openai-compatible provider at http://127.0.0.1:{port}/v1 is unreachable: "),
    (lambda port: AnthropicProvider("default", "m", api_key="k", base_url=f"http://127.0.0.1:{port}", timeout=2),
     "anthropic provider at http://127.0.0.1:{port} is unreachable: "),
])
def test_a_connection_failure_names_the_provider_the_url_and_the_cause(make, url, closed_port):
    port = closed_port
    with pytest.raises(ProviderError) as raised:
        make(port).complete([Message(role="user", content="hi")])
    message = str(raised.value)
    assert message.startswith(url.format(port=port)), message
    assert "refused" in message.lower(), message  # the cause, not just "APIConnectionError"
    assert raised.value.retryable


# -- provider kinds on their own wire ------------------------------------------------------------------
def _build(kind: str, monkeypatch, server_url: str | None, **env: str):
    from shared.config import get_settings, reset_settings

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    clear_provider_cache()
    return build_provider(kind, name="default", model=None, settings=get_settings(), base_url=server_url)


@pytest.mark.parametrize("kind,env,path,auth", [
    ("ollama", {"SHOAL_LLM_MODEL": "llama3.1"}, "/v1/chat/completions", "Bearer ollama"),
    ("tgi", {}, "/v1/chat/completions", "Bearer tgi"),
    ("mistral", {"MISTRAL_API_KEY": "mk-1"}, "/v1/chat/completions", "Bearer mk-1"),
])
def test_openai_compatible_kinds_speak_chat_completions(monkeypatch, kind, env, path, auth):
    with ScriptedLLM([{"text": f"hello from {kind}"}]) as server:
        provider = _build(kind, monkeypatch, server.url, **env)
        assert provider.kind == kind
        assert provider.complete([Message(role="user", content="hi")]).text == f"hello from {kind}"
        [request] = server.requests
        assert (request["path"], request["headers"]["Authorization"]) == (path, auth)
        assert request["json"]["model"] == {"ollama": "llama3.1", "tgi": "tgi", "mistral": "mistral-large-latest"}[kind]
    clear_provider_cache()


def test_azure_openai_uses_the_deployment_route_the_api_version_and_the_api_key_header(monkeypatch):
    with ScriptedLLM([{"text": "hello from azure"}]) as server:
        provider = _build("azure-openai", monkeypatch, server.url, SHOAL_LLM_MODEL="gpt-4o-prod",
                          AZURE_OPENAI_API_KEY="az-key", SHOAL_AZURE_OPENAI_API_VERSION="2024-10-21")
        assert provider.complete([Message(role="user", content="hi")]).text == "hello from azure"
        [request] = server.requests
        assert request["path"] == "/openai/deployments/gpt-4o-prod/chat/completions"
        assert request["headers"]["Api-Key"] == "az-key"
    clear_provider_cache()


@pytest.mark.parametrize("kind,env,message", [
    ("azure-openai", {"SHOAL_LLM_MODEL": "d"}, "provider azure-openai needs SHOAL_LLM_BASE_URL (the resource "
                                               "endpoint), SHOAL_LLM_MODEL (the deployment) and AZURE_OPENAI_API_KEY"),
    ("mistral", {}, "provider mistral is configured but MISTRAL_API_KEY is not set"),
    ("ollama", {}, "provider ollama needs SHOAL_LLM_BASE_URL and SHOAL_LLM_MODEL"),
])
def test_a_kind_missing_its_configuration_is_named(monkeypatch, kind, env, message):
    from shared.errors import Invalid

    for name in ("SHOAL_LLM_MODEL", "MISTRAL_API_KEY", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(Invalid) as raised:
        _build(kind, monkeypatch, None, **env)
    assert raised.value.message == message
    clear_provider_cache()


def test_bedrock_signs_invoke_model_for_an_anthropic_model(monkeypatch):
    model = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    with ScriptedLLM([{"text": "hello from bedrock"}]) as server:
        provider = _build("bedrock", monkeypatch, server.url, SHOAL_LLM_MODEL=model, AWS_REGION="eu-west-1",
                          AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret")
        assert provider.complete([Message(role="user", content="hi")]).text == "hello from bedrock"
        [request] = server.requests
        assert request["path"] == f"/model/{model}/invoke"
        # SigV4 with the credential chain, for the bedrock service in the configured region.
        assert request["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/eu-west-1/bedrock/aws4_request" in request["headers"]["Authorization"]
        assert request["json"]["anthropic_version"] and "model" not in request["json"]  # the model is in the path
    clear_provider_cache()


def test_vertex_anthropic_calls_raw_predict_with_the_bearer_token(monkeypatch):
    with ScriptedLLM([{"text": "hello from vertex"}]) as server:
        provider = _build("vertex-anthropic", monkeypatch, server.url + "/v1", SHOAL_LLM_MODEL="claude-sonnet-4-5@20250929",
                          SHOAL_VERTEX_PROJECT="acme-ml", SHOAL_VERTEX_REGION="europe-west1",
                          SHOAL_VERTEX_ACCESS_TOKEN="ya29.token")
        assert provider.complete([Message(role="user", content="hi")]).text == "hello from vertex"
        [request] = server.requests
        assert request["path"] == ("/v1/projects/acme-ml/locations/europe-west1/publishers/anthropic/models/"
                                   "claude-sonnet-4-5@20250929:rawPredict")
        assert request["headers"]["Authorization"] == "Bearer ya29.token"
        assert request["json"]["anthropic_version"] and "model" not in request["json"]
    clear_provider_cache()
