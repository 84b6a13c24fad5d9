"""Fixtures the chat contract tests share: the scripted model over the real OpenAI SDK, the mock
provider's script, and the chat function on a loopback port. A module may define its own (e.g. with
other limits), which takes precedence."""

from __future__ import annotations

import json
import threading

import pytest

from tests.support.chat import serve


@pytest.fixture
def model_gate(monkeypatch):
    """The mock model's "delay" lasts until the test sets this gate (or the delay runs out): a turn
    stays active exactly until the test has checked what it must see while it is, however slowly a
    loaded machine gets there (a 1 s delay as the window let the turn end first)."""
    import types

    import shared.llm.mock as mock

    gate = threading.Event()
    monkeypatch.setattr(mock, "time", types.SimpleNamespace(sleep=lambda seconds: gate.wait(seconds)))
    yield gate
    gate.set()


@pytest.fixture
def llm(scripted_llm, monkeypatch):
    """The real OpenAI SDK against the scripted wire server."""
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    monkeypatch.setenv("SHOAL_LLM_BASE_URL", scripted_llm.url + "/v1")
    reset_settings()
    return scripted_llm


@pytest.fixture
def mock_script(tmp_path, monkeypatch):
    """Script the deterministic mock provider (the default) through SHOAL_MOCK_SCRIPT; steps may be slow
    ("delay")."""
    def write(steps: list[dict]) -> None:
        path = tmp_path / "script.json"
        path.write_text(json.dumps(steps))
        monkeypatch.setenv("SHOAL_MOCK_SCRIPT", str(path))

    return write


@pytest.fixture
def chat(function_client):
    """The chat function served on a loopback port."""
    with serve(function_client) as server:
        yield server
