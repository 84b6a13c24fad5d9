"""What an investigation is about (Subject) and what it answers (Finding), shared by both facades."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from shared.models.base import Model

Severity = Literal["critical", "high", "warning", "info", "unknown"]


@dataclass
class Subject:
    """The failing resource and everything the caller already knows about it."""

    kind: str
    name: str
    namespace: str
    reason: str = ""
    context: dict[str, Any] = field(default_factory=dict)  # facade-specific, rendered into the prompt
    # The caller holds the cluster-wide grant: the tools may also read Nodes, PVs and StorageClasses.
    cluster_wide: bool = False


class ResourceTarget(Model):
    model_config = ConfigDict(extra="ignore")
    kind: str
    name: str = ""
    namespace: str = ""


class ProposedPatch(Model):
    model_config = ConfigDict(extra="ignore")
    target: ResourceTarget
    patch: dict[str, Any]


class Finding(Model):
    """The model's structured answer (the final message is this JSON object)."""

    model_config = ConfigDict(extra="ignore")
    summary: str = Field(min_length=1)
    root_cause: str = ""
    severity: Severity = "unknown"
    confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    contributing_factors: list[str] = Field(default_factory=list)
    causal_chain: list[str] = Field(default_factory=list)
    recommendation: str = ""
    resolved: bool = False
    remediation_target: ResourceTarget | None = None
    patch: ProposedPatch | None = None
    detected_labels: dict[str, Any] = Field(default_factory=dict)
    # A workflow of the Kubernaut facade's catalogue (offered in the subject's context), else "".
    workflow_id: str = ""
    workflow_parameters: dict[str, Any] = Field(default_factory=dict)


ANSWER_INSTRUCTIONS = """When you have finished investigating, answer with ONLY one JSON object (no prose
around it) with these fields:
  "summary": one-paragraph summary of the failure (required),
  "root_cause": the root cause in one or two sentences,
  "severity": one of "critical", "high", "warning", "info", "unknown",
  "confidence": a number from 0 to 1,
  "contributing_factors": [strings], "causal_chain": [strings, cause first],
  "recommendation": what a human or the operator should do,
  "resolved": true only if the problem has already gone away,
  "remediation_target": {"kind", "name", "namespace"} of the resource to change (often the owner),
  "patch": null, or {"target": {"kind","name","namespace"}, "patch": <strategic merge patch>} changing only
           container image, env, resources, readiness/liveness/startup probes (httpGet path/port/scheme,
           tcpSocket or grpc port, delays, periods, timeouts, thresholds) of a Deployment or StatefulSet
           (each container identified by "name"), or spec.replicas,
  "detected_labels": {string: value} facts about the infrastructure you noticed (e.g. "gitOpsManaged": false)."""

_FENCE = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL)


class FindingParseError(ValueError):
    """The model's final answer is not a valid Finding."""


def parse_finding(text: str) -> Finding:
    """The Finding in a final answer: the whole text, a fenced block, or the outermost braces."""
    candidates = [text.strip()]
    fenced = _FENCE.search(text)
    if fenced:
        candidates.append(fenced.group(1))
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    last_error = "no JSON object in the answer"
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        try:
            return Finding.model_validate(data)
        except ValidationError as exc:
            last_error = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    raise FindingParseError(last_error)
