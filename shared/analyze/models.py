"""Request and response of `POST /analyze` (operator-llm-contract.txt; peers.md §2.2)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from shared.investigation.patch_filter import PATCH_TYPE
from shared.models.base import Model


def _list(value: Any) -> Any:
    # Go nil slices arrive as null: the contract coerces them to [].
    return [] if value is None else value


class EventIn(Model):
    model_config = ConfigDict(extra="ignore")
    type: str
    reason: str = ""
    message: str = ""
    firstTimestamp: str | None = None
    lastTimestamp: str | None = None


class NodeCondition(Model):
    model_config = ConfigDict(extra="ignore")
    type: str
    status: str
    reason: str = ""
    message: str = ""
    lastTransitionTime: str | None = None


class NodeIn(Model):
    model_config = ConfigDict(extra="ignore")
    name: str
    conditions: list[NodeCondition] = Field(default_factory=list)
    events: list[EventIn] = Field(default_factory=list)

    _nulls = field_validator("conditions", "events", mode="before")(_list)


class AnalyzeRequest(Model):
    model_config = ConfigDict(extra="ignore")
    resource_kind: str = Field(min_length=1, max_length=63)
    # Upstream defaults both to "" (`{"resource_kind": "Pod"}` alone is a valid request); a name that
    # is given must be a Kubernetes name, since the investigation reads the resource by it.
    resource_name: str = Field(default="", pattern=r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)?$")
    namespace: str = Field(default="", pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$")
    reason: str = ""
    events: list[EventIn] = Field(default_factory=list)
    nodes: list[NodeIn] = Field(default_factory=list)
    spec: dict[str, Any] = Field(default_factory=dict)
    recent_logs: list[str] = Field(default_factory=list)
    historical_logs: list[str] = Field(default_factory=list)

    _nulls = field_validator("events", "nodes", "recent_logs", "historical_logs", mode="before")(_list)

    @field_validator("spec", mode="before")
    @classmethod
    def _spec(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("reason", mode="before")
    @classmethod
    def _reason(cls, value: Any) -> Any:
        return "" if value is None else value


class Target(Model):
    kind: str
    namespace: str
    name: str


class Action(Model):
    type: Literal["k8s_patch"] = "k8s_patch"
    target: Target
    patch_type: str = PATCH_TYPE
    patch: dict[str, Any]


class AnalyzeResponse(Model):
    summary: str
    root_cause: str = ""
    recommendation: str
    action: Action | None = None


class OutcomeRequest(Model):
    model_config = ConfigDict(extra="ignore")
    resource_kind: str
    resource_name: str
    namespace: str
    outcome: str = "applied"


class OutcomeResponse(Model):
    status: Literal["ok", "not_found"]
    message: str


class Analysis(AnalyzeResponse):
    """One entry of GET /analyses."""

    timestamp: str
    resource_kind: str
    resource_name: str
    namespace: str
    reason: str


class ReportStep(Model):
    """One step of a report, numbered 1..n as upstream (its UI lists them by number)."""

    step: int = Field(ge=1)
    timestamp: str
    message: str
    title: str = ""  # Shoal addition: what kind of step (e.g. "Tool call: get_resource")


class Report(Model):
    """One entry of GET /reports."""

    timestamp: str
    resource_kind: str
    resource_name: str
    namespace: str
    reason: str
    steps: list[ReportStep]


class Status(Model):
    status: str


def _clamped_limit(value: Any) -> Any:
    # Upstream's `limit` is any integer (default 50); Shoal clamps it to 1..100 rather than refuse.
    return max(1, min(100, value)) if isinstance(value, int) else value


class ListQuery(Model):
    """`GET /analyses` and `/reports`: upstream's `limit`, plus Shoal's page cursor (the next page's
    token comes back in the `X-Continue` header, so the body stays upstream's plain list)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    limit: int = Field(50, description="Entries per page (default 50; clamped to 1..100)")
    continue_: str = Field("", alias="continue", description="The `X-Continue` header of the previous page")

    _clamp = field_validator("limit", mode="after")(_clamped_limit)


# What the prompt keeps of each input (the original's limits).
SPEC_CHARS = 4000
RECENT_LOG_LINES = 200
HISTORICAL_LOG_LINES = 300
NODES = 5
NODE_CONDITIONS = 20
NODE_EVENTS = 25
EVENTS = 50


def prompt_context(request: AnalyzeRequest) -> dict[str, Any]:
    """The caller's evidence, cut to the limits above."""
    import json

    spec = json.dumps(request.spec, default=str)
    return {
        "events": [e.model_dump(exclude_none=True) for e in request.events[-EVENTS:]],
        "nodes": [{"name": n.name,
                   "conditions": [c.model_dump(exclude_none=True) for c in n.conditions[:NODE_CONDITIONS]],
                   "events": [e.model_dump(exclude_none=True) for e in n.events[-NODE_EVENTS:]]}
                  for n in request.nodes[:NODES]],
        "spec": spec if len(spec) <= SPEC_CHARS else spec[:SPEC_CHARS] + "… (truncated)",
        "recent_logs": request.recent_logs[-RECENT_LOG_LINES:],
        "historical_logs": request.historical_logs[-HISTORICAL_LOG_LINES:],
    }


# The list answers (documented as arrays by the list routes' response_model).
AnalysisList = list[Analysis]
ReportList = list[Report]
