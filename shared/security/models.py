"""Request models of the RepositoryScan routes (Orka dialect; orka-api.txt, Security).

The service's own checks (shared.security.validation) run first and keep Orka's messages; the model
then refuses what they would have stored silently: a `spec` field that is not one of these is a
400 naming it (`spec.retries: unknown field`), as a Kubernetes strict server-side apply does.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field

from shared.errors import Invalid
from shared.http.common_models import NamespaceQuery, StrictModel
from shared.http.params import limit_param
from shared.models.base import Model


class NameRef(Model):
    """A reference to an object by name (`{"name": …}`)."""

    model_config = ConfigDict(extra="ignore")
    name: str


class RepositoryScanSpec(StrictModel):
    repoURL: str = Field(description="A credential-free GitHub repository root URL")
    analysisAgentRef: NameRef = Field(description="The Agent that reviews the slices")
    provider: Literal["github"] | None = None
    owner: str | None = Field(None, description="Parsed from repoURL; must match it when given")
    repository: str | None = Field(None, description="Parsed from repoURL; must match it when given")
    branch: str | None = Field(None, description='Default "main" unless only `ref` is set')
    ref: str | None = None
    validationMode: Literal["none", "light", "full", ""] | None = Field(None, description='Default "light"')
    schedule: str | None = Field(None, description="A 5-field cron expression")
    paths: list[str] | None = Field(None, description="Top-level review slices (at most 32)")
    gitSecretRef: NameRef | None = Field(None, description="The Secret whose token opens remediation pull requests")


class Metadata(Model):
    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    resourceVersion: str | int | None = Field(None, description="Update only: the optimistic-concurrency precondition")


class RepositoryScanBody(Model):
    """A RepositoryScan as created or replaced: `name`/`namespace` at the top level or in `metadata`.
    Top-level `apiVersion`/`kind` of a manifest are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    namespace: str | None = None
    metadata: Metadata | None = None
    spec: RepositoryScanSpec


class PageQuery(NamespaceQuery):
    """A child list (shared.security.routes.filtered_page): pages are read until `limit` items match."""

    limit: limit_param(default=50, maximum=500)  # type: ignore[valid-type]
    continue_: str | None = Field(None, alias="continue", description="The cursor of the previous page")
    cursor: str | None = Field(None, description="Same as continue")


class RepositoryListQuery(NamespaceQuery):
    limit: limit_param(default=100, maximum=500)  # type: ignore[valid-type]
    continue_: str | None = Field(None, alias="continue", description="The cursor of the previous page")


class SliceListQuery(PageQuery):
    status: str | None = None


class DroppedListQuery(PageQuery):
    scanRunID: str | None = None
    sliceID: str | None = None


def _one_of(name: str, values: tuple[str, ...], message: str = "") -> BeforeValidator:
    """Orka's wording for a closed filter ("severity must be one of …"); empty means absent."""
    def check(value: object) -> object:
        if value in ("", None):
            return None
        if value not in values:
            raise Invalid(message or f"{name} must be one of {', '.join(values)}")
        return value

    return BeforeValidator(check)


_SEVERITY = ("critical", "high", "medium", "low", "info")
_VALIDATION = ("unvalidated", "validating", "confirmed", "rejected", "inconclusive")


class FindingListQuery(PageQuery):
    """Filters with a closed set of values: anything else is a typo, answered 400 rather than an empty page."""

    severity: Annotated[Literal[_SEVERITY] | None, _one_of("severity", _SEVERITY)] = None  # type: ignore[valid-type]
    validationStatus: Annotated[Literal[_VALIDATION] | None,  # type: ignore[valid-type]
                                _one_of("validationStatus", _VALIDATION)] = None
    state: Annotated[Literal["open", "dismissed"] | None, _one_of("state", ("open", "dismissed"))] = None
    sliceID: str | None = None
    category: str | None = None
    recommended: Annotated[Literal["true", "false"] | None,
                           _one_of("recommended", ("true", "false"), "recommended must be true or false")] = None


def _reason(value: object) -> object:
    if value is not None and not isinstance(value, str):
        raise Invalid("reason must be a string")
    return value


class StateChange(StrictModel):
    """Dismiss or reopen a finding (an empty body is allowed)."""

    reason: Annotated[str | None, BeforeValidator(_reason)] = Field(None, description="Why it was dismissed")


class NoBody(StrictModel):
    """The action takes no fields: send no body or `{}` (a field is a 400 naming it)."""


class StoredMeta(Model):
    model_config = ConfigDict(extra="allow")
    name: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    creationTimestamp: str
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class RepositoryScan(Model):
    """A RepositoryScan as stored: the normalized spec (defaults filled in) and its status."""

    model_config = ConfigDict(extra="allow")
    apiVersion: Literal["core.orka.ai/v1alpha1"]
    kind: Literal["RepositoryScan"]
    metadata: StoredMeta
    spec: RepositoryScanSpec
    status: dict[str, object]


class ListMeta(Model):
    continue_: str | None = Field(None, alias="continue", description="Present when there is another page")


class RepositoryScanList(Model):
    items: list[RepositoryScan]
    metadata: ListMeta
