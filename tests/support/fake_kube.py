"""The fake Kubernetes API server of the tests: shared/local/fake_kube.py's app on a free port."""

from __future__ import annotations

from shared.local.fake_kube import FakeKubeAPI
from tests.support.servers import BackgroundServer


class FakeKube(FakeKubeAPI, BackgroundServer):
    def __init__(self) -> None:
        FakeKubeAPI.__init__(self)
        BackgroundServer.__init__(self, self._wsgi)
