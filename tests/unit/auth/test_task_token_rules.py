"""The pure rules behind task tokens: an Agent's runtime credential, a token's lifetime, the model reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.models.agent_credentials import runtime_credential
from shared.tasks.model_tokens import lifetime_seconds, model_reference


@pytest.mark.parametrize("runtime,expected", [
    ({"type": "claude", "secretRef": {"name": "c"}}, {"secret": "c", "key": "ANTHROPIC_API_KEY", "vendor": "anthropic"}),
    ({"type": "codex", "secretRef": {"name": "c"}}, {"secret": "c", "key": "OPENAI_API_KEY", "vendor": "openai"}),
    ({"type": "claude", "secretRef": {"name": "c", "key": "TEAM_KEY"}},
     {"secret": "c", "key": "TEAM_KEY", "vendor": "anthropic"}),
    ({"type": "opencode", "secretRef": {"name": "c", "key": "OPENAI_API_KEY"}},
     {"secret": "c", "key": "OPENAI_API_KEY", "vendor": "openai"}),
    ({"type": "opencode", "secretRef": {"name": "c"}}, None),   # no vendor named anywhere
    ({"type": "copilot", "secretRef": {"name": "c"}}, None),    # a GitHub token, not a model key
    ({"type": "claude"}, None),
    ({"type": "claude", "secretRef": {"name": ""}}, None),
])
def test_runtime_credential(runtime, expected):
    assert runtime_credential({"runtime": runtime}) == expected


def test_runtime_credential_without_a_runtime():
    assert runtime_credential({}) is None and runtime_credential({"runtime": "claude"}) is None


def _ago(seconds: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_lifetime_is_what_remains_of_the_timeout_capped():
    assert lifetime_seconds({}, {"phaseTransitionTime": _ago(0)}) == 7200
    assert 595 <= lifetime_seconds({"timeout": "10m"}, {"phaseTransitionTime": _ago(0)}) <= 600
    assert 295 <= lifetime_seconds({"timeout": "10m"}, {"phaseTransitionTime": _ago(300)}) <= 300
    assert lifetime_seconds({"timeout": "10h"}, {"phaseTransitionTime": _ago(0)}) == 7200
    assert lifetime_seconds({"timeout": "1m"}, {"phaseTransitionTime": _ago(120)}) == 1  # overdue
    assert lifetime_seconds({"timeout": "bogus"}, {"phaseTransitionTime": _ago(0)}) == 7200


def test_model_reference_is_the_tasks_ai_over_its_agent():
    agent = {"provider": "claude", "model": "claude-x"}
    assert model_reference({}, agent) == "claude/claude-x"
    assert model_reference({"ai": {"model": "other"}}, agent) == "claude/other"
    assert model_reference({}, {"model": "bare"}) == "bare"
    assert model_reference({}, {"provider": "claude"}) is None
    assert model_reference({}, {}) is None


def test_the_compat_url_follows_the_internal_gateway_locally(monkeypatch):
    from shared.config import get_settings, reset_settings

    monkeypatch.setenv("SHOAL_INTERNAL_URL", "http://127.0.0.1:8080")
    reset_settings()
    assert get_settings().compat_url == "http://127.0.0.1:8080"
    monkeypatch.setenv("SHOAL_PLATFORM", "cluster")
    reset_settings()
    assert get_settings().compat_url == "http://compat.shoal.svc.cluster.local"
    monkeypatch.setenv("SHOAL_COMPAT_URL", "http://compat.example")
    reset_settings()
    assert get_settings().compat_url == "http://compat.example"


def test_auth_reads_the_task_records_the_engine_writes():
    """auth sits below the task engine, so it names the task store's kind itself: the two must agree."""
    from shared.auth.task_tokens import TASK_KIND
    from shared.tasks.repository import tasks

    assert tasks.kind == TASK_KIND
