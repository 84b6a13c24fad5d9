"""Fixtures for the compat endpoints: the function served over real HTTP, upstreams, SDK clients."""

from __future__ import annotations

import threading

import pytest
from werkzeug.wsgi import ClosingIterator

from tests.conftest import DEV_TOKEN
from tests.support.servers import BackgroundServer


@pytest.fixture
def compat(function_client):
    """The `compat` function's app (in process, for exact status/body checks)."""
    return function_client("compat")


class Closed:
    """WSGI middleware that knows when every answer it passed on has been closed by the server: what
    runs after the answer is sent (a task token's usage, the request's log line) has run by then."""

    def __init__(self, app) -> None:
        self.app = app
        self._open = 0
        self._changed = threading.Condition()

    def __call__(self, environ, start_response):
        with self._changed:
            self._open += 1
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return ClosingIterator(body, self._done)  # which closes `body` first

    def _done(self) -> None:
        with self._changed:
            self._open -= 1
            self._changed.notify_all()

    def wait(self) -> None:
        """Until the server has closed every answer (the client may have read one before it did)."""
        with self._changed:
            assert self._changed.wait_for(lambda: self._open == 0, timeout=10), "an answer was never closed"


@pytest.fixture
def compat_server(compat):
    """The same app on a loopback port, so the vendors' SDKs call it over real HTTP; `.closed.wait()`
    returns once the server has closed every answer it sent."""
    closed = Closed(compat.application)
    with BackgroundServer(closed, keep_alive=True) as server:
        server.closed = closed
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
