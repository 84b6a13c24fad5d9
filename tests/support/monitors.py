"""A repository monitor's surroundings for tests: its Secrets in the fake Kubernetes API, a claude
reviewer Agent, and a fake GitHub API the functions are pointed at."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator

from tests.support.fake_github import FakeGitHub


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@contextlib.contextmanager
def monitor_world(fake_kube, monkeypatch) -> Iterator[FakeGitHub]:
    """Secrets `gh` (token ghp_secret) and `claude`, Agent `reviewer`; yields the fake GitHub API."""
    from shared.config import reset_settings
    from shared.store import ObjectStore

    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "gh"}, "data": {"token": b64("ghp_secret")}})
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "claude"},
                                                     "data": {"ANTHROPIC_API_KEY": b64("k")}})
    ObjectStore("agent").create("default", "reviewer", {"spec": {"runtime": {"type": "claude",
                                                                               "secretRef": {"name": "claude"}}}})
    with FakeGitHub() as github_api:
        monkeypatch.setenv("SHOAL_GITHUB_API_URL", github_api.url)
        monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1")
        reset_settings()
        yield github_api
