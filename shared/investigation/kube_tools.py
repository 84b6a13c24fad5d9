"""Read-only Kubernetes tools for the agent loop, bound to ONE namespace.

The namespace is fixed when the registry is built and is never a tool argument, so the model
cannot reach another namespace; every call is a GET/list through the official client (Secrets and
ConfigMaps are not readable at all). Answers are trimmed (no managedFields) and redacted (env
values with secret-like names, valueFrom references). A budget caps calls per tool, in total, and
repeated failures (Kubernaut's defaults: 10, 30, 3).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from shared.agent.tools import Tool, ToolRegistry
from shared.llm.base import ToolSpec

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SECRETISH = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|KEY|CREDENTIAL", re.IGNORECASE)
REDACTED = "[REDACTED]"
MAX_LOG_LINES = 200
MAX_OWNER_DEPTH = 5

# kind → (client API class, read method)
_READERS: dict[str, tuple[str, str]] = {
    "Pod": ("CoreV1Api", "read_namespaced_pod"),
    "Service": ("CoreV1Api", "read_namespaced_service"),
    "PersistentVolumeClaim": ("CoreV1Api", "read_namespaced_persistent_volume_claim"),
    "Deployment": ("AppsV1Api", "read_namespaced_deployment"),
    "ReplicaSet": ("AppsV1Api", "read_namespaced_replica_set"),
    "StatefulSet": ("AppsV1Api", "read_namespaced_stateful_set"),
    "DaemonSet": ("AppsV1Api", "read_namespaced_daemon_set"),
    "Job": ("BatchV1Api", "read_namespaced_job"),
    "CronJob": ("BatchV1Api", "read_namespaced_cron_job"),
}
KINDS = tuple(_READERS)


class ToolFailure(Exception):
    """A tool call that could not be answered; the model sees the message."""


def _api(class_name: str) -> Any:
    from kubernetes import client

    from shared.kube import api_client

    return getattr(client, class_name)(api_client())


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a client method without model deserialisation; ApiException → ToolFailure."""
    from kubernetes.client.exceptions import ApiException

    try:
        response = fn(*args, _preload_content=False, **kwargs)
    except ApiException as exc:
        message = exc.reason or ""
        with contextlib.suppress(ValueError):
            message = json.loads(exc.body or "{}").get("message") or message
        raise ToolFailure(f"{exc.status}: {message}") from None
    return response.data


def _name(value: Any, what: str = "name") -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ToolFailure(f"invalid {what} {value!r}")
    return value


def redact(obj: Any) -> Any:
    """A copy with secret-looking env values and every valueFrom replaced by a marker."""
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, value in obj.items():
        if key == "env" and isinstance(value, list):
            out[key] = [_redact_env(e) for e in value]
        elif key == "imagePullSecrets":
            out[key] = REDACTED
        else:
            out[key] = redact(value)
    return out


def _redact_env(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry
    entry = dict(entry)
    if "valueFrom" in entry:
        entry["valueFrom"] = REDACTED
    if "value" in entry and _SECRETISH.search(str(entry.get("name", ""))):
        entry["value"] = REDACTED
    return entry


def trim(obj: dict[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k != "kubectl.kubernetes.io/last-applied-configuration"}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return redact({"kind": obj.get("kind"), "metadata": meta, "spec": obj.get("spec"), "status": obj.get("status")})


class KubeReader:
    """The read operations of one namespace (also used directly by the facades)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = _name(namespace, "namespace")

    def read(self, kind: str, name: str) -> dict[str, Any]:
        if kind not in _READERS:
            raise ToolFailure(f"unsupported kind {kind!r}; one of {', '.join(KINDS)}")
        class_name, method = _READERS[kind]
        api = _api(class_name)
        obj = json.loads(_call(getattr(api, method), _name(name), self.namespace))
        obj.setdefault("kind", kind)
        return obj

    def owner_chain(self, obj: dict[str, Any]) -> list[dict[str, str]]:
        """Controller owners upward (Pod → ReplicaSet → Deployment …), as far as they are readable."""
        chain: list[dict[str, str]] = []
        current = obj
        for _ in range(MAX_OWNER_DEPTH):
            refs = (current.get("metadata") or {}).get("ownerReferences") or []
            ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
            if not ref:
                break
            chain.append({"kind": ref.get("kind", ""), "name": ref.get("name", "")})
            if ref.get("kind") not in _READERS:
                break
            try:
                current = self.read(ref["kind"], ref["name"])
            except ToolFailure:
                break
        return chain

    def describe(self, kind: str, name: str) -> dict[str, Any]:
        obj = self.read(kind, name)
        chain = self.owner_chain(obj)
        root = chain[-1] if chain else {"kind": kind, "name": name}
        return {"object": trim(obj), "owner_chain": chain, "root_owner": {**root, "namespace": self.namespace}}

    def events(self, kind: str | None = None, name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        selectors = []
        if name:
            selectors.append(f"involvedObject.name={_name(name)}")
        if kind:
            if not re.match(r"^[A-Za-z]{1,63}$", kind):
                raise ToolFailure(f"invalid kind {kind!r}")
            selectors.append(f"involvedObject.kind={kind}")
        raw = _call(_api("CoreV1Api").list_namespaced_event, self.namespace,
                    field_selector=",".join(selectors) or None)
        items = json.loads(raw).get("items", [])
        items.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        return [{"type": e.get("type"), "reason": e.get("reason"), "message": e.get("message"),
                 "count": e.get("count"), "involvedObject": {k: (e.get("involvedObject") or {}).get(k)
                                                             for k in ("kind", "name")},
                 "firstTimestamp": e.get("firstTimestamp"), "lastTimestamp": e.get("lastTimestamp")}
                for e in items[-limit:]]

    def logs(self, pod: str, container: str | None = None, previous: bool = False,
             tail_lines: int = MAX_LOG_LINES) -> str:
        kwargs: dict[str, Any] = {"tail_lines": max(1, min(int(tail_lines), MAX_LOG_LINES))}
        if container:
            kwargs["container"] = _name(container, "container")
        if previous:
            kwargs["previous"] = True
        data = _call(_api("CoreV1Api").read_namespaced_pod_log, _name(pod), self.namespace, **kwargs)
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)

    def rollouts(self, deployment: str, limit: int = 5) -> list[dict[str, Any]]:
        dep = self.read("Deployment", deployment)
        labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None
        raw = _call(_api("AppsV1Api").list_namespaced_replica_set, self.namespace, label_selector=selector)
        owned = [rs for rs in json.loads(raw).get("items", [])
                 if any(r.get("kind") == "Deployment" and r.get("name") == deployment
                        for r in (rs.get("metadata") or {}).get("ownerReferences") or [])]

        def revision(rs: dict[str, Any]) -> int:
            value = ((rs.get("metadata") or {}).get("annotations") or {}).get("deployment.kubernetes.io/revision")
            return int(value) if str(value or "").isdigit() else 0

        owned.sort(key=revision, reverse=True)
        return [{"name": rs["metadata"]["name"], "revision": revision(rs),
                 "created": rs["metadata"].get("creationTimestamp"),
                 "change_cause": (rs["metadata"].get("annotations") or {}).get("kubernetes.io/change-cause"),
                 "images": [c.get("image") for c in
                            (((rs.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers", [])],
                 "replicas": (rs.get("status") or {}).get("replicas", 0),
                 "readyReplicas": (rs.get("status") or {}).get("readyReplicas", 0)} for rs in owned[:limit]]

    def usage(self, pod: str) -> dict[str, Any]:
        try:
            raw = _call(_api("CustomObjectsApi").get_namespaced_custom_object, "metrics.k8s.io", "v1beta1",
                        self.namespace, "pods", _name(pod))
        except ToolFailure as exc:
            return {"available": False, "reason": f"metrics.k8s.io unavailable ({exc})"}
        data = json.loads(raw)
        return {"available": True, "timestamp": data.get("timestamp"),
                "containers": [{"name": c.get("name"), "usage": c.get("usage")} for c in data.get("containers", [])]}


class ToolBudget:
    """Caps per tool, in total, and repeated failures of one tool (then it is refused)."""

    def __init__(self, per_tool: int, total: int, max_failures: int) -> None:
        self.per_tool, self.total, self.max_failures = per_tool, total, max_failures
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self._lock = threading.Lock()

    def admit(self, name: str) -> str | None:
        """None when the call may run, else the reason it may not."""
        with self._lock:
            if sum(self.calls.values()) >= self.total:
                return f"tool call budget exhausted ({self.total} calls in total)"
            if self.calls[name] >= self.per_tool:
                return f"tool {name} budget exhausted ({self.per_tool} calls)"
            if self.failures[name] >= self.max_failures:
                return f"tool {name} disabled after {self.max_failures} failures"
            self.calls[name] += 1
            return None

    def failed(self, name: str) -> None:
        with self._lock:
            self.failures[name] += 1


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str],
          run: Callable[[dict[str, Any]], Any], budget: ToolBudget) -> Tool:
    def guarded(args: dict[str, Any]) -> Any:
        refused = budget.admit(name)
        if refused:
            return {"success": False, "error": refused, "errorType": "budget_exhausted"}
        try:
            return {"success": True, "result": run(args or {})}
        except ToolFailure as exc:
            budget.failed(name)
            return {"success": False, "error": str(exc), "errorType": "kubernetes_error"}

    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return Tool(ToolSpec(name, description, schema), guarded)


def kube_tools(namespace: str, budget: ToolBudget) -> ToolRegistry:
    """The investigation tools, all bound to `namespace`."""
    reader = KubeReader(namespace)
    kind = {"type": "string", "enum": list(KINDS)}
    text = {"type": "string"}
    return ToolRegistry([
        _tool("get_resource", f"Get a resource in namespace {namespace} (spec, status) and its owner chain "
              "(Pod → ReplicaSet → Deployment, Pod → Job → CronJob).",
              {"kind": kind, "name": text}, ["kind", "name"],
              lambda a: reader.describe(a.get("kind", ""), a.get("name", "")), budget),
        _tool("list_events", f"Recent Kubernetes events in namespace {namespace}, optionally for one object.",
              {"kind": text, "name": text}, [],
              lambda a: reader.events(a.get("kind") or None, a.get("name") or None), budget),
        _tool("pod_logs", "The last lines of a pod's container log; previous=true reads the log of the "
              "previous (crashed) container instance.",
              {"pod": text, "container": text, "previous": {"type": "boolean"},
               "tail_lines": {"type": "integer", "minimum": 1, "maximum": MAX_LOG_LINES}}, ["pod"],
              lambda a: reader.logs(a.get("pod", ""), a.get("container") or None, bool(a.get("previous")),
                                    int(a.get("tail_lines") or MAX_LOG_LINES)), budget),
        _tool("recent_rollouts", "The Deployment's recent revisions (ReplicaSets): images, replicas, age.",
              {"deployment": text}, ["deployment"], lambda a: reader.rollouts(a.get("deployment", "")), budget),
        _tool("resource_usage", "Current CPU and memory usage of a pod's containers (when metrics-server runs).",
              {"pod": text}, ["pod"], lambda a: reader.usage(a.get("pod", "")), budget),
    ])
