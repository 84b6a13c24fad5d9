"""The shapes of a security task's answer (findings, threat model, validation, patch) and of a threat
model a client saves: checked item by item by shared.security.results and the handlers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from shared.models.base import Model


class ModelFinding(Model):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=300)
    severity: Literal["critical", "high", "medium", "low", "info"]
    category: str = Field(min_length=1, max_length=100)
    file: str = Field(min_length=1, max_length=1000)
    line: int | None = Field(default=None, ge=1)
    description: str = Field(min_length=1, max_length=20000)
    evidence: str | None = Field(default=None, max_length=20000)
    recommendation: str | None = Field(default=None, max_length=20000)
    confidence: Literal["high", "medium", "low"] | None = None
    fingerprint: str | None = Field(default=None, max_length=200)

    @field_validator("severity", "confidence", "category", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("file")
    @classmethod
    def _relative(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError("must be a repository-relative path")
        return value


class ThreatModelBody(Model):
    model_config = ConfigDict(extra="forbid")
    summary: str = ""
    assets: list[Any] = Field(default_factory=list)
    entryPoints: list[Any] = Field(default_factory=list)
    trustBoundaries: list[Any] = Field(default_factory=list)
    threats: list[Any] = Field(default_factory=list)


class ValidationAnswer(Model):
    model_config = ConfigDict(extra="ignore")
    validationStatus: Literal["confirmed", "rejected", "inconclusive"]
    rationale: str = ""


class PatchAnswer(Model):
    model_config = ConfigDict(extra="ignore")
    summary: str
    diff: str
