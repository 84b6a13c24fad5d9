"""/readyz of the functions that call the model reports the configured provider (cached)."""

from __future__ import annotations

import pytest

from tests.support.llm_wire import ScriptedLLM
from tests.support.servers import refusing_port


@pytest.fixture(autouse=True)
def fresh():
    from shared.llm import readiness
    from shared.llm.registry import clear_provider_cache

    readiness.clear()
    clear_provider_cache()
    yield
    readiness.clear()
    clear_provider_cache()


def _use(monkeypatch, **env):
    from shared.config import reset_settings

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_settings()


@pytest.fixture
def closed_port():
    """A port that refuses connections (tests.support.servers.refusing_port) for the test's length."""
    with refusing_port() as port:
        yield port


def test_an_unreachable_provider_makes_the_function_not_ready(function_client, monkeypatch, closed_port):
    port = closed_port
    _use(monkeypatch, SHOAL_LLM_PROVIDER="openai-compatible", SHOAL_LLM_MODEL="m",
         SHOAL_LLM_BASE_URL=f"http://127.0.0.1:{port}")
    response = function_client("analyze").get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready" and body["checks"]["store"] == "ok"
    assert body["checks"]["llm"].startswith(
        f"error: openai-compatible provider at http://127.0.0.1:{port}/v1 is unreachable: ")
    assert "refused" in body["checks"]["llm"].lower()


def test_a_reachable_provider_is_ready_and_the_answer_is_cached(function_client, monkeypatch):
    with ScriptedLLM([]) as server:
        _use(monkeypatch, SHOAL_LLM_PROVIDER="openai", OPENAI_API_KEY="k", SHOAL_LLM_BASE_URL=server.url + "/v1")
        chat = function_client("chat")
        response = chat.get("/readyz")
        assert response.status_code == 200
        assert response.get_json()["checks"]["llm"] == f"ok: openai at {server.url}/v1"
        assert server.requests == []  # a connect, never a request that costs tokens
    # The server is gone; within the cache's lifetime the answer stands (probes stay cheap).
    assert chat.get("/readyz").status_code == 200


def test_the_mock_is_ready_and_a_function_that_calls_no_model_has_no_llm_check(function_client):
    assert function_client("compat").get("/readyz").get_json()["checks"]["llm"] == "mock"
    assert "llm" not in function_client("tasks").get("/readyz").get_json()["checks"]


def test_a_provider_that_cannot_be_built_is_named(function_client, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    _use(monkeypatch, SHOAL_LLM_PROVIDER="openai")
    body = function_client("analyze").get("/readyz").get_json()
    assert body["checks"]["llm"] == ("error: openai provider is not usable: provider openai is configured but "
                                     "OPENAI_API_KEY is not set")
