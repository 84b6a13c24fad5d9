"""The Kubernaut Agent request schema (openapi.json v1.6.0, IncidentRequest)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_K8S_NAME = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
# Empty for a cluster-scoped resource (a Node incident arrives with resource_namespace "").
_NAMESPACE = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$"


class BusinessClassification(BaseModel):
    businessUnit: str | None = None
    serviceOwner: str | None = None
    criticality: str | None = None
    slaRequirement: str | None = None


class EnrichmentResults(BaseModel):
    kubernetesContext: dict | None = None
    customLabels: dict[str, list[str]] | None = None
    businessClassification: BusinessClassification | None = None


class IncidentRequest(BaseModel):
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
