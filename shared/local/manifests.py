"""Read the deployment manifests the local platform imitates: the same files, no second table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared import yaml_files

ROOT = Path(__file__).resolve().parents[2]
_DURATION = re.compile(r"^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


def load_documents(path: Path) -> list[dict[str, Any]]:
    with path.open() as handle:
        return [d for d in yaml_files.load_all(handle) if d]


@dataclass(frozen=True)
class FunctionDef:
    name: str
    kind: str  # "http" or "event"


@dataclass(frozen=True)
class RouteMatch:
    type: str   # "Exact" or "PathPrefix"
    value: str
    backend: str

    def matches(self, path: str) -> bool:
        if self.type == "Exact":
            return path == self.value
        prefix = self.value.rstrip("/")
        return prefix == "" or path == prefix or path.startswith(prefix + "/")


@dataclass(frozen=True)
class Delivery:
    retry: int = 0
    backoff_policy: str = "exponential"
    backoff_delay: float = 0.2
    dead_letter: str | None = None

    def delay(self, attempt: int) -> float:
        """Knative's backoff before retry number `attempt` (1-based)."""
        if self.backoff_policy == "linear":
            return self.backoff_delay * attempt
        return self.backoff_delay * (2 ** (attempt - 1))


@dataclass(frozen=True)
class TriggerDef:
    name: str
    attributes: dict[str, str]
    subscriber: str
    delivery: Delivery = field(default_factory=Delivery)

    def accepts(self, attributes: dict[str, Any]) -> bool:
        """Knative's legacy `filter.attributes`: exact match on every listed attribute."""
        return all(str(attributes.get(k)) == v for k, v in self.attributes.items())


def iso_seconds(text: str) -> float:
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"unsupported ISO-8601 duration {text!r}")
    h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s


def _delivery(spec: dict[str, Any] | None, default: Delivery) -> Delivery:
    if not spec:
        return default
    sink = (spec.get("deadLetterSink") or {}).get("ref", {}).get("name")
    return Delivery(retry=int(spec.get("retry", default.retry)),
                    backoff_policy=spec.get("backoffPolicy", default.backoff_policy),
                    backoff_delay=iso_seconds(spec["backoffDelay"]) if "backoffDelay" in spec else default.backoff_delay,
                    dead_letter=sink or default.dead_letter)


def functions(root: Path = ROOT) -> list[FunctionDef]:
    return [FunctionDef(d["metadata"]["name"], d["metadata"].get("labels", {}).get("shoal.dev/kind", "http"))
            for d in load_documents(root / "knative" / "services.yaml") if d.get("kind") == "Service"]


def routes(root: Path = ROOT) -> list[RouteMatch]:
    """Every path match of every HTTPRoute rule, with the Service it goes to."""
    found = []
    for doc in load_documents(root / "infra" / "httproutes.yaml"):
        if doc.get("kind") != "HTTPRoute":
            continue
        for rule in doc["spec"].get("rules", []):
            backend = rule["backendRefs"][0]["name"]
            for match in rule.get("matches", [{"path": {"type": "PathPrefix", "value": "/"}}]):
                path = match.get("path", {"type": "PathPrefix", "value": "/"})
                found.append(RouteMatch(path.get("type", "PathPrefix"), path.get("value", "/"), backend))
    return found


def pick_route(table: list[RouteMatch], path: str) -> RouteMatch | None:
    """Gateway API precedence: an Exact match first, then the longest matching PathPrefix."""
    return Router(table).pick(path)


class Router:
    """`pick_route` with the table indexed once: a path costs a dict probe per segment, not a test per rule."""

    def __init__(self, table: list[RouteMatch]) -> None:
        self.exact: dict[str, RouteMatch] = {}
        self.prefixes: dict[str, RouteMatch] = {}  # by the prefix without its trailing slash
        for route in table:
            if route.type == "Exact":
                self.exact.setdefault(route.value, route)
            elif route.type == "PathPrefix":
                known = self.prefixes.setdefault(route.value.rstrip("/"), route)
                if len(route.value) > len(known.value):
                    self.prefixes[route.value.rstrip("/")] = route

    def pick(self, path: str) -> RouteMatch | None:
        if (route := self.exact.get(path)) is not None:
            return route
        candidate = path  # then the path and each of its parents, longest first: "/a/b", "/a", ""
        while (route := self.prefixes.get(candidate)) is None:
            cut = candidate.rfind("/")
            if cut < 0:
                return None
            candidate = candidate[:cut]
        return route


def triggers(root: Path = ROOT) -> list[TriggerDef]:
    broker_docs = load_documents(root / "knative" / "broker.yaml")
    default = _delivery(next((d["spec"].get("delivery") for d in broker_docs if d.get("kind") == "Broker"), None),
                        Delivery())
    return [TriggerDef(d["metadata"]["name"], dict((d["spec"].get("filter") or {}).get("attributes") or {}),
                       d["spec"]["subscriber"]["ref"]["name"], _delivery(d["spec"].get("delivery"), default))
            for d in load_documents(root / "knative" / "triggers.yaml") if d.get("kind") == "Trigger"]
