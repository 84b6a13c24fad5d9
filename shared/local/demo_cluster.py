"""The demo cluster of `make run` without a Kubernetes cluster: the tests' fake API server, seeded.

Namespace `demo` holds two failing workloads an investigation can find from evidence alone:
- Deployment `checkout` crash-loops: its container exits with code 1 and its previous log says
  `DATABASE_URL` is not set (BackOff events);
- Deployment `recommender`'s Pod is OOMKilled (exit code 137) under a memory limit of 128Mi.
Objects live in memory: Secrets created through `/api/v1/secrets` last until `make run` stops.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.local.fake_kube import FakeKubeAPI

NAMESPACE = "demo"
CRASHING = "checkout"
OOM = "recommender"
CRASHING_POD = "checkout-5d8f7b9c4-x7k2p"
OOM_POD = "recommender-6c9d7f8b5-q4m9z"
CORE, APPS = "/api/v1", "/apis/apps/v1"


def _ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner(kind: str, name: str) -> list[dict[str, Any]]:
    api = "apps/v1" if kind in ("Deployment", "ReplicaSet") else "v1"
    return [{"apiVersion": api, "kind": kind, "name": name, "uid": f"uid-{name}", "controller": True}]


def _workload(api: FakeKubeAPI, name: str, rs: str, pod: str, container: dict[str, Any],
              status: dict[str, Any]) -> None:
    labels = {"app": name}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [container]}}
    api.add(APPS, "deployments", NAMESPACE, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "uid": f"uid-{name}", "labels": labels,
                     "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template},
        "status": {"replicas": 1, "readyReplicas": 0, "unavailableReplicas": 1}})
    api.add(APPS, "replicasets", NAMESPACE, {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": rs, "uid": f"uid-{rs}", "labels": labels, "ownerReferences": _owner("Deployment", name),
                     "creationTimestamp": _ago(30),
                     "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template},
        "status": {"replicas": 1, "readyReplicas": 0}})
    api.add(CORE, "pods", NAMESPACE, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": pod, "uid": f"uid-{pod}", "labels": labels, "ownerReferences": _owner("ReplicaSet", rs)},
        "spec": {"containers": [container], "restartPolicy": "Always"},
        "status": {"phase": "Running", "containerStatuses": [{"name": container["name"], "image": container["image"],
                                                               "ready": False, **status}]}})


def _event(api: FakeKubeAPI, pod: str, reason: str, message: str, count: int) -> None:
    api.add(CORE, "events", NAMESPACE, {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{pod}.{reason.lower()}"},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": NAMESPACE},
        "type": "Warning", "reason": reason, "message": message, "count": count,
        "firstTimestamp": _ago(25), "lastTimestamp": _ago(1)})


def seed(api: FakeKubeAPI) -> FakeKubeAPI:
    """Fill `api` with the demo namespace (see the module docstring)."""
    api.add(CORE, "namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    _workload(api, CRASHING, "checkout-5d8f7b9c4", CRASHING_POD,
              {"name": "checkout", "image": "ghcr.io/shoal-dev/demo-checkout:1.4.2",
               "env": [{"name": "PORT", "value": "8080"}],
               "resources": {"limits": {"memory": "256Mi", "cpu": "500m"}}},
              {"restartCount": 7, "state": {"waiting": {"reason": "CrashLoopBackOff",
                                                        "message": "back-off 5m0s restarting failed container"}},
               "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": _ago(2)}}})
    _event(api, CRASHING_POD, "BackOff", "Back-off restarting failed container checkout", 7)
    api.previous_logs[(NAMESPACE, CRASHING_POD)] = (
        "checkout v1.4.2 starting\nloading configuration from environment\n"
        "FATAL: environment variable DATABASE_URL is not set\n")
    api.pod_logs[(NAMESPACE, CRASHING_POD)] = "checkout v1.4.2 starting\n"
    _workload(api, OOM, "recommender-6c9d7f8b5", OOM_POD,
              {"name": "recommender", "image": "ghcr.io/shoal-dev/demo-recommender:2.0.0",
               "resources": {"limits": {"memory": "128Mi"}, "requests": {"memory": "64Mi"}}},
              {"restartCount": 4, "state": {"running": {"startedAt": _ago(1)}},
               "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": _ago(1)}}})
    _event(api, OOM_POD, "BackOff", "Back-off restarting failed container recommender", 4)
    api.previous_logs[(NAMESPACE, OOM_POD)] = "recommender 2.0.0 starting\nloading model cache (512Mi)\n"
    api.pod_logs[(NAMESPACE, OOM_POD)] = "recommender 2.0.0 starting\n"
    return api


def demo_cluster() -> FakeKubeAPI:
    api = seed(FakeKubeAPI())
    api.record_requests = False
    return api
