"""Read-only, namespaced investigation tools against the fake Kubernetes API."""

from __future__ import annotations

import json

from shared.investigation.kube_tools import ToolBudget, kube_tools
from tests.support.incident_scenarios import NS, SCENARIOS


def run(registry, tool, **args):
    return registry.get(tool).run(args)


def test_tools_take_no_namespace_and_stay_in_theirs(fake_kube):
    SCENARIOS["job"](fake_kube)
    fake_kube.add("/api/v1", "pods", "kube-system", {"metadata": {"name": "secret-pod"}, "spec": {}})
    registry = kube_tools(NS, ToolBudget(10, 30, 3))
    assert all("namespace" not in spec.parameters["properties"] for spec in registry.specs())
    assert run(registry, "get_resource", kind="Pod", name="secret-pod")["success"] is False
    job = run(registry, "get_resource", kind="Job", name="migrate")["result"]
    assert job["root_owner"] == {"kind": "Job", "name": "migrate", "namespace": NS}
    events = run(registry, "list_events", name="migrate")["result"]
    assert [e["reason"] for e in events] == ["BackoffLimitExceeded"]
    assert run(registry, "pod_logs", pod="migrate-x1y2z")["result"] == "sh: /bin/migrate.sh: not found\n"
    assert run(registry, "get_resource", kind="Secret", name="x")["error"].startswith("unsupported kind")
    assert run(registry, "get_resource", kind="Pod", name="../../secrets")["error"] == "invalid name '../../secrets'"
    assert run(registry, "resource_usage", pod="migrate-x1y2z")["result"]["available"] is False
    assert {r["method"] for r in fake_kube.requests} == {"GET"}
    assert all(r["path"].startswith((f"/api/v1/namespaces/{NS}/", f"/apis/batch/v1/namespaces/{NS}/",
                                     f"/apis/metrics.k8s.io/v1beta1/namespaces/{NS}/")) for r in fake_kube.requests)


def test_rollouts_newest_first_and_env_redacted(fake_kube):
    SCENARIOS["crashloop"](fake_kube)
    registry = kube_tools(NS, ToolBudget(10, 30, 3))
    rollouts = run(registry, "recent_rollouts", deployment="web")["result"]
    assert [(r["revision"], r["images"]) for r in rollouts] == [
        (2, ["registry.example/shop/web:1.4.2-debug"]), (1, ["registry.example/shop/web:1.4.1"])]
    deployment = json.dumps(run(registry, "get_resource", kind="Deployment", name="web"))
    assert "s3cr3t-token" not in deployment and "[REDACTED]" in deployment


def test_budget_caps_calls_and_repeated_failures(fake_kube):
    registry = kube_tools(NS, ToolBudget(per_tool=2, total=3, max_failures=2))
    for _ in range(2):
        assert run(registry, "get_resource", kind="Pod", name="missing")["errorType"] == "kubernetes_error"
    assert run(registry, "get_resource", kind="Pod", name="missing")["error"] == "tool get_resource budget exhausted (2 calls)"
    run(registry, "list_events")
    assert run(registry, "list_events")["error"] == "tool call budget exhausted (3 calls in total)"
