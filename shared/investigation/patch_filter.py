"""The server-side patch allow-list: what an LLM-proposed patch may change, per resource kind.

Kept: each container's `name` (the strategic-merge key), `image`, `env` (name + literal value;
valueFrom could mount a Secret, so it is dropped), `resources` (limits/requests), for Deployments
and StatefulSets `spec.replicas` and the readiness/liveness/startup probes' port, path, scheme and
timings (a wrong probe is a common cause; `exec` probes run commands and `httpGet.host` points the
kubelet elsewhere, so both are dropped; a Pod's probes are immutable). Container paths differ per
kind: Pod `spec.containers`, the others `spec.template.spec.containers`. Everything else
(securityContext, command, args, volumes, volumeMounts, hostPath, serviceAccountName,
initContainers, metadata) is dropped. Keys are matched case-insensitively and written in
Kubernetes' casing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PATCH_TYPE = "application/strategic-merge-patch+json"
CONTAINER_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
}
REPLICAS_KINDS = frozenset({"Deployment", "StatefulSet"})
PROBE_KINDS = frozenset({"Deployment", "StatefulSet"})
_CONTAINER_KEYS = {"name": "name", "image": "image", "env": "env", "resources": "resources"}
_PROBES = {"readinessprobe": "readinessProbe", "livenessprobe": "livenessProbe", "startupprobe": "startupProbe"}
_RESOURCE_KEYS = {"limits": "limits", "requests": "requests"}
# Probe timings: name → smallest allowed value (thresholds count from 1), all at most an hour.
_PROBE_TIMINGS = {"initialDelaySeconds": 0, "periodSeconds": 1, "timeoutSeconds": 1, "successThreshold": 1,
                  "failureThreshold": 1}
_PROBE_HANDLERS = {"httpGet": {"path", "port", "scheme"}, "tcpSocket": {"port"}, "grpc": {"port", "service"}}
_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")
_PROBE_PATH = re.compile(r"^/[\x21-\x7e]{0,1023}$")


@dataclass
class Filtered:
    patch: dict[str, Any] | None   # None: nothing allowed survived
    dropped: list[str]             # paths removed, for the report
    reason: str = ""               # why the patch is empty


def _get(mapping: Any, key: str) -> Any:
    """Case-insensitive lookup of `key` in a dict (None when absent or not a dict)."""
    if not isinstance(mapping, dict):
        return None
    for k, v in mapping.items():
        if isinstance(k, str) and k.lower() == key.lower():
            return v
    return None


def _keys_outside(mapping: Any, allowed: set[str], prefix: str) -> list[str]:
    if not isinstance(mapping, dict):
        return [prefix] if mapping is not None else []
    return [f"{prefix}.{k}" for k in mapping if not (isinstance(k, str) and k.lower() in allowed)]


def _env(value: Any, prefix: str, dropped: list[str]) -> list[dict[str, str]]:
    out = []
    for i, entry in enumerate(value if isinstance(value, list) else []):
        name, literal = _get(entry, "name"), _get(entry, "value")
        dropped.extend(_keys_outside(entry, {"name", "value"}, f"{prefix}[{i}]"))
        if isinstance(name, str) and name and isinstance(literal, str | int | float | bool):
            out.append({"name": name, "value": literal if isinstance(literal, str) else str(literal).lower()
                        if isinstance(literal, bool) else str(literal)})
        else:
            dropped.append(f"{prefix}[{i}]")
    if not isinstance(value, list):
        dropped.append(prefix)
    return out


def _quantities(value: Any, prefix: str, dropped: list[str]) -> dict[str, str]:
    out = {}
    for key, quantity in (value or {}).items() if isinstance(value, dict) else []:
        if isinstance(key, str) and isinstance(quantity, str | int | float) and not isinstance(quantity, bool):
            out[key] = str(quantity)
        else:
            dropped.append(f"{prefix}.{key}")
    return out


def _resources(value: Any, prefix: str, dropped: list[str]) -> dict[str, Any]:
    dropped.extend(_keys_outside(value, set(_RESOURCE_KEYS), prefix))
    out = {}
    for key, canonical in _RESOURCE_KEYS.items():
        quantities = _quantities(_get(value, key), f"{prefix}.{canonical}", dropped)
        if quantities:
            out[canonical] = quantities
    return out


def _port(value: Any) -> int | str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return value
    if isinstance(value, str) and _PORT_NAME.match(value):
        return value
    return None


def _handler(kind: str, value: Any, prefix: str, dropped: list[str]) -> dict[str, Any] | None:
    allowed = _PROBE_HANDLERS[kind]
    dropped.extend(_keys_outside(value, {k.lower() for k in allowed}, prefix))
    out: dict[str, Any] = {}
    port = _get(value, "port")
    if _port(port) is not None:
        out["port"] = _port(port)
    elif port is not None:
        dropped.append(f"{prefix}.port")
    path = _get(value, "path") if "path" in allowed else None
    if isinstance(path, str) and _PROBE_PATH.match(path):
        out["path"] = path
    elif path is not None:
        dropped.append(f"{prefix}.path")
    scheme = _get(value, "scheme") if "scheme" in allowed else None
    if scheme in ("HTTP", "HTTPS"):
        out["scheme"] = scheme
    elif scheme is not None:
        dropped.append(f"{prefix}.scheme")
    service = _get(value, "service") if "service" in allowed else None
    if isinstance(service, str) and len(service) <= 253:
        out["service"] = service
    elif service is not None:
        dropped.append(f"{prefix}.service")
    return out or None


def _probe(value: Any, prefix: str, dropped: list[str]) -> dict[str, Any] | None:
    """A probe's handler target and timings; exec handlers and httpGet host/headers are dropped."""
    allowed = {k.lower() for k in (*_PROBE_TIMINGS, *_PROBE_HANDLERS)}
    dropped.extend(_keys_outside(value, allowed, prefix))
    out: dict[str, Any] = {}
    for key, low in _PROBE_TIMINGS.items():
        number = _get(value, key)
        if isinstance(number, int) and not isinstance(number, bool) and low <= number <= 3600:
            out[key] = number
        elif number is not None:
            dropped.append(f"{prefix}.{key}")
    handlers = [k for k in _PROBE_HANDLERS if _get(value, k) is not None]
    if len(handlers) > 1:  # Kubernetes allows one handler: an ambiguous probe is dropped whole
        dropped.extend(f"{prefix}.{k}" for k in handlers)
    elif handlers:
        handler = _handler(handlers[0], _get(value, handlers[0]), f"{prefix}.{handlers[0]}", dropped)
        if handler:
            out[handlers[0]] = handler
    return out or None


def _container(entry: Any, prefix: str, dropped: list[str], *, probes: bool) -> dict[str, Any] | None:
    allowed = set(_CONTAINER_KEYS) | (set(_PROBES) if probes else set())
    dropped.extend(_keys_outside(entry, allowed, prefix))
    name = _get(entry, "name")
    if not isinstance(name, str) or not name:
        dropped.append(f"{prefix} (no container name)")
        return None
    out: dict[str, Any] = {"name": name}
    image = _get(entry, "image")
    if isinstance(image, str) and image.strip():
        out["image"] = image.strip()
    elif image is not None:
        dropped.append(f"{prefix}.image")
    if _get(entry, "env") is not None:
        env = _env(_get(entry, "env"), f"{prefix}.env", dropped)
        if env:
            out["env"] = env
    if _get(entry, "resources") is not None:
        resources = _resources(_get(entry, "resources"), f"{prefix}.resources", dropped)
        if resources:
            out["resources"] = resources
    for key, canonical in _PROBES.items() if probes else ():
        if _get(entry, key) is not None:
            probe = _probe(_get(entry, key), f"{prefix}.{canonical}", dropped)
            if probe:
                out[canonical] = probe
    return out if len(out) > 1 else None


def filter_patch(kind: str, patch: Any) -> Filtered:
    """The allowed part of `patch` for a resource of `kind`."""
    dropped: list[str] = []
    path = CONTAINER_PATHS.get(kind)
    if path is None:
        return Filtered(None, ["(all)"], f"patches to a {kind or 'resource'} are not allowed "
                                         f"(only {', '.join(CONTAINER_PATHS)})")
    if not isinstance(patch, dict):
        return Filtered(None, ["(all)"], "the proposed patch is not an object")
    result: dict[str, Any] = {}
    spec = _get(patch, "spec")
    dropped.extend(_keys_outside(patch, {"spec"}, "$"))
    allowed_spec = {"template"} if len(path) > 1 else {"containers"}
    if kind in REPLICAS_KINDS:
        allowed_spec.add("replicas")
    dropped.extend(_keys_outside(spec, allowed_spec, "spec"))
    replicas = _get(spec, "replicas") if kind in REPLICAS_KINDS else None
    if isinstance(replicas, int) and not isinstance(replicas, bool) and 0 <= replicas <= 1000:
        result.setdefault("spec", {})["replicas"] = replicas
    elif replicas is not None:
        dropped.append("spec.replicas")
    # Walk down to the pod spec that holds the containers (Pod: spec; others: spec.template.spec).
    pod_spec, walked = spec, "spec"
    if len(path) > 1:
        template = _get(spec, "template")
        dropped.extend(_keys_outside(template, {"spec"}, "spec.template"))
        pod_spec, walked = _get(template, "spec"), "spec.template.spec"
        dropped.extend(_keys_outside(pod_spec, {"containers"}, walked))
    containers = []
    raw = _get(pod_spec, "containers")
    for i, entry in enumerate(raw if isinstance(raw, list) else []):
        kept = _container(entry, f"{walked}.containers[{i}]", dropped, probes=kind in PROBE_KINDS)
        if kept:
            containers.append(kept)
    if containers:
        target = result.setdefault("spec", {})
        for step in path[1:]:
            target = target.setdefault(step, {})
        target["containers"] = containers
    if not result:
        return Filtered(None, dropped, "nothing in the proposed patch is an allowed change "
                                       "(container image, env, resources, probes, or replicas)")
    return Filtered(result, dropped)
