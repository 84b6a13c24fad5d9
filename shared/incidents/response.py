"""IncidentResponse bodies: the real OpenAPI fields (incident_id, analysis, root_cause_analysis,
confidence, timestamp, is_actionable, needs_human_review, selected_workflow, …) plus the spec's
names (root_cause, investigation_outcome, actionable, detected_labels), which are compatible
optional additions.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from shared.clock import now_rfc3339
from shared.investigation.patch_filter import PATCH_TYPE, filter_patch

if TYPE_CHECKING:  # the investigation (agent loop, pydantic's Finding) loads with the first one, not at start
    from shared.investigation.engine import Outcome
    from shared.investigation.schema import Finding

HUMAN_REVIEW_REASONS = ("workflow_not_found", "image_mismatch", "parameter_validation_failed",
                        "no_matching_workflows", "low_confidence", "llm_parsing_error",
                        "investigation_inconclusive", "rca_incomplete", "alignment_check_failed",
                        "operator_escalation", "decision_expired")
RESOLVED_CONFIDENCE = 0.7
INCONCLUSIVE_CONFIDENCE = 0.5
# Kubernaut's parser adds this warning for investigation_outcome "resolved"; the AI Analysis controller
# closes the incident on it (hasProblemResolvedSignal), else a substantive RCA goes to human review.
PROBLEM_RESOLVED_WARNING = "Problem self-resolved"


def review_reason(text: str) -> str:
    """Kubernaut's mapping of free text to the enum, falling back to investigation_inconclusive."""
    lowered = text.lower().replace(" ", "_")
    for reason in HUMAN_REVIEW_REASONS:
        if reason in lowered:
            return reason
    if "parse" in lowered or "json" in lowered:
        return "llm_parsing_error"
    if "confidence" in lowered:
        return "low_confidence"
    return "investigation_inconclusive"


def _resource(request: dict[str, Any]) -> dict[str, str]:
    return {"kind": request["resource_kind"], "name": request["resource_name"],
            "namespace": request["resource_namespace"]}


def _target_parameters(request: dict[str, Any], finding: Finding) -> dict[str, str]:
    target = finding.remediation_target
    resource = ({"kind": target.kind, "name": target.name, "namespace": target.namespace or request["resource_namespace"]}
                if target else _resource(request))
    return {"TARGET_KIND": resource["kind"], "TARGET_NAME": resource["name"],
            "TARGET_NAMESPACE": resource["namespace"]}


def _catalogue_workflow(request: dict[str, Any], finding: Finding,
                        warnings: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    """The configured workflow the model selected, or (None, review reason) when it does not fit."""
    from shared.incidents.workflows import PATCH_WORKFLOW_ID, catalogue

    entry = catalogue().get(finding.workflow_id)
    if entry is None or entry.workflow_id == PATCH_WORKFLOW_ID:
        warnings.append(f"workflow {finding.workflow_id!r} not found in the workflow catalogue")
        return None, "workflow_not_found"
    if not entry.fits(request["resource_kind"]):
        warnings.append(f"no workflows matched: {entry.workflow_id} does not remediate {request['resource_kind']}")
        return None, "no_matching_workflows"
    given = {str(k): v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
             for k, v in finding.workflow_parameters.items()}
    missing = [name for name in entry.parameters if not given.get(name)]
    if missing:
        warnings.append(f"parameter validation failed: {entry.workflow_id} is missing required "
                        f"parameter(s) {', '.join(missing)}")
        return None, "parameter_validation_failed"
    parameters = {**given, **_target_parameters(request, finding)}
    return entry.selected(parameters, finding.confidence, finding.recommendation or finding.root_cause), None


def _patch_workflow(request: dict[str, Any], finding: Finding, warnings: list[str]) -> dict[str, Any] | None:
    """The proposed patch as the built-in k8s_patch workflow, after the allow-list and the target check."""
    from shared.incidents.workflows import PATCH_WORKFLOW_ID, catalogue

    if finding.patch is None:
        return None
    target = finding.patch.target
    allowed_targets = [_resource(request)]
    if finding.remediation_target is not None:
        allowed_targets.append({"kind": finding.remediation_target.kind, "name": finding.remediation_target.name,
                                "namespace": finding.remediation_target.namespace or request["resource_namespace"]})
    proposed = {"kind": target.kind, "name": target.name, "namespace": target.namespace or request["resource_namespace"]}
    if proposed["namespace"] != request["resource_namespace"] or proposed not in allowed_targets:
        warnings.append(f"patch dropped: it targets {proposed['kind']} {proposed['namespace']}/{proposed['name']}, "
                        "not the investigated resource or its remediation target")
        return None
    filtered = filter_patch(proposed["kind"], finding.patch.patch)
    if filtered.dropped:
        warnings.append("patch fields removed by the allow-list: " + ", ".join(filtered.dropped))
    if filtered.patch is None:
        warnings.append(f"patch dropped: {filtered.reason}")
        return None
    parameters = {"TARGET_KIND": proposed["kind"], "TARGET_NAME": proposed["name"],
                  "TARGET_NAMESPACE": proposed["namespace"], "PATCH_TYPE": PATCH_TYPE,
                  "PATCH": json.dumps(filtered.patch, separators=(",", ":"))}
    entry = catalogue()[PATCH_WORKFLOW_ID]
    return entry.selected(parameters, finding.confidence, finding.recommendation or finding.root_cause)


def completed(session_id: str, request: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
    finding = outcome.finding
    warnings: list[str] = []
    resolved = finding.resolved and finding.confidence >= RESOLVED_CONFIDENCE
    workflow, catalogue_reason = None, None
    if resolved:  # nothing to run: the controller closes the incident on the warning below
        warnings.append(f"{PROBLEM_RESOLVED_WARNING}: {finding.root_cause or finding.summary}")
    elif finding.workflow_id:
        workflow, catalogue_reason = _catalogue_workflow(request, finding, warnings)
    else:
        workflow = _patch_workflow(request, finding, warnings)
    if resolved:
        investigation_outcome = "resolved"
    elif finding.confidence < INCONCLUSIVE_CONFIDENCE:
        investigation_outcome = "inconclusive"
    elif workflow:
        investigation_outcome = "workflow_selected"
    else:
        investigation_outcome = "no_workflow"
    actionable = workflow is not None and not resolved
    reason = None
    if not resolved:
        if finding.confidence < INCONCLUSIVE_CONFIDENCE:
            reason = "low_confidence"
        elif workflow is None:
            reason = catalogue_reason or "no_matching_workflows"
    target = finding.remediation_target
    remediation_target = ({"kind": target.kind, "name": target.name,
                           "namespace": target.namespace or request["resource_namespace"]}
                          if target else _resource(request))
    tools_used = sorted({c["name"] for c in outcome.tool_calls})
    return {
        "incident_id": request["incident_id"],
        "session_id": session_id,
        "analysis": finding.summary,
        "root_cause_analysis": {
            "summary": finding.root_cause or finding.summary,
            "severity": finding.severity,
            "remediationTarget": remediation_target,
            "signal_name": request["signal_name"],
            "contributing_factors": finding.contributing_factors,
            "causal_chain": finding.causal_chain,
            "due_diligence": {"tools_used": tools_used, "tool_calls": len(outcome.tool_calls),
                              "llm_calls": outcome.llm_calls},
        },
        "confidence": finding.confidence,
        "timestamp": now_rfc3339(),
        "selected_workflow": workflow,
        "needs_human_review": reason is not None,
        "human_review_reason": reason,
        "is_actionable": actionable,
        "warnings": warnings,
        "alternative_workflows": [],
        "validation_attempts_history": [],
        "detected_labels": finding.detected_labels,
        # The spec's field names.
        "root_cause": finding.root_cause or finding.summary,
        "investigation_outcome": investigation_outcome,
        "actionable": actionable,
        "recommendation": finding.recommendation,
    }


def synthesized(session_id: str, request: dict[str, Any], status: str, error: str | None,
                reason: str | None = None) -> dict[str, Any]:
    """The body of a terminal session without a result (failed or cancelled)."""
    text = (f"Investigation failed: {error}" if status == "failed" else "Investigation cancelled") if not error \
        or status == "failed" else f"Investigation cancelled: {error}"
    return {
        "incident_id": request["incident_id"],
        "session_id": session_id,
        "analysis": text,
        "root_cause_analysis": {"summary": text, "severity": "unknown", "remediationTarget": _resource(request),
                                "signal_name": request["signal_name"], "contributing_factors": [],
                                "causal_chain": [], "due_diligence": {}},
        "confidence": 0.0,
        "timestamp": now_rfc3339(),
        "selected_workflow": None,
        "needs_human_review": True,
        "human_review_reason": reason or review_reason(error or ""),
        "is_actionable": False,
        "warnings": [text],
        "alternative_workflows": [],
        "validation_attempts_history": [],
        "detected_labels": {},
        "root_cause": "",
        "investigation_outcome": status,
        "actionable": False,
        "recommendation": "",
    }
