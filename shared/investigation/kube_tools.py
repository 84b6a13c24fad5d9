"""Read-only Kubernetes tools for the agent loop, bound to ONE namespace.

The namespace is fixed when the registry is built and is never a tool argument, so the model
cannot reach another namespace; every call is a GET/list through the official client. Secrets are
not readable at all, ConfigMaps only with secret-looking keys redacted; cluster-scoped kinds
(Nodes, PersistentVolumes, StorageClasses) only with the cluster-wide grant. Answers are trimmed (no managedFields) and redacted (env
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
from dataclasses import dataclass
from typing import Any

from shared.agent.tools import Tool, ToolRegistry
from shared.kube import api_client
from shared.llm.base import ToolSpec

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SECRETISH = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|KEY|CREDENTIAL", re.IGNORECASE)
REDACTED = "[REDACTED]"
MAX_LOG_LINES = 200
MAX_OWNER_DEPTH = 5

@dataclass(frozen=True)
class Kind:
    """Where a readable kind lives in the API: its path prefix, plural and scope."""

    prefix: str
    plural: str
    namespaced: bool = True


# What the tools may read. Secrets are absent on purpose (never readable); ConfigMaps are read with
# secret-looking keys redacted. Cluster-scoped kinds need the cluster-wide grant.
READABLE: dict[str, Kind] = {
    "Pod": Kind("/api/v1", "pods"),
    "Service": Kind("/api/v1", "services"),
    "PersistentVolumeClaim": Kind("/api/v1", "persistentvolumeclaims"),
    "ConfigMap": Kind("/api/v1", "configmaps"),
    "Endpoints": Kind("/api/v1", "endpoints"),
    "ResourceQuota": Kind("/api/v1", "resourcequotas"),
    "LimitRange": Kind("/api/v1", "limitranges"),
    "Deployment": Kind("/apis/apps/v1", "deployments"),
    "ReplicaSet": Kind("/apis/apps/v1", "replicasets"),
    "StatefulSet": Kind("/apis/apps/v1", "statefulsets"),
    "DaemonSet": Kind("/apis/apps/v1", "daemonsets"),
    "Job": Kind("/apis/batch/v1", "jobs"),
    "CronJob": Kind("/apis/batch/v1", "cronjobs"),
    "EndpointSlice": Kind("/apis/discovery.k8s.io/v1", "endpointslices"),
    "NetworkPolicy": Kind("/apis/networking.k8s.io/v1", "networkpolicies"),
    "Ingress": Kind("/apis/networking.k8s.io/v1", "ingresses"),
    "HorizontalPodAutoscaler": Kind("/apis/autoscaling/v2", "horizontalpodautoscalers"),
    "HTTPRoute": Kind("/apis/gateway.networking.k8s.io/v1", "httproutes"),
    "Node": Kind("/api/v1", "nodes", namespaced=False),
    "PersistentVolume": Kind("/api/v1", "persistentvolumes", namespaced=False),
    "StorageClass": Kind("/apis/storage.k8s.io/v1", "storageclasses", namespaced=False),
}
NAMESPACED_KINDS = tuple(k for k, v in READABLE.items() if v.namespaced)
CLUSTER_KINDS = tuple(k for k, v in READABLE.items() if not v.namespaced)
KINDS = NAMESPACED_KINDS
MAX_LIST_ITEMS = 50
MAX_CONFIG_VALUE = 2000
# Label and field selectors as kubectl writes them (no quoting tricks, bounded).
_SELECTOR = re.compile(r"^[A-Za-z0-9._/=!,()\- ]{1,256}$")


class ToolFailure(Exception):
    """A tool call that could not be answered; the model sees the message."""


def _get_path(path: str, query: list[tuple[str, str]] | None = None) -> bytes:
    """GET an API path through the official client (its auth and TLS), without deserialisation."""
    client = api_client()
    request = client.param_serialize("GET", path, query_params=query or [],
                                     header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
    response = client.call_api(*request)
    response.read()
    if not 200 <= response.status <= 299:
        raise _failure(response.status, response.reason, response.data)
    return response.data


def _api(class_name: str) -> Any:
    from kubernetes import client

    return getattr(client, class_name)(api_client())


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a client method without model deserialisation; ApiException → ToolFailure."""
    from kubernetes.client.exceptions import ApiException

    try:
        response = fn(*args, _preload_content=False, **kwargs)
    except ApiException as exc:
        raise _failure(exc.status, exc.reason, exc.body) from None
    return response.data


def _failure(status: Any, reason: str | None, body: Any) -> ToolFailure:
    """The API server's own message (a Status object's `message`) when it sent one."""
    message = reason or ""
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        message = json.loads(body or "{}").get("message") or message
    return ToolFailure(f"{status}: {message}")


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


def _config_data(obj: dict[str, Any]) -> dict[str, Any]:
    """A ConfigMap's keys with non-secret values (bounded); binary values by size only."""
    data = {}
    for key, value in (obj.get("data") or {}).items():
        if _SECRETISH.search(key):
            data[key] = REDACTED
        else:
            text = str(value)
            data[key] = text if len(text) <= MAX_CONFIG_VALUE else text[:MAX_CONFIG_VALUE] + "… (truncated)"
    for key, value in (obj.get("binaryData") or {}).items():
        data[key] = f"[binary, {len(str(value)) * 3 // 4} bytes]"
    return data


def trim(obj: dict[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k != "kubectl.kubernetes.io/last-applied-configuration"}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out: dict[str, Any] = {"kind": obj.get("kind"), "metadata": meta}
    kind = obj.get("kind")
    if kind == "ConfigMap":
        out["data"] = _config_data(obj)
    elif kind in ("Endpoints", "EndpointSlice"):
        for key in ("subsets", "endpoints", "ports", "addressType"):
            if key in obj:
                out[key] = obj[key]
    elif kind == "StorageClass":
        for key in ("provisioner", "reclaimPolicy", "volumeBindingMode", "allowVolumeExpansion", "parameters"):
            if key in obj:
                out[key] = obj[key]
    else:
        status = obj.get("status")
        if kind == "Node" and isinstance(status, dict):
            status = {k: v for k, v in status.items() if k not in ("images", "volumesAttached", "volumesInUse")}
        out.update({"spec": obj.get("spec"), "status": status})
    return redact(out)


def _pod_summary(item: dict[str, Any]) -> dict[str, Any]:
    status = item.get("status") or {}
    containers = status.get("containerStatuses") or []
    reasons = sorted({(c.get("state") or {}).get(state, {}).get("reason") or "" for c in containers
                      for state in ("waiting", "terminated")} - {""})
    last = sorted({((c.get("lastState") or {}).get("terminated") or {}).get("reason") or "" for c in containers}
                  - {""})
    return {"phase": status.get("phase"), "ready": f"{sum(bool(c.get('ready')) for c in containers)}/"
                                                    f"{len(containers)}",
            "restarts": sum(int(c.get("restartCount") or 0) for c in containers), "reasons": reasons,
            "lastTerminated": last, "node": (item.get("spec") or {}).get("nodeName")}


def summarise(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    """One line of a list: the name, labels and the status fields that tell healthy from not."""
    meta = item.get("metadata") or {}
    out: dict[str, Any] = {"name": meta.get("name"), "labels": meta.get("labels") or {},
                           "created": meta.get("creationTimestamp")}
    status, spec = item.get("status") or {}, item.get("spec") or {}
    if kind == "Pod":
        out.update(_pod_summary(item))
    elif kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        out.update({"replicas": spec.get("replicas"), "ready": status.get("readyReplicas", 0),
                    "updated": status.get("updatedReplicas", 0), "available": status.get("availableReplicas", 0)})
    elif kind == "DaemonSet":
        out.update({"desired": status.get("desiredNumberScheduled"), "ready": status.get("numberReady", 0)})
    elif kind == "Job":
        out.update({"active": status.get("active", 0), "succeeded": status.get("succeeded", 0),
                    "failed": status.get("failed", 0)})
    elif kind == "Node":
        out["conditions"] = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        out["unschedulable"] = bool(spec.get("unschedulable"))
        out["taints"] = [f"{t.get('key')}:{t.get('effect')}" for t in spec.get("taints") or []]
    elif kind in ("PersistentVolumeClaim", "PersistentVolume"):
        out["phase"] = status.get("phase")
    elif kind == "HorizontalPodAutoscaler":
        out.update({"current": status.get("currentReplicas"), "desired": status.get("desiredReplicas"),
                    "max": spec.get("maxReplicas")})
    return out


class KubeReader:
    """The read operations of one namespace (also used directly by the facades)."""

    def __init__(self, namespace: str, *, cluster_wide: bool = False) -> None:
        # "" = a cluster-scoped subject (Kubernaut's Node incident): its cluster-scoped kinds only, which
        # needs the cluster-wide grant.
        self.namespace = "" if not namespace and cluster_wide else _name(namespace, "namespace")
        self.cluster_wide = cluster_wide

    def kinds(self) -> tuple[str, ...]:
        if not self.namespace:
            return CLUSTER_KINDS
        return NAMESPACED_KINDS + (CLUSTER_KINDS if self.cluster_wide else ())

    def _collection(self, kind: str) -> str:
        info = READABLE.get(kind)
        if info is None or kind not in self.kinds():
            raise ToolFailure(f"unsupported kind {kind!r}; one of {', '.join(self.kinds())}")
        scope = f"/namespaces/{self.namespace}" if info.namespaced else ""
        return f"{info.prefix}{scope}/{info.plural}"

    def read(self, kind: str, name: str) -> dict[str, Any]:
        obj = json.loads(_get_path(f"{self._collection(kind)}/{_name(name)}"))
        obj.setdefault("kind", kind)
        return obj

    def list(self, kind: str, label_selector: str | None = None, field_selector: str | None = None
             ) -> dict[str, Any]:
        """A summary of each object of `kind` (in this namespace) matching the selectors."""
        query = []
        for key, value in (("labelSelector", label_selector), ("fieldSelector", field_selector)):
            if value:
                if not _SELECTOR.match(value):
                    raise ToolFailure(f"invalid {key} {value!r}")
                query.append((key, value))
        query.append(("limit", str(MAX_LIST_ITEMS + 1)))
        items = json.loads(_get_path(self._collection(kind), query)).get("items", [])
        return {"kind": kind, "items": [summarise(kind, item) for item in items[:MAX_LIST_ITEMS]],
                "truncated": len(items) > MAX_LIST_ITEMS}

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
            if ref.get("kind") not in NAMESPACED_KINDS:
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
        namespace = self.namespace if READABLE[kind].namespaced else ""
        return {"object": trim(obj), "owner_chain": chain, "root_owner": {**root, "namespace": namespace}}

    def events(self, kind: str | None = None, name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        selectors = []
        if name:
            selectors.append(f"involvedObject.name={_name(name)}")
        if kind:
            if not re.match(r"^[A-Za-z]{1,63}$", kind):
                raise ToolFailure(f"invalid kind {kind!r}")
            selectors.append(f"involvedObject.kind={kind}")
        if self.namespace:
            raw = _call(_api("CoreV1Api").list_namespaced_event, self.namespace,
                        field_selector=",".join(selectors) or None)
        else:  # a cluster-scoped object's events are in whichever namespace reported them
            raw = _call(_api("CoreV1Api").list_event_for_all_namespaces, field_selector=",".join(selectors) or None)
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


def kube_tools(namespace: str, budget: ToolBudget, *, cluster_wide: bool = False) -> ToolRegistry:
    """The investigation tools, bound to `namespace`; cluster-scoped kinds (Nodes, PersistentVolumes,
    StorageClasses) only for a caller with the cluster-wide grant."""
    reader = KubeReader(namespace, cluster_wide=cluster_wide)
    kind = {"type": "string", "enum": list(reader.kinds())}
    text = {"type": "string"}
    cluster_note = " Nodes, PersistentVolumes and StorageClasses are cluster-scoped." if cluster_wide else ""
    return ToolRegistry([
        _tool("get_resource", f"Get a resource in namespace {namespace} (spec, status) and its owner chain "
              "(Pod → ReplicaSet → Deployment, Pod → Job → CronJob). ConfigMaps show keys and non-secret "
              f"values; Secrets are never readable.{cluster_note}",
              {"kind": kind, "name": text}, ["kind", "name"],
              lambda a: reader.describe(a.get("kind", ""), a.get("name", "")), budget),
        _tool("list_resources", f"List resources of one kind in namespace {namespace}, optionally by label "
              "selector (app=web,tier!=db) or field selector (status.phase=Failed); each item is a summary "
              f"(Pods: phase, ready, restarts, failure reasons). At most {MAX_LIST_ITEMS} items.{cluster_note}",
              {"kind": kind, "label_selector": text, "field_selector": text}, ["kind"],
              lambda a: reader.list(a.get("kind", ""), a.get("label_selector") or None,
                                    a.get("field_selector") or None), budget),
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
