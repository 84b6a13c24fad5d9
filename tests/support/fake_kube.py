"""The fake Kubernetes API server of the tests: shared/local/fake_kube.py's app on a free port."""

from __future__ import annotations

from shared.local.fake_kube import FakeKubeAPI
from tests.support.servers import BackgroundServer


class FakeKube(FakeKubeAPI, BackgroundServer):
    def __init__(self) -> None:
        FakeKubeAPI.__init__(self)
        BackgroundServer.__init__(self, self._wsgi)


IN_CLUSTER_INTERNAL_URL = "http://internal.shoal.svc.cluster.local"


def use_kubernetes_executor(monkeypatch, **env: str) -> None:
    """Tasks run as Jobs on the fake Kubernetes API (the `fake_kube` fixture), their workers told the
    in-cluster internal URL; `env`: more settings (name=value) for the test."""
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_EXECUTOR", "kubernetes")
    monkeypatch.setenv("SHOAL_INTERNAL_URL", IN_CLUSTER_INTERNAL_URL)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
