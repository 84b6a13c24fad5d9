"""Incident scenarios for the fake Kubernetes API, and scripted LLM investigations of them.

Each scenario seeds realistic objects (owner references, container statuses, events, logs) in
namespace `shop` and returns a script for the scripted LLM: the tool calls an investigator
would make, then the final JSON Finding.
"""

from __future__ import annotations

import json
from typing import Any

NS = "shop"
APPS = "/apis/apps/v1"
BATCH = "/apis/batch/v1"
CORE = "/api/v1"


def _owner(kind: str, name: str) -> list[dict[str, Any]]:
    api = {"ReplicaSet": "apps/v1", "Deployment": "apps/v1", "Job": "batch/v1"}[kind]
    return [{"apiVersion": api, "kind": kind, "name": name, "uid": f"uid-{name}", "controller": True}]


def _container(name: str, image: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": image, **extra}


def _deployment(kube, name: str, containers: list[dict[str, Any]], revision: int = 2) -> str:
    labels = {"app": name}
    kube.add(APPS, "deployments", NS, {"apiVersion": "apps/v1", "kind": "Deployment",
                                       "metadata": {"name": name, "labels": labels, "uid": f"uid-{name}"},
                                       "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                                                "template": {"metadata": {"labels": labels},
                                                             "spec": {"containers": containers}}},
                                       "status": {"replicas": 2, "unavailableReplicas": 2}})
    rs = f"{name}-7d9f{revision}"
    kube.add(APPS, "replicasets", NS, {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                       "metadata": {"name": rs, "labels": labels, "uid": f"uid-{rs}",
                                                    "ownerReferences": _owner("Deployment", name),
                                                    "annotations": {"deployment.kubernetes.io/revision": str(revision)}},
                                       "spec": {"replicas": 2, "template": {"spec": {"containers": containers}}},
                                       "status": {"replicas": 2, "readyReplicas": 0}})
    old = f"{name}-5c4b{revision - 1}"
    kube.add(APPS, "replicasets", NS, {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                       "metadata": {"name": old, "labels": labels, "uid": f"uid-{old}",
                                                    "ownerReferences": _owner("Deployment", name),
                                                    "annotations": {"deployment.kubernetes.io/revision": str(revision - 1)}},
                                       "spec": {"replicas": 0, "template": {"spec": {"containers": [
                                           {**containers[0], "image": "registry.example/shop/" + name + ":1.4.1"}]}}},
                                       "status": {"replicas": 0}})
    return rs


def _pod(kube, name: str, owner_kind: str, owner: str, containers: list[dict[str, Any]],
         statuses: list[dict[str, Any]], phase: str = "Running") -> None:
    kube.add(CORE, "pods", NS, {"apiVersion": "v1", "kind": "Pod",
                                "metadata": {"name": name, "ownerReferences": _owner(owner_kind, owner)},
                                "spec": {"containers": containers},
                                "status": {"phase": phase, "containerStatuses": statuses}})


def _event(kube, name: str, kind: str, obj: str, reason: str, message: str, type_: str = "Warning") -> None:
    kube.add(CORE, "events", NS, {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
                                  "involvedObject": {"kind": kind, "name": obj, "namespace": NS},
                                  "reason": reason, "message": message, "type": type_, "count": 5,
                                  "firstTimestamp": "2026-11-26T11:00:00Z", "lastTimestamp": "2026-11-26T11:05:00Z"})


def finding(summary: str, root_cause: str, *, patch: dict[str, Any] | None = None,
            target: dict[str, str] | None = None, confidence: float = 0.9, **extra: Any) -> dict[str, Any]:
    body = {"summary": summary, "root_cause": root_cause, "severity": "high", "confidence": confidence,
            "contributing_factors": extra.pop("contributing_factors", []),
            "causal_chain": extra.pop("causal_chain", []),
            "recommendation": extra.pop("recommendation", "Apply the patch."),
            "remediation_target": target, "detected_labels": {"gitOpsManaged": False}, **extra}
    if patch is not None:
        body["patch"] = {"target": target, "patch": patch}
    return body


def text(obj: dict[str, Any]) -> dict[str, Any]:
    return {"text": json.dumps(obj)}


def crashloop_bad_image(kube) -> list[dict[str, Any]]:
    """web: a rollout to an image without the server binary; the pod crash-loops with exit 127."""
    containers = [_container("web", "registry.example/shop/web:1.4.2-debug", env=[
        {"name": "API_TOKEN", "value": "s3cr3t-token"}])]
    rs = _deployment(kube, "web", containers)
    pod = f"{rs}-abcde"
    _pod(kube, pod, "ReplicaSet", rs, containers, [{
        "name": "web", "ready": False, "restartCount": 6, "image": containers[0]["image"],
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
        "lastState": {"terminated": {"exitCode": 127, "reason": "Error"}}}])
    kube.previous_logs[(NS, pod)] = "exec /app/server: no such file or directory\n"
    _event(kube, "web-bo", "Pod", pod, "BackOff", "Back-off restarting failed container web")
    target = {"kind": "Deployment", "name": "web", "namespace": NS}
    return [
        {"tool_calls": [{"name": "get_resource", "arguments": {"kind": "Pod", "name": pod}},
                        {"name": "list_events", "arguments": {"kind": "Pod", "name": pod}}]},
        {"tool_calls": [{"name": "pod_logs", "arguments": {"pod": pod, "previous": True}},
                        {"name": "recent_rollouts", "arguments": {"deployment": "web"}}]},
        text(finding("Pods of web crash-loop since revision 2.",
                     "Image registry.example/shop/web:1.4.2-debug has no /app/server binary (exit 127).",
                     target=target, causal_chain=["rollout to 1.4.2-debug", "exec fails", "CrashLoopBackOff"],
                     patch={"spec": {"template": {"spec": {"containers": [
                         {"name": "web", "image": "registry.example/shop/web:1.4.1"}]}}}},
                     recommendation="Roll back the image to 1.4.1.")),
    ]


def oom_killed(kube) -> list[dict[str, Any]]:
    """worker: the container exceeds its 64Mi limit and is OOMKilled."""
    containers = [_container("worker", "registry.example/shop/worker:2.0.0",
                             resources={"limits": {"memory": "64Mi"}, "requests": {"memory": "32Mi"}})]
    rs = _deployment(kube, "worker", containers)
    pod = f"{rs}-fghij"
    _pod(kube, pod, "ReplicaSet", rs, containers, [{
        "name": "worker", "ready": False, "restartCount": 4, "image": containers[0]["image"],
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}])
    target = {"kind": "Deployment", "name": "worker", "namespace": NS}
    return [
        {"tool_calls": [{"name": "get_resource", "arguments": {"kind": "Pod", "name": pod}},
                        {"name": "resource_usage", "arguments": {"pod": pod}}]},
        text(finding("worker is OOMKilled.", "The 64Mi memory limit is below the worker's working set.",
                     target=target, patch={"spec": {"template": {"spec": {"containers": [
                         {"name": "worker", "resources": {"limits": {"memory": "256Mi"}},
                          "securityContext": {"privileged": True}}]}}}},
                     recommendation="Raise the memory limit to 256Mi.")),
    ]


def failing_job(kube) -> list[dict[str, Any]]:
    """migrate: the Job's command does not exist in the image; only a command change would fix it."""
    containers = [_container("migrate", "registry.example/shop/migrate:3.1", command=["/bin/migrate.sh"])]
    kube.add(BATCH, "jobs", NS, {"apiVersion": "batch/v1", "kind": "Job",
                                 "metadata": {"name": "migrate", "uid": "uid-migrate"},
                                 "spec": {"backoffLimit": 2, "template": {"spec": {"containers": containers,
                                                                                   "restartPolicy": "Never"}}},
                                 "status": {"failed": 3}})
    pod = "migrate-x1y2z"
    _pod(kube, pod, "Job", "migrate", containers, [{
        "name": "migrate", "ready": False, "restartCount": 0, "image": containers[0]["image"],
        "state": {"terminated": {"exitCode": 127, "reason": "Error"}}}], phase="Failed")
    kube.pod_logs[(NS, pod)] = "sh: /bin/migrate.sh: not found\n"
    _event(kube, "migrate-bl", "Job", "migrate", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    target = {"kind": "Job", "name": "migrate", "namespace": NS}
    return [
        {"tool_calls": [{"name": "get_resource", "arguments": {"kind": "Job", "name": "migrate"}},
                        {"name": "list_events", "arguments": {"name": "migrate"}},
                        {"name": "pod_logs", "arguments": {"pod": pod}}]},
        text(finding("The migrate Job fails: its command is missing from the image.",
                     "/bin/migrate.sh does not exist in registry.example/shop/migrate:3.1.", target=target,
                     patch={"spec": {"template": {"spec": {"containers": [
                         {"name": "migrate", "command": ["/usr/local/bin/migrate"]}]}}}},
                     recommendation="Fix the Job's command to /usr/local/bin/migrate.")),
    ]


def missing_env(kube) -> list[dict[str, Any]]:
    """api: the new revision reads DATABASE_URL, which the Deployment does not set."""
    containers = [_container("api", "registry.example/shop/api:5.0.0", env=[{"name": "LOG_LEVEL", "value": "info"}])]
    rs = _deployment(kube, "api", containers)
    pod = f"{rs}-klmno"
    _pod(kube, pod, "ReplicaSet", rs, containers, [{
        "name": "api", "ready": False, "restartCount": 3, "image": containers[0]["image"],
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}])
    kube.previous_logs[(NS, pod)] = "Traceback (most recent call last):\nKeyError: 'DATABASE_URL'\n"
    target = {"kind": "Deployment", "name": "api", "namespace": NS}
    return [
        {"tool_calls": [{"name": "get_resource", "arguments": {"kind": "Deployment", "name": "api"}},
                        {"name": "pod_logs", "arguments": {"pod": pod, "previous": True}}]},
        text(finding("api crashes on start: DATABASE_URL is not set.",
                     "Revision 2 requires the DATABASE_URL environment variable, which is missing.", target=target,
                     patch={"spec": {"template": {"spec": {"containers": [
                         {"name": "api", "env": [{"name": "DATABASE_URL",
                                                  "value": "postgres://db.shop.svc:5432/api"}]}]}}}},
                     recommendation="Set DATABASE_URL on the api container.")),
    ]


SCENARIOS = {"crashloop": crashloop_bad_image, "oom": oom_killed, "job": failing_job, "env": missing_env}


def use_scripted_llm(monkeypatch, server) -> None:
    """Point the default provider at the scripted LLM wire server (the real OpenAI SDK)."""
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    monkeypatch.setenv("SHOAL_LLM_BASE_URL", server.url + "/v1")
    reset_settings()


def deliver(client, event) -> int:
    """POST an event to an event function's app in binary mode, as the broker does."""
    from shared.events.envelope import to_http

    headers, body = to_http(event)
    return client.post("/", headers=headers, data=body).status_code
