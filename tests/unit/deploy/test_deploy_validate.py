"""Every object of every deploy/ kustomization, rendered by the real kustomize, is valid: core kinds
against the Kubernetes versions we support (kubernetes-validate), custom kinds against the released CRD
schemas in tests/fixtures/crds (closed, so a misspelt field fails)."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.support import crds
from tests.support.deploy import EXTRAS, OVERLAYS, rendered

# Kubernetes minors whose schemas every core object must satisfy (docs/deploy.md: prerequisites).
KUBERNETES_VERSIONS = ("1.33.0", "1.34.0", "1.35.0", "1.36.0", "1.37.0")
# Kinds with no released schema in tests/fixtures/crds: checked by hand below (docs/deploy.md says so).
UNSCHEMED = {("gateway.networking.k8s.io/v1", "Gateway"), ("monitoring.coreos.com/v1", "PodMonitor")}
TARGETS = [f"overlays/{o}" for o in OVERLAYS] + list(EXTRAS)

@pytest.mark.parametrize("target", TARGETS)
def test_every_object_is_valid(target):
    docs = rendered(target)
    assert docs, target
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"])
        label = f"{target}: {doc['kind']}/{doc['metadata']['name']}"
        if key in crds.CRD_FILES:
            crds.validate(doc, *crds.CRD_FILES[key])
        elif key in UNSCHEMED:
            check_unschemed(doc)
        else:
            for version in KUBERNETES_VERSIONS:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except kubernetes_validate.ValidationError as exc:
                    pytest.fail(f"{label} is invalid for Kubernetes {version}: {exc.message}")
                except kubernetes_validate.SchemaNotFoundError:
                    pytest.fail(f"{label}: {key} is neither a core kind nor one with a CRD schema here")

def check_unschemed(doc: dict) -> None:
    spec = doc["spec"]
    if doc["kind"] == "Gateway":
        assert spec["gatewayClassName"]
        for listener in spec["listeners"]:
            assert set(listener) <= {"name", "hostname", "port", "protocol", "tls", "allowedRoutes"}
            assert listener["protocol"] in ("HTTP", "HTTPS") and 1 <= listener["port"] <= 65535
    else:
        for endpoint in spec["podMetricsEndpoints"]:
            assert endpoint["path"] == "/metrics" and endpoint["port"] == "user-port"

def test_the_validator_rejects_an_invalid_core_object():
    """The check above can fail: a Namespace with a misspelt field is refused under strict validation."""
    bad = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}, "spec": {"finalizer": []}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSIONS[0], strict=True)
