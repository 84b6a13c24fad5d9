"""Shared fixtures: fake AWS credentials before any client, moto per test, real function apps."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hypothesis
import moto.core.models  # noqa: F401  (see below)
import pytest

# moto's mock hooks botocore's built-in handlers when it is imported, and a botocore session made
# before that never gets the hook. The store keeps one session per process, so a test against a moto
# *server* running first would leave every later `mock_aws` test talking to real AWS. Import it first.

# Property tests explore new inputs on a developer's machine; under CI=true they replay the same
# derandomised examples, so a landing never depends on what a random draw found that day. Neither
# fails because drawing examples was slow (HealthCheck.too_slow): on a loaded 2-core machine that
# measures the machine, not the code (every test already sets deadline=None for the same reason).
_NOT_TIMED = [hypothesis.HealthCheck.too_slow]
hypothesis.settings.register_profile("ci", derandomize=True, database=None, print_blob=True,
                                     suppress_health_check=_NOT_TIMED)
hypothesis.settings.register_profile("dev", suppress_health_check=_NOT_TIMED)
hypothesis.settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

ROOT = Path(__file__).resolve().parents[1]
DEV_TOKEN = "test-dev-token"
AUTH = {"Authorization": f"Bearer {DEV_TOKEN}"}


def reset_process_state() -> None:
    """Forget every per-process cache: a fake server on a reused port must never meet a cached answer."""
    from shared.auth import jwks, kube_auth, task_tokens
    from shared.compat import task_models
    from shared.config import reset_settings
    from shared.kube import reset_client
    from shared.llm.registry import clear_provider_cache
    from shared.observability import tracing
    from shared.store.clients import reset_clients

    reset_settings()
    reset_clients()
    reset_client()
    jwks.reset_caches()
    kube_auth.reset_caches()
    task_tokens.reset_cache()
    task_models.reset_cache()
    clear_provider_cache()
    tracing.use_provider(None)  # decided again from OTEL_* (off: the fixture below removes them)


@pytest.fixture(scope="session")
def _state_dir(tmp_path_factory) -> Path:
    """SHOAL_STATE_DIR of the tests: never the checkout's `.shoal/` (the local executor's files live there)."""
    return tmp_path_factory.mktemp("state")


@pytest.fixture(autouse=True)
def _environment(monkeypatch, _state_dir):
    """Fake credentials, a local-platform identity and a state directory; every setting re-read per test."""
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE",
                "K_SINK", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SHOAL_LLM_PROVIDER", "SHOAL_MOCK_SCRIPT",
                "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "TRACEPARENT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("SHOAL_PLATFORM", "local")
    monkeypatch.setenv("SHOAL_DEV_TOKEN", DEV_TOKEN)
    monkeypatch.setenv("SHOAL_STATE_DIR", str(_state_dir))
    reset_process_state()
    yield
    reset_process_state()


@pytest.fixture
def aws():
    """moto in process, started before any client exists, with the tables and bucket created."""
    from moto import mock_aws

    from shared.local import moto_fast
    from shared.local.moto_atomic import make_writes_atomic
    from shared.store.bootstrap import ensure_state
    from shared.store.clients import reset_clients
    from tests.support.store_validation import validate_store_parameters

    validate_store_parameters()  # the store's clients skip it; moto would let a malformed call pass
    make_writes_atomic()  # DynamoDB's conditional writes are atomic; moto's are not without this
    moto_fast.install()  # as the local platform's moto server: less CPU per call, the same answers
    with mock_aws():
        reset_clients()
        ensure_state()
        yield
        reset_clients()


@pytest.fixture
def event_sink(httpserver, monkeypatch):
    """K_SINK pointed at a real HTTP receiver that validates every event against events/."""
    from shared.config import reset_settings
    from tests.support.events import EventSink

    sink = EventSink()
    httpserver.expect_request("/", method="POST").respond_with_handler(sink.handler)
    monkeypatch.setenv("K_SINK", httpserver.url_for("/"))
    reset_settings()
    return sink


@pytest.fixture
def function_client(aws, event_sink):
    """Build a function's app exactly as its container does (functions-framework's create_app)."""
    from functions_framework import create_app

    def make(name: str):
        sys.modules.pop("main", None)  # every function's source loads as module "main"
        app = create_app(target=name, source=str(ROOT / "functions" / name / "main.py"))
        return app.test_client()

    yield make
    sys.modules.pop("main", None)


@pytest.fixture
def fake_kube(monkeypatch):
    """A fake Kubernetes API server; shared.kube's client points at it."""
    from shared.config import reset_settings
    from shared.kube import reset_client
    from tests.support.fake_kube import FakeKube

    with FakeKube() as server:
        monkeypatch.setenv("SHOAL_KUBE_API_URL", server.url)
        monkeypatch.setenv("SHOAL_KUBE_TOKEN", "reviewer-token")
        reset_settings()
        reset_client()
        yield server
        reset_client()


@pytest.fixture
def scripted_llm():
    """A scripted LLM wire server (OpenAI and Anthropic protocols); set `.script` in the test."""
    from tests.support.llm_wire import ScriptedLLM

    with ScriptedLLM() as server:
        yield server
