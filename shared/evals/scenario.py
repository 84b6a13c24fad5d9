"""An evaluation scenario as data (`evals/scenarios/<id>/scenario.yaml`), validated by pydantic.

A scenario holds the cluster the tools will see (workload shorthands that expand to Deployment →
ReplicaSet → Pod with statuses and logs, any other object verbatim, events, metrics answers), the
incident request in one facade's shape, what a right answer says (`expect`) and the reference
investigation that the deterministic mode replays (`reference`). See docs/evals.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SCENARIO_FILE = "scenario.yaml"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "evals" / "scenarios"
TAGS = frozenset({"crashloop", "oom", "image-pull", "config", "network", "dependency", "chain-of-causation",
                  "self-resolved", "no-fix", "probe", "scheduling", "storage", "node", "rollout", "job",
                  "quota", "autoscaling", "red-herring", "security"})
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,50}[a-z0-9]$")
_REF = re.compile(r"^[A-Za-z]+/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
Keyword = str | list[str]  # a list: any one of these alternatives


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PodState(_Strict):
    """One Pod of a workload shorthand: its container statuses, logs and metrics answer."""

    suffix: str = Field(pattern=r"^[a-z0-9]{1,10}$")
    phase: str = "Running"
    node: str | None = None
    reason: str | None = None         # pod-level status reason (Evicted, …)
    message: str | None = None
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    # container name → containerStatus fields (ready, restartCount, state, lastState …)
    statuses: dict[str, dict[str, Any]] = Field(default_factory=dict)
    init_statuses: dict[str, dict[str, Any]] = Field(default_factory=dict)
    logs: dict[str, str] = Field(default_factory=dict)            # container → current log
    previous_logs: dict[str, str] = Field(default_factory=dict)   # container → the crashed instance's log
    usage: dict[str, dict[str, str]] | None = None                # container → {cpu, memory} (metrics.k8s.io)


class Revision(_Strict):
    """An older revision of a Deployment (a ReplicaSet scaled to zero): what `recent_rollouts` shows."""

    revision: int = Field(ge=1)
    images: dict[str, str]                                        # container → image
    change_cause: str | None = None
    minutes_ago: int = 1440


class Workload(_Strict):
    kind: Literal["Deployment", "StatefulSet", "DaemonSet", "Job"] = "Deployment"
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$")
    replicas: int = Field(default=1, ge=0)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    containers: list[dict[str, Any]] = Field(min_length=1)
    init_containers: list[dict[str, Any]] = Field(default_factory=list)
    pod_spec: dict[str, Any] = Field(default_factory=dict)          # more pod spec fields (volumes, nodeSelector …)
    spec: dict[str, Any] = Field(default_factory=dict)              # more workload spec fields (strategy, backoffLimit …)
    status: dict[str, Any] | None = None                            # the workload's status (default: from the pods)
    revision: int = Field(default=1, ge=1)
    change_cause: str | None = None
    minutes_ago: int = 30                                           # age of the current revision
    previous: list[Revision] = Field(default_factory=list)
    pods: list[PodState] = Field(default_factory=list)

    @field_validator("containers", "init_containers")
    @classmethod
    def _named(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for container in value:
            if not isinstance(container.get("name"), str) or not isinstance(container.get("image"), str):
                raise ValueError("every container needs a name and an image")
        return value


class EventSpec(_Strict):
    object: str = Field(pattern=_REF.pattern)   # Kind/name of the involved object
    reason: str
    message: str
    type: Literal["Warning", "Normal"] = "Warning"
    count: int = Field(default=1, ge=1)
    minutes_ago: int = Field(default=1, ge=0)          # lastTimestamp
    first_minutes_ago: int | None = None               # firstTimestamp (default: minutes_ago)
    namespace: str | None = None                       # where it was reported (a Node's event: "default")


class Cluster(_Strict):
    workloads: list[Workload] = Field(default_factory=list)
    objects: list[dict[str, Any]] = Field(default_factory=list)   # any readable kind, verbatim
    events: list[EventSpec] = Field(default_factory=list)

    @field_validator("objects")
    @classmethod
    def _objects(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from shared.investigation.kube_tools import READABLE

        for obj in value:
            if not obj.get("kind") or not (obj.get("metadata") or {}).get("name"):
                raise ValueError("every object needs a kind and metadata.name")
            if obj["kind"] not in READABLE:  # the tools could never see it (a Secret is never readable)
                raise ValueError(f"kind {obj['kind']} is not one the investigation tools read; "
                                 f"one of {', '.join(sorted(READABLE))}")
        return value


class IncidentSpec(_Strict):
    """The request: the failing resource and the facade it arrives through."""

    facade: Literal["kubernaut", "analyze"]
    kind: str
    name: str
    signal: str = ""                  # Kubernaut signal_name (e.g. KubePodCrashLooping) / analyze reason
    message: str = ""                 # Kubernaut error_message
    severity: Literal["critical", "high", "warning", "info", "unknown"] = "high"
    body: dict[str, Any] = Field(default_factory=dict)   # fields merged over the generated request body


def _text(value: Any) -> Any:
    """YAML reads 401 or 3000 as numbers; a keyword is text."""
    if isinstance(value, list):
        return [_text(v) for v in value]
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class Keywords(_Strict):
    required: list[Keyword] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)

    _texts = field_validator("required", "forbidden", mode="before")(_text)


class Objects(_Strict):
    required: list[str] = Field(default_factory=list)     # Kind/name the answer must name
    forbidden: list[str] = Field(default_factory=list)    # Kind/name the root cause must not blame

    @field_validator("required", "forbidden")
    @classmethod
    def _refs(cls, value: list[str]) -> list[str]:
        for ref in value:
            if not _REF.match(ref):
                raise ValueError(f"{ref!r} is not Kind/name")
        return value


class PatchExpectation(_Strict):
    """`fix`: a patch must survive the allow-list with these container fields; `no-fix`: none may."""

    expect: Literal["fix", "no-fix"]
    target: str | None = Field(default=None, pattern=_REF.pattern)
    container: str | None = None
    # dotted path inside the container (or `replicas`) → exact value, "*" (any), ">Q" (a quantity above Q)
    fields: dict[str, Any] = Field(default_factory=dict)


class Expect(_Strict):
    root_cause: str = Field(min_length=10)
    keywords: Keywords = Field(default_factory=Keywords)
    objects: Objects = Field(default_factory=Objects)
    remediation_target: str | None = Field(default=None, pattern=_REF.pattern)
    patch: PatchExpectation | None = None
    resolved: bool | None = None      # Kubernaut: investigation_outcome "resolved" expected (or not)


class ReferenceCall(_Strict):
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    expect: list[str] = Field(default_factory=list)   # substrings the tool's answer must contain

    _texts = field_validator("expect", mode="before")(_text)


class Reference(_Strict):
    """What a good investigation does: the calls that reach the evidence, then its answer (a Finding)."""

    calls: list[ReferenceCall] = Field(min_length=1)
    finding: dict[str, Any]

    @field_validator("finding")
    @classmethod
    def _finding(cls, value: dict[str, Any]) -> dict[str, Any]:
        from shared.investigation.schema import Finding

        Finding.model_validate(value)
        return value


class Scenario(_Strict):
    id: str = Field(pattern=_ID.pattern)
    title: str
    source: str = Field(min_length=10)   # where the failure mode comes from (a doc page, a postmortem)
    tags: list[str] = Field(min_length=1)
    namespace: str = ""                   # default eval-<id>; "" stays "" only for a cluster-scoped subject
    description: str = ""
    incident: IncidentSpec
    cluster: Cluster
    expect: Expect
    reference: Reference

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - TAGS)
        if unknown:
            raise ValueError(f"unknown tag(s) {', '.join(unknown)}; known: {', '.join(sorted(TAGS))}")
        return value

    @model_validator(mode="after")
    def _defaults(self) -> Scenario:
        if not self.namespace and self.incident.kind not in ("Node", "PersistentVolume", "StorageClass"):
            self.namespace = f"eval-{self.id}"[:63].rstrip("-")
        return self

    @property
    def cluster_scoped(self) -> bool:
        return not self.namespace


class ScenarioError(ValueError):
    """A scenario file that does not validate; the message names the file and the field."""


def load_scenario(directory: Path) -> Scenario:
    import yaml

    path = directory / SCENARIO_FILE
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ScenarioError(f"{path}: {detail}") from None
    if scenario.id != directory.name:
        raise ScenarioError(f"{path}: id {scenario.id!r} differs from its directory name {directory.name!r}")
    return scenario


def load_all(root: Path = DEFAULT_DIR, only: list[str] | None = None, tags: list[str] | None = None
             ) -> list[Scenario]:
    """Every scenario under `root` (sorted by id), optionally only some ids or those with some tag."""
    scenarios = [load_scenario(d) for d in sorted(root.iterdir()) if (d / SCENARIO_FILE).is_file()]
    if only:
        missing = sorted(set(only) - {s.id for s in scenarios})
        if missing:
            raise ScenarioError(f"no such scenario: {', '.join(missing)}")
        scenarios = [s for s in scenarios if s.id in only]
    if tags:
        scenarios = [s for s in scenarios if set(tags) & set(s.tags)]
    return scenarios
