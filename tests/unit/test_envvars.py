"""Settings are read without pydantic (shared.envvars) exactly as pydantic-settings reads the same
declarations: the same values and types, the same precedence of aliases, and for a value not in its
plain form pydantic-settings' own answer (a value it accepts, or its ValidationError)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.envvars import _validated
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CASES = [
    {},
    {"SHOAL_PLATFORM": "local", "SHOAL_INTERNAL_URL": "http://gw:1", "shoal_max_body_bytes": "123",
     "SHOAL_CHAT_ENABLED": "false", "SHOAL_TOOL_TIMEOUT_SECONDS": "2.5", "SHOAL_LLM_PROVIDER": "openai",
     "K_SERVICE": "tasks", "SHOAL_OPENAI_API_KEY": "by-prefixed-name", "ORKA_OIDC_ISSUER": "https://idp"},
    {"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-west-1", "SUBMIT_API_KEYS": "a",
     "SHOAL_SUBMIT_API_KEYS": "b", "SHOAL_EVENT_SOURCE": "s", "K_SERVICE": "k", "SHOAL_KUBE_API_URL": ""},
    # not in their plain form: pydantic-settings decides (and accepts these)
    {"SHOAL_MAX_BODY_BYTES": " 77 ", "SHOAL_AUTH_ALLOW_HTTP": "YES", "SHOAL_TOOL_TIMEOUT_SECONDS": "1e2"},
]


@pytest.fixture
def environ(monkeypatch):
    for name in list(os.environ):
        if name.upper().startswith(("SHOAL_", "ORKA_", "AWS_", "K_", "SUBMIT_", "PROMETHEUS_")) or \
                name.upper().endswith("_API_KEY"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("env", CASES)
def test_settings_read_as_pydantic_settings_reads_them(environ, env):
    for name, value in env.items():
        environ.setenv(name, value)
    ours = Settings()
    theirs = _validated(Settings)
    got = {name: getattr(ours, name) for name in Settings.fields}
    theirs_derived = Settings.__new__(Settings)
    theirs_derived.__dict__.update(theirs)
    theirs_derived.derive()
    assert got == theirs_derived.__dict__
    assert {n: type(v) for n, v in got.items()} == {n: type(v) for n, v in theirs_derived.__dict__.items()}


def test_the_aliases_come_first_then_the_prefixed_name(environ):
    environ.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    environ.setenv("SHOAL_AWS_REGION", "ap-south-1")
    assert Settings().aws_region == "eu-west-1"
    environ.setenv("AWS_REGION", "us-west-2")
    assert Settings().aws_region == "us-west-2"
    environ.setenv("SHOAL_PLATFORM", "local")
    environ.setenv("SHOAL_INTERNAL_URL", "http://gw:8080")
    settings = Settings()
    assert (settings.compat_url, settings.api_url) == ("http://gw:8080", "http://gw:8080")  # derived


def test_a_bad_value_is_pydantic_settings_own_error(environ):
    environ.setenv("SHOAL_MAX_BODY_BYTES", "lots")
    environ.setenv("SHOAL_PLATFORM", "moon")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert str(caught.value).startswith("2 validation errors for Settings\nplatform\n  Input should be 'local' or "
                                        "'cluster' [type=literal_error, input_value='moon', input_type=str]")
    assert "max_body_bytes\n  Input should be a valid integer, unable to parse string as an integer" in str(caught.value)


def test_reading_settings_imports_no_pydantic():
    code = ("import sys; from shared.config import get_settings; s = get_settings(); "
            "print(s.max_body_bytes, sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_settings')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert out.stdout.split("\n")[0] == "15728640 []"
