"""Request models of the RepositoryScan routes (Orka dialect; orka-api.txt, Security).

The service's own checks (shared.security.validation) run first and keep Orka's messages; the model
then refuses what they would have stored silently: a `spec` field that is not one of these is a
400 naming it (`spec.retries: unknown field`), as a Kubernetes strict server-side apply does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.http.models import QueryModel, StrictModel


class Ref(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str


class RepositoryScanSpec(StrictModel):
    repoURL: str = Field(description="A credential-free GitHub repository root URL")
    analysisAgentRef: Ref = Field(description="The Agent that reviews the slices")
    provider: Literal["github"] | None = None
    owner: str | None = Field(None, description="Parsed from repoURL; must match it when given")
    repository: str | None = Field(None, description="Parsed from repoURL; must match it when given")
    branch: str | None = Field(None, description='Default "main" unless only `ref` is set')
    ref: str | None = None
    validationMode: Literal["none", "light", "full", ""] | None = Field(None, description='Default "light"')
    schedule: str | None = Field(None, description="A 5-field cron expression")
    paths: list[str] | None = Field(None, description="Top-level review slices (at most 32)")
    gitSecretRef: Ref | None = Field(None, description="The Secret whose token opens remediation pull requests")


class Metadata(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    resourceVersion: str | int | None = Field(None, description="Update only: the optimistic-concurrency precondition")


class RepositoryScanBody(BaseModel):
    """A RepositoryScan as created or replaced: `name`/`namespace` at the top level or in `metadata`.
    Top-level `apiVersion`/`kind` of a manifest are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    namespace: str | None = None
    metadata: Metadata | None = None
    spec: RepositoryScanSpec


class NamespaceQuery(QueryModel):
    namespace: str | None = Field(None, description="The namespace; default: the caller's")
