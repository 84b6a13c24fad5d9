"""A task's `ai.effort` (labrats `config.effort`) reaches each coding-agent runtime in the setting its CLI
reads (docs/runtimes-facts.md "Effort"), and nothing is set without one."""

from __future__ import annotations

import json
import tomllib

import pytest

from shared.runtimes.profiles import CLAUDE, CODEX, COPILOT, OPENCODE, ModelAccess
from shared.worker import runtime_task

BASE = {"token": "tok", "anthropic_base_url": "http://shoal/compat/anthropic",
        "openai_base_url": "http://shoal/compat/openai/v1", "model": "m-1"}


def test_claude_code_gets_its_effort_level_variable(tmp_path):
    env = CLAUDE.environment(ModelAccess(**BASE, effort="high"), tmp_path / "home")
    assert env["CLAUDE_CODE_EFFORT_LEVEL"] == "high"
    assert "CLAUDE_CODE_EFFORT_LEVEL" not in CLAUDE.environment(ModelAccess(**BASE), tmp_path / "plain")


def test_codex_gets_model_reasoning_effort_in_its_config(tmp_path):
    env = CODEX.environment(ModelAccess(**BASE, effort="low"), tmp_path / "home")
    config = tomllib.loads((tmp_path / "home" / ".codex" / "config.toml").read_text())
    assert env["CODEX_HOME"] == str(tmp_path / "home" / ".codex")
    assert (config["model"], config["model_reasoning_effort"], config["model_provider"]) == ("m-1", "low", "shoal")
    CODEX.environment(ModelAccess(**BASE), tmp_path / "plain")
    assert "model_reasoning_effort" not in tomllib.loads((tmp_path / "plain" / ".codex" / "config.toml").read_text())


def test_copilot_gets_the_effort_level_user_setting(tmp_path):
    COPILOT.environment(ModelAccess(**BASE, effort="medium"), tmp_path / "home")
    assert json.loads((tmp_path / "home" / ".copilot" / "settings.json").read_text()) == {"effortLevel": "medium"}
    COPILOT.environment(ModelAccess(**BASE), tmp_path / "plain")
    assert not (tmp_path / "plain" / ".copilot" / "settings.json").exists()


def test_opencode_gets_the_models_reasoning_effort_option(tmp_path):
    OPENCODE.environment(ModelAccess(**BASE, effort="high"), tmp_path / "home")
    config = json.loads((tmp_path / "home" / ".config" / "opencode" / "opencode.json").read_text())
    assert config["provider"]["shoal"]["models"] == {"m-1": {"name": "m-1", "options": {"reasoningEffort": "high"}}}
    OPENCODE.environment(ModelAccess(**BASE), tmp_path / "plain")
    plain = json.loads((tmp_path / "plain" / ".config" / "opencode" / "opencode.json").read_text())
    assert plain["provider"]["shoal"]["models"] == {"m-1": {"name": "m-1"}}


class _Minting:
    """The worker API's answer to the model-token request (the only call _model_access makes)."""

    def call(self, method, path, **kwargs):
        assert (method, path) == ("POST", "/internal/v1/tasks/default/t1/model-token")
        return 201, {"token": "tok", "anthropicBaseURL": "http://a", "openaiBaseURL": "http://o/v1"}


@pytest.mark.parametrize("spec,effort", [({"ai": {"effort": "high"}}, "high"), ({"ai": {}}, None), ({}, None)])
def test_the_worker_hands_the_tasks_effort_to_the_runtime(spec, effort):
    access = runtime_task._model_access(_Minting(), "default", "t1", {"model": "m-1"}, spec)
    assert (access.model, access.effort) == ("m-1", effort)
