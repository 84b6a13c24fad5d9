"""Fixtures for the compat endpoints: the function served over real HTTP, upstreams, SDK clients."""

from __future__ import annotations

import pytest

from tests.conftest import DEV_TOKEN
from tests.support.servers import BackgroundServer


@pytest.fixture
def compat(function_client):
    """The `compat` function's app (in process, for exact status/body checks)."""
    return function_client("compat")


@pytest.fixture
def compat_server(compat):
    """The same app on a loopback port, so the vendors' SDKs call it over real HTTP."""
    with BackgroundServer(compat.application) as server:
        yield server


def _use(monkeypatch, **env):
    from shared.config import reset_settings

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_settings()


@pytest.fixture
def openai_upstream(scripted_llm, monkeypatch):
    """Our provider is OpenAI, pointed at the scripted wire server."""
    _use(monkeypatch, SHOAL_LLM_PROVIDER="openai", OPENAI_API_KEY="sk-upstream",
         SHOAL_LLM_BASE_URL=scripted_llm.url + "/v1", SHOAL_LLM_MODEL="gpt-upstream")
    return scripted_llm


@pytest.fixture
def anthropic_upstream(scripted_llm, monkeypatch):
    """Our provider is Anthropic, pointed at the scripted wire server."""
    _use(monkeypatch, SHOAL_LLM_PROVIDER="anthropic", ANTHROPIC_API_KEY="sk-ant-upstream",
         SHOAL_LLM_BASE_URL=scripted_llm.url, SHOAL_LLM_MODEL="claude-upstream")
    return scripted_llm


@pytest.fixture(params=["openai", "anthropic"])
def upstream(request):
    """Either vendor as our upstream: the endpoints must not care which one is configured."""
    return request.getfixturevalue(f"{request.param}_upstream")


@pytest.fixture
def openai_client(compat_server):
    import openai

    return openai.OpenAI(base_url=compat_server.url + "/openai/v1", api_key=DEV_TOKEN, max_retries=0,
                         _strict_response_validation=True)


@pytest.fixture
def anthropic_client(compat_server):
    import anthropic

    return anthropic.Anthropic(base_url=compat_server.url + "/anthropic", api_key=DEV_TOKEN, max_retries=0,
                               _strict_response_validation=True)
