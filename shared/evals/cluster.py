"""A scenario's cluster snapshot, seeded into the fake Kubernetes API server.

Workload shorthands expand as the controllers would have created them: a Deployment owns one
ReplicaSet per revision (the current one owns the Pods), a StatefulSet, DaemonSet or Job owns its
Pods directly. Names are stable (a hash of the workload name and revision), so a scenario's
reference calls can name them. Times are relative to now (`minutes_ago`), as a live cluster's are.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.evals.scenario import Scenario, Workload
from shared.investigation.kube_tools import READABLE
from shared.local.fake_kube import FakeKubeAPI

CORE = "/api/v1"
METRICS = "/apis/metrics.k8s.io/v1beta1"
_API_VERSIONS = {"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1",
                 "DaemonSet": "apps/v1", "Job": "batch/v1"}


def ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def replicaset_name(workload: str, revision: int) -> str:
    """`<deployment>-5f7c9d8b<revision>`: a pod-template-hash a scenario author can write by hand."""
    return f"{workload}-5f7c9d8b{revision}"


def pod_name(workload: Workload, suffix: str) -> str:
    if workload.kind == "Deployment":
        return f"{replicaset_name(workload.name, workload.revision)}-{suffix}"
    if workload.kind == "StatefulSet":
        return f"{workload.name}-{suffix}"  # suffix is the ordinal
    return f"{workload.name}-{suffix}"


def _owner(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"apiVersion": _API_VERSIONS[kind], "kind": kind, "name": name, "uid": f"uid-{kind.lower()}-{name}",
             "controller": True, "blockOwnerDeletion": True}]


def _where(kind: str) -> tuple[str, str, bool]:
    if kind == "Event":
        return CORE, "events", True
    if kind == "Namespace":
        return CORE, "namespaces", False
    info = READABLE.get(kind)
    if info is None:
        raise ValueError(f"the fake API server has no place for kind {kind!r}")
    return info.prefix, info.plural, info.namespaced


def _add(api: FakeKubeAPI, namespace: str, obj: dict[str, Any]) -> None:
    prefix, plural, namespaced = _where(obj["kind"])
    obj.setdefault("apiVersion", "v1" if prefix == CORE else prefix.removeprefix("/apis/"))
    ns = namespace if namespaced else ""
    if ns:
        obj.setdefault("metadata", {})["namespace"] = ns
    api.add(prefix, plural, ns, obj)


def _ready(statuses: dict[str, dict[str, Any]]) -> bool:
    return bool(statuses) and all(s.get("ready") for s in statuses.values())


def _seed_workload(api: FakeKubeAPI, namespace: str, w: Workload) -> None:
    labels = w.labels or {"app": w.name}
    pod_spec = {"containers": w.containers, **({"initContainers": w.init_containers} if w.init_containers else {}),
                "restartPolicy": "Never" if w.kind == "Job" else "Always", **w.pod_spec}
    template = {"metadata": {"labels": labels}, "spec": pod_spec}
    ready = sum(1 for p in w.pods if p.phase == "Running" and _ready(p.statuses))
    meta = {"name": w.name, "uid": f"uid-{w.kind.lower()}-{w.name}", "labels": labels,
            "creationTimestamp": ago(max(w.minutes_ago, *(r.minutes_ago for r in w.previous), 60)),
            "generation": w.revision}
    annotations = dict(w.annotations)
    if w.kind == "Deployment":
        annotations["deployment.kubernetes.io/revision"] = str(w.revision)
    if annotations:
        meta["annotations"] = annotations
    spec: dict[str, Any] = {"selector": {"matchLabels": labels}, "template": template, **w.spec}
    if w.kind in ("Deployment", "StatefulSet"):
        spec["replicas"] = w.replicas
    if w.kind == "Job":
        spec.pop("selector")
        spec.setdefault("backoffLimit", 6)
    status = w.status
    if status is None:
        if w.kind == "Job":
            status = {"active": sum(p.phase == "Running" for p in w.pods),
                      "failed": sum(p.phase == "Failed" for p in w.pods),
                      "succeeded": sum(p.phase == "Succeeded" for p in w.pods)}
        elif w.kind == "DaemonSet":
            status = {"desiredNumberScheduled": len(w.pods), "currentNumberScheduled": len(w.pods),
                      "numberReady": ready, "numberUnavailable": len(w.pods) - ready}
        else:
            status = {"replicas": len(w.pods), "readyReplicas": ready, "availableReplicas": ready,
                      "updatedReplicas": len(w.pods), "observedGeneration": w.revision}
            if ready < w.replicas:
                status["unavailableReplicas"] = w.replicas - ready
    _add(api, namespace, {"kind": w.kind, "metadata": meta, "spec": spec, "status": status})
    owner = _owner(w.kind, w.name)
    if w.kind == "Deployment":
        owner = _owner("ReplicaSet", replicaset_name(w.name, w.revision))
        for revision, images, cause, minutes, replicas in (
                [(w.revision, {c["name"]: c["image"] for c in w.containers}, w.change_cause, w.minutes_ago,
                  len(w.pods))]
                + [(r.revision, r.images, r.change_cause, r.minutes_ago, 0) for r in w.previous]):
            containers = [{**c, "image": images.get(c["name"], c["image"])} for c in w.containers]
            rs_annotations = {"deployment.kubernetes.io/revision": str(revision)}
            if cause:
                rs_annotations["kubernetes.io/change-cause"] = cause
            name = replicaset_name(w.name, revision)
            current = revision == w.revision
            _add(api, namespace, {
                "kind": "ReplicaSet",
                "metadata": {"name": name, "uid": f"uid-replicaset-{name}", "labels": labels,
                             "annotations": rs_annotations, "ownerReferences": _owner("Deployment", w.name),
                             "creationTimestamp": ago(minutes)},
                "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                         "template": {**template, "spec": {**pod_spec, "containers": containers}}},
                "status": {"replicas": replicas, "readyReplicas": ready if current else 0,
                           "availableReplicas": ready if current else 0}})
    for pod in w.pods:
        name = pod_name(w, pod.suffix)
        statuses = [{"name": c["name"], "image": c["image"], "imageID": "", "ready": False, "restartCount": 0,
                     "started": False, **pod.statuses.get(c["name"], {})} for c in w.containers]
        status: dict[str, Any] = {"phase": pod.phase, "containerStatuses": statuses, "startTime": ago(w.minutes_ago)}
        if pod.init_statuses:
            status["initContainerStatuses"] = [{"name": n, "ready": False, "restartCount": 0, **s}
                                               for n, s in pod.init_statuses.items()]
        if pod.conditions:
            status["conditions"] = pod.conditions
        for key in ("reason", "message"):
            if getattr(pod, key):
                status[key] = getattr(pod, key)
        spec = {**pod_spec, **({"nodeName": pod.node} if pod.node else {})}
        _add(api, namespace, {"kind": "Pod", "metadata": {
            "name": name, "uid": f"uid-pod-{name}", "labels": labels, "ownerReferences": owner,
            "creationTimestamp": ago(w.minutes_ago)}, "spec": spec, "status": status})
        for store, logs in ((api.pod_logs, pod.logs), (api.previous_logs, pod.previous_logs)):
            for container, text in logs.items():
                store[(namespace, name, container)] = text
                if container == w.containers[0]["name"]:
                    store[(namespace, name)] = text  # no container named: the first one's
        if pod.usage is not None:
            api.add(METRICS, "pods", namespace, {
                "apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
                "metadata": {"name": name, "namespace": namespace}, "timestamp": ago(0), "window": "30s",
                "containers": [{"name": c, "usage": u} for c, u in pod.usage.items()]})


def seed(api: FakeKubeAPI, scenario: Scenario) -> None:
    """Put the scenario's cluster into `api` (which should be empty or hold other namespaces only)."""
    namespace = scenario.namespace
    if namespace:
        api.add(CORE, "namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for workload in scenario.cluster.workloads:
        _seed_workload(api, namespace, workload)
    for obj in scenario.cluster.objects:
        _add(api, namespace, dict(obj))
    for i, event in enumerate(scenario.cluster.events):
        kind, name = event.object.split("/", 1)
        where = event.namespace if event.namespace is not None else (namespace or "default")
        api.add(CORE, "events", where, {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{name}.{i:04d}{event.reason.lower()[:20]}", "namespace": where},
            "involvedObject": {"kind": kind, "name": name, **({"namespace": namespace} if namespace else {})},
            "type": event.type, "reason": event.reason, "message": event.message, "count": event.count,
            "firstTimestamp": ago(event.first_minutes_ago if event.first_minutes_ago is not None else event.minutes_ago),
            "lastTimestamp": ago(event.minutes_ago), "source": {"component": "kubelet"}})
