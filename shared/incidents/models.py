"""The Kubernaut Agent schemas (openapi.json v1.6.0): IncidentRequest, the session answers, the stream."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from shared.models.base import Model

_K8S_NAME = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
# Empty for a cluster-scoped resource (a Node incident arrives with resource_namespace "").
_NAMESPACE = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$"


class BusinessClassification(Model):
    businessUnit: str | None = None
    serviceOwner: str | None = None
    criticality: str | None = None
    slaRequirement: str | None = None


class EnrichmentResults(Model):
    kubernetesContext: dict | None = None
    customLabels: dict[str, list[str]] | None = None
    businessClassification: BusinessClassification | None = None


class IncidentRequest(Model):
    model_config = ConfigDict(extra="ignore")  # added optional fields are compatible

    incident_id: str  # may be empty: only remediation_id has minLength 1 in Kubernaut's OpenAPI
    remediation_id: str = Field(min_length=1)
    signal_name: str
    severity: Literal["critical", "high", "warning", "info", "unknown"]
    signal_source: str
    # The resource is investigated through the Kubernetes API, so it must be a real name.
    resource_namespace: str = Field(pattern=_NAMESPACE, max_length=63)  # "" = cluster-scoped
    resource_kind: str = Field(min_length=1, max_length=63)
    resource_name: str = Field(pattern=_K8S_NAME, max_length=253)
    resource_api_version: str
    error_message: str
    environment: str
    priority: str
    risk_tolerance: str
    business_category: str
    cluster_name: str

    description: str | None = None
    cluster: str | None = None
    is_duplicate: bool | None = False
    occurrence_count: int | None = 0
    deduplication_window_minutes: int | None = None
    firing_time: str | None = None
    received_time: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    signal_labels: dict[str, str] | None = None
    signal_annotations: dict[str, str] | None = None
    enrichment_results: EnrichmentResults | None = None
    signal_mode: Literal["reactive", "proactive"] | None = None
    interactive: bool | None = False


# -- responses (Kubernaut's OpenAPI v1.6.0 names, fields and required lists) ------------------------
class AnalyzeAccepted(Model):
    session_id: str = Field(description="Unique session identifier for polling")


class SessionStatus(Model):
    session_id: str
    status: Literal["pending", "investigating", "completed", "failed", "cancelled", "user_driving", "unknown"]
    progress: str = Field("", description="Shoal addition: what the investigation is doing")
    error: str | None = Field(None, description="Error message when status is failed")
    acting_user: str | None = Field(None, description="Identity driving the investigation (interactive mode)")
    acting_user_groups: list[str] | None = None


class CancelSessionResponse(Model):
    session_id: str
    status: str = Field(description="Session status after cancellation (always 'cancelled')")


class SessionStatusChange(Model):
    """Shoal's answer to takeover (`user_driving`) and handback (`pending`)."""

    session_id: str
    status: str


class SessionSnapshot(Model):
    session_id: str
    status: str
    created_at: str | None = Field(description="ISO 8601 timestamp of session creation")
    metadata: dict[str, str | None] = Field(default_factory=dict,
                                            description="Request-level metadata (incident_id, remediation_id, …)")
    error: str | None = None
    cancelled_phase: str | None = None
    cancelled_at_turn: int | None = None
    rca_summary: str | None = None
    total_prompt_tokens: int | None = None
    total_completion_tokens: int | None = None


class IncidentResponse(Model):
    """Kubernaut's IncidentResponse; Shoal adds the spec's names (root_cause, investigation_outcome,
    actionable, …) as compatible optional fields, hence additional properties."""

    model_config = ConfigDict(extra="allow")

    incident_id: str
    analysis: str
    root_cause_analysis: dict[str, Any]
    confidence: float = Field(ge=0, le=1)
    timestamp: str
    needs_human_review: bool = False
    human_review_reason: str | None = None
    is_actionable: bool | None = None
    selected_workflow: dict[str, Any] | None = Field(
        None, description="workflow_id, execution_bundle, confidence, parameters (a catalogue entry)")
    warnings: list[str] = Field(default_factory=list)
    alternative_workflows: list[dict[str, Any]] = Field(default_factory=list)
    detected_labels: dict[str, Any] | None = None


class SessionEvent(Model):
    """The `data` of every `…/stream` event: its type again, the LLM turn, and per type a payload
    (`tool_call` {id,name,args}, `tool_result` {id,name,…}, `reasoning_delta` {content}, `error`
    {message}, `complete` {status,…}, `cancelled` {phase})."""

    type: str
    turn: int
    phase: str | None = None
    data: dict[str, Any] | None = None


class RuntimeConfig(Model):
    """`GET /config` (dev mode): the runtime configuration snapshot."""

    llm: dict[str, Any]
    max_sessions: int
    session_ttl_seconds: int
    max_turns: int
    tool_caps: dict[str, int]
    tool_timeout_seconds: float
