"""What the security routes answer: scan runs, slices, dropped output, findings, patch proposals,
threat models and remediation pull requests, as stored (documented in /openapi.json).

Orka's reference gives these shapes only in part (orka-behaviour.md, "Security scans and findings"),
so each lists the fields Shoal always writes as required and the rest as optional; stored documents
may carry more (`extra="allow"`), as the records grow with their lifecycle (validation, remediation).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from shared.models.base import Model
from shared.security.models import ListMeta


class _Stored(Model):
    model_config = ConfigDict(extra="allow")


class ScanRun(_Stored):
    id: str
    namespace: str
    repository: str
    phase: str = Field(description="queued, running, succeeded, failed or cancelled")
    trigger: str = Field(description="manual or schedule")
    createdAt: str
    slices: dict[str, str] = Field(description="sliceID → its state in this run")
    tasks: dict[str, str] = Field(description="sliceID → the Task reviewing it")
    findings: int
    dropped: int
    startedAt: str | None = None
    completedAt: str | None = None
    message: str | None = None


class ReviewSlice(_Stored):
    sliceID: str
    path: str
    title: str
    excludes: list[str] | None = Field(None, description="Sub-directories reviewed as slices of their own")
    status: str | None = None
    lastScanRunID: str | None = None
    taskName: str | None = None
    findings: int | None = None
    dropped: int | None = None
    message: str | None = None
    updatedAt: str | None = None


class DroppedFinding(_Stored):
    id: str
    scanRunID: str
    sliceID: str
    index: int
    reason: str = Field(description="Why the model's output item was rejected")
    raw: str = Field(description="The rejected output (at most 4000 characters)")
    createdAt: str


class Finding(_Stored):
    id: str
    namespace: str
    repository: str
    title: str
    severity: str = Field(description="critical, high, medium, low or info")
    category: str
    file: str
    line: int | None = None
    description: str
    evidence: str | None = None
    recommendation: str | None = None
    confidence: str | None = None
    fingerprint: str
    sliceID: str
    scanRunID: str
    lastScanRunID: str
    state: str = Field(description="open or dismissed")
    validationStatus: str = Field(description="unvalidated, validating, confirmed, rejected or inconclusive")
    recommended: bool = Field(description="A remediation candidate")
    createdAt: str
    updatedAt: str
    remediation: dict[str, Any] | None = Field(None, description="activePatch, receipt, pull request")


class PatchProposal(_Stored):
    id: str
    findingID: str
    namespace: str
    repository: str
    status: str = Field(description="pending, succeeded or failed")
    taskName: str
    createdAt: str
    completedAt: str | None = None
    verification: dict[str, Any] | None = Field(None, description="passed, and what was verified or why not")


class ThreatModel(_Stored):
    repository: str
    namespace: str
    summary: str
    assets: list[Any]
    entryPoints: list[Any]
    trustBoundaries: list[Any]
    threats: list[Any]
    source: str = Field(description="scan or user")
    updatedAt: str
    resourceVersion: str
    scanRunID: str | None = None
    updatedBy: str | None = None


class RemediationPullRequest(Model):
    prNumber: int
    prURL: str
    status: str = Field(description='"Open" once opened')


class ScanRunList(Model):
    items: list[ScanRun]
    metadata: ListMeta


class ReviewSliceList(Model):
    items: list[ReviewSlice]
    metadata: ListMeta


class DroppedFindingList(Model):
    items: list[DroppedFinding]
    metadata: ListMeta


class FindingList(Model):
    items: list[Finding]
    metadata: ListMeta


class PatchProposalList(Model):
    items: list[PatchProposal]
    metadata: ListMeta
