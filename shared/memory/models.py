"""The request and response models of the memory routes (memories, proposals, sessions).

The routes validate with these (`ctx.body()` / `ctx.query()`) and /openapi.json documents them. The
field checks are the services' own (shared.memory.common / memories / proposals), run before pydantic
sees a value, so the messages stay Orka's ("content is required", "tags must be a list of strings");
an unknown field is a 400 naming it (StrictModel), never dropped silently.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from shared.errors import Invalid
from shared.http.common_models import NamespaceQuery, QueryModel, StrictModel
from shared.http.params import limit_param
from shared.memory import memories, proposals, transcript_search
from shared.memory.common import bool_param, normalize_tags, optional_string, reject_server_fields
from shared.models.base import Model


def _text(name: str) -> Any:
    return BeforeValidator(lambda value: optional_string({name: value}, name))


def _go_bool(name: str) -> Any:
    return BeforeValidator(lambda value: bool_param({name: value}, name))


def _namespace(value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise Invalid("namespace must be a string")
    return value


def _content(value: Any) -> Any:
    memories.check_content(value)
    return value


def _only_true(name: str) -> Any:
    def check(value: Any) -> Any:
        if value is not True:
            raise Invalid(f"{name} can only be set to true")
        return value

    return BeforeValidator(check)


Namespace = Annotated[str | None, BeforeValidator(_namespace),
                      Field(description="The namespace; default: the caller's")]
Tags = Annotated[list[str], BeforeValidator(normalize_tags),
                 Field(description="Lower-cased and de-duplicated; a comma-separated string is accepted")]
Continue = Annotated[str | None, Field(alias="continue", description="The cursor of the previous page")]


def _checked_by(check: Any) -> Any:
    """A model validator running a service's own check on the raw body first (its Orka message wins)."""
    def run(cls: type, data: Any) -> Any:
        if isinstance(data, dict):
            check(data)
        return data

    return model_validator(mode="before")(classmethod(run))


def _refuse(fields: tuple[str, ...]) -> Any:
    return _checked_by(lambda data: reject_server_fields(data, fields))


def _require_content(data: dict[str, Any]) -> None:
    if "content" not in data:
        memories.check_content(None)


# ---- memories ----

class MemoryFields(StrictModel):
    namespace: Namespace = None
    tags: Tags = []
    sessionName: Annotated[str, _text("sessionName")] = ""
    agentName: Annotated[str, _text("agentName")] = ""
    taskName: Annotated[str, _text("taskName")] = ""
    parentTask: Annotated[str, _text("parentTask")] = ""
    source: Annotated[str, _text("source")] = Field("", description='Default "manual"')


class MemoryCreate(MemoryFields):
    """A new durable memory; `content` is redacted for secrets before it is stored."""

    _refused = _refuse(memories.SERVER_FIELDS)
    _content_present = _checked_by(_require_content)
    content: Annotated[str, BeforeValidator(_content), Field(min_length=1)]


def _absent() -> Any:
    """Optional without a default in the schema: absent means unchanged (never sent as null)."""
    return Field(None, json_schema_extra=lambda schema: schema.pop("default", None))


class MemoryUpdate(MemoryFields):
    """A partial merge: only the fields sent change; `disabled`/`deleted` may only be set to true."""

    _refused = _refuse(memories.SERVER_FIELDS)
    content: Annotated[str, BeforeValidator(_content), Field(min_length=1)] = _absent()
    disabled: Annotated[Literal[True], _only_true("disabled")] = _absent()
    deleted: Annotated[Literal[True], _only_true("deleted")] = _absent()


class Memory(Model):
    id: str
    namespace: str
    content: str
    tags: list[str]
    sessionName: str
    agentName: str
    taskName: str
    parentTask: str
    source: str
    sourceProposalId: str
    disabled: bool
    deleted: bool
    createdAt: str
    updatedAt: str
    lastRecalledAt: str | None
    recalledCount: int


class ListMetadata(Model):
    continue_: str | None = Field(None, alias="continue", description="Present when there is another page")


class MemoryList(Model):
    items: list[Memory]
    metadata: ListMetadata


class MemoryGetQuery(NamespaceQuery):
    includeDeleted: Annotated[bool, _go_bool("includeDeleted")] = False


class MemoryFilterQuery(QueryModel):
    """The filter of a memory list (MemoryFilter.from_args reads the same parameters)."""

    q: str = Field("", description="Text to find in the content or a tag (case-insensitive)")
    query: str = Field("", description="Same as q")
    tags: str = Field("", description="Comma-separated; every tag must match")
    ids: str = Field("", description="Comma-separated memory ids")
    sessionName: str = ""
    agentName: str = ""
    taskName: str = ""
    parentTask: str = ""
    source: str = ""
    includeDisabled: Annotated[bool, _go_bool("includeDisabled")] = False
    includeDeleted: Annotated[bool, _go_bool("includeDeleted")] = False


class MemoryListQuery(NamespaceQuery, MemoryFilterQuery):
    limit: limit_param(default=memories.DEFAULT_LIMIT, maximum=memories.MAX_LIMIT)  # type: ignore[valid-type]
    continue_: Continue = None


def worker_count(name: str, default: int, maximum: int) -> Any:
    """An optional non-negative integer of a worker route (Orka: anything else is 400 "invalid <name>";
    0 or absent is the default, more than the maximum is the maximum)."""
    def parse(value: Any) -> int:
        raw = str(value).strip() if value is not None else ""
        if not raw:
            return default
        try:
            number = int(raw)
        except ValueError:
            raise Invalid(f"invalid {name}") from None
        if number < 0:
            raise Invalid(f"invalid {name}")
        return min(number or default, maximum)

    return Annotated[int, BeforeValidator(parse),
                     Field(default, description=f"0 or absent: {default}; at most {maximum}")]


class WorkerMemoryQuery(MemoryFilterQuery):
    """`GET /internal/v1/memories/{namespace}`: a bare array, no cursor."""

    limit: worker_count("limit", memories.DEFAULT_LIMIT, memories.MAX_LIMIT)  # type: ignore[valid-type]


# ---- proposals ----

class ProposalCreate(StrictModel):
    """A reviewable proposal (a skill change or a memory); its status starts `pending`."""

    namespace: Namespace = None
    title: Annotated[str, Field(min_length=1)]
    type: Annotated[str, _text("type")] = Field("", description='"skill" (default) or "memory"')
    status: Literal["", "pending"] = ""
    description: Annotated[str, _text("description")] = ""
    content: Annotated[str, _text("content")] = ""
    patch: Annotated[str, _text("patch")] = ""
    skillName: Annotated[str, _text("skillName")] = ""
    taskName: Annotated[str, _text("taskName")] = ""
    agentName: Annotated[str, _text("agentName")] = ""
    sessionName: Annotated[str, _text("sessionName")] = ""
    parentTask: Annotated[str, _text("parentTask")] = ""
    _checks = _checked_by(proposals.check_create)


class ProposalReview(StrictModel):
    namespace: Namespace = None
    status: Literal["accepted", "rejected"]
    reviewer: Annotated[str, _text("reviewer")] = ""
    reviewNote: Annotated[str, _text("reviewNote")] = ""
    _checks = _checked_by(proposals.check_review)


class ProposalApply(StrictModel):
    namespace: Namespace = None
    appliedBy: Annotated[str, _text("appliedBy")] = ""


class Proposal(Model):
    model_config = ConfigDict(extra="allow")
    id: str
    namespace: str
    type: str
    title: str
    status: Literal["pending", "accepted", "rejected", "applied", "archived"]
    description: str = ""
    content: str = ""
    patch: str = ""
    reviewer: str = ""
    reviewNote: str = ""
    appliedMemoryId: str = ""
    appliedBy: str = ""
    createdAt: str
    updatedAt: str


class ProposalList(Model):
    items: list[Proposal]
    metadata: ListMetadata


class ProposalFilterQuery(QueryModel):
    q: str = Field("", description="Text to find in the title, description or content")
    query: str = Field("", description="Same as q")
    taskName: str = ""
    agentName: str = ""
    type: str = ""
    status: str = ""


class ProposalListQuery(NamespaceQuery, ProposalFilterQuery):
    limit: limit_param(default=proposals.DEFAULT_LIMIT, maximum=proposals.MAX_LIMIT)  # type: ignore[valid-type]
    continue_: Continue = None


class WorkerProposalQuery(ProposalFilterQuery):
    """`GET /internal/v1/memory-proposals/{namespace}`: a bare array, no cursor."""

    limit: worker_count("limit", proposals.DEFAULT_LIMIT, proposals.MAX_LIMIT)  # type: ignore[valid-type]


# ---- sessions ----

class SessionSummary(Model):
    id: str
    name: str
    namespace: str
    sessionType: str
    messageCount: int
    inputTokens: int
    outputTokens: int
    activeTask: str
    createdAt: str
    updatedAt: str


class Session(SessionSummary):
    transcript: str = Field(description="JSON Lines: one message per line")


class SessionList(Model):
    items: list[SessionSummary]
    metadata: ListMetadata


class SessionListQuery(NamespaceQuery):
    limit: limit_param(default=100, maximum=500)  # type: ignore[valid-type]
    continue_: Continue = None


class TranscriptSearchQuery(QueryModel):
    """`GET /internal/v1/sessions/{namespace}/search` (the `search_transcript` tool)."""

    query: str = Field("", description="The text to find (required)")
    sessionName: str = Field("", description="Only this session")
    excludeSessionName: str = Field("", description="Not this session (the caller's own)")
    roles: str = Field("", description="Comma-separated roles, e.g. user,assistant")
    limit: worker_count("limit", transcript_search.DEFAULT_LIMIT, transcript_search.MAX_LIMIT)  # type: ignore[valid-type]
    maxSnippetLength: worker_count("maxSnippetLength", transcript_search.DEFAULT_SNIPPET,  # type: ignore[valid-type]
                                   transcript_search.MAX_SNIPPET)


class TranscriptHit(Model):
    sessionName: str
    messageId: int | None = Field(description="The message's order in its session")
    stableMessageId: str
    role: str | None
    snippet: str
    createdAt: str | None
    name: str | None = Field(None, description="The tool's name, for a tool message")
