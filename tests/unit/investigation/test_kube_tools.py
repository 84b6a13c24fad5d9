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


def _failing_pods(fake_kube):
    for name, reason, labels in (("web-1", "CrashLoopBackOff", {"app": "web"}), ("web-2", None, {"app": "web"}),
                                 ("db-1", "ImagePullBackOff", {"app": "db"})):
        state = {"waiting": {"reason": reason}} if reason else {"running": {}}
        fake_kube.add("/api/v1", "pods", NS, {
            "metadata": {"name": name, "labels": labels}, "spec": {"nodeName": "node-a"},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "app", "ready": reason is None, "restartCount": 4 if reason else 0, "state": state,
                 "lastState": {"terminated": {"reason": "Error"}} if reason else {}}]}})


def test_list_resources_by_label_selector_gives_pod_summaries(fake_kube):
    _failing_pods(fake_kube)
    registry = kube_tools(NS, ToolBudget(10, 30, 3))
    listed = run(registry, "list_resources", kind="Pod", label_selector="app=web")["result"]
    assert listed == {"kind": "Pod", "truncated": False, "items": [
        {"name": "web-1", "labels": {"app": "web"}, "created": listed["items"][0]["created"], "phase": "Running",
         "ready": "0/1", "restarts": 4, "reasons": ["CrashLoopBackOff"], "lastTerminated": ["Error"],
         "node": "node-a"},
        {"name": "web-2", "labels": {"app": "web"}, "created": listed["items"][1]["created"], "phase": "Running",
         "ready": "1/1", "restarts": 0, "reasons": [], "lastTerminated": [], "node": "node-a"}]}
    request = fake_kube.requests[-1]
    assert request["path"] == f"/api/v1/namespaces/{NS}/pods"
    assert request["query"] == {"labelSelector": "app=web", "limit": "51"}
    refused = run(registry, "list_resources", kind="Pod", label_selector="app=web&x=`id`")
    assert refused == {"success": False, "error": "invalid labelSelector 'app=web&x=`id`'",
                       "errorType": "kubernetes_error"}


def test_configmaps_show_keys_and_non_secret_values_and_secrets_stay_unreadable(fake_kube):
    fake_kube.add("/api/v1", "configmaps", NS, {"metadata": {"name": "web-config"}, "data": {
        "DATABASE_HOST": "db.shop.svc", "API_TOKEN": "t0ps3cret", "big": "x" * 3000},
        "binaryData": {"cert.der": "AAAA"}})
    registry = kube_tools(NS, ToolBudget(10, 30, 3))
    result = run(registry, "get_resource", kind="ConfigMap", name="web-config")["result"]
    assert result["object"]["data"] == {"DATABASE_HOST": "db.shop.svc", "API_TOKEN": "[REDACTED]",
                                        "big": "x" * 2000 + "… (truncated)", "cert.der": "[binary, 3 bytes]"}
    assert "t0ps3cret" not in json.dumps(result)
    assert run(registry, "list_resources", kind="Secret")["error"].startswith("unsupported kind 'Secret'")


def test_cluster_scoped_kinds_need_the_cluster_wide_grant(fake_kube):
    fake_kube.add("/api/v1", "nodes", "", {
        "metadata": {"name": "node-a", "namespace": None}, "spec": {"taints": [{"key": "disk", "effect": "NoSchedule"}]},
        "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "DiskPressure", "status": "True"}],
                   "allocatable": {"cpu": "2"}, "images": [{"names": ["huge"]}]}})
    namespaced = kube_tools(NS, ToolBudget(10, 30, 3))
    assert "Node" not in namespaced.get("get_resource").spec.parameters["properties"]["kind"]["enum"]
    assert run(namespaced, "get_resource", kind="Node", name="node-a")["error"].startswith("unsupported kind 'Node'")
    wide = kube_tools(NS, ToolBudget(10, 30, 3), cluster_wide=True)
    node = run(wide, "get_resource", kind="Node", name="node-a")["result"]
    assert node["root_owner"] == {"kind": "Node", "name": "node-a", "namespace": ""}
    assert "images" not in node["object"]["status"] and node["object"]["status"]["allocatable"] == {"cpu": "2"}
    assert fake_kube.requests[-1]["path"] == "/api/v1/nodes/node-a"
    nodes = run(wide, "list_resources", kind="Node")["result"]["items"]
    assert [(n["name"], n["conditions"], n["taints"]) for n in nodes] == [
        ("node-a", {"Ready": "False", "DiskPressure": "True"}, ["disk:NoSchedule"])]
