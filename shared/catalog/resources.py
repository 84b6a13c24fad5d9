"""The request and answer models of the catalog's CRD routes (agents, skills, tools, secrets, auth),
documented in /openapi.json. A route names them as strings ("shared.catalog.resources:AgentBody"):
they load with the first request that validates one, or with the document, not at cold start."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from shared.catalog.tool_spec import DEFAULT_TIMEOUT, METHODS
from shared.http.json_types import String
from shared.models.agent import AgentSpecInput, AgentSpecView
from shared.models.base import Model
from shared.models.skill import SkillSpec


def _object(value: Any) -> Any:
    if value is not None and not isinstance(value, dict):
        raise ValueError("expected an object")
    return value


class ObjectMeta(Model):
    """The metadata a body may carry; the server-managed fields of a read-modify-write (uid,
    creationTimestamp, generation) are ignored, as the Kubernetes API server does."""

    model_config = ConfigDict(extra="ignore")
    name: String = None
    namespace: String = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    resourceVersion: String = Field(None, description="Replace only this version (409 otherwise)")


class ResourceBody(Model):
    """A create or replace body: `metadata` (or `name`/`namespace`/`labels`/`annotations` at the top
    level) and `spec`; a create may also give the spec's fields flat at the top level (Orka's form)."""

    model_config = ConfigDict(extra="allow")
    apiVersion: String = None
    kind: String = None
    name: String = None
    namespace: String = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    metadata: ObjectMeta | None = None
    status: Any = Field(None, description="Ignored: the server owns the status")


class ResourceView(Model):
    apiVersion: str
    kind: str
    metadata: dict[str,
                   Any] = Field(description="name, namespace, uid, labels, annotations, creationTimestamp, "
                                                 "generation, resourceVersion")
    spec: dict[str, Any]
    status: dict[str, Any]


class PageMetadata(Model):
    continue_: str | None = Field(None, alias="continue",
                                  description="The next page's cursor; absent on the last")


def resource_models(kind: str, spec: type[BaseModel],
                    view_spec: type[BaseModel] | None = None) -> tuple[type[BaseModel], type[BaseModel]]:
    """(`<kind>Body`, `<kind>`): the request body, whose `spec` is documented by `spec` (the model the
    route's spec validation runs, with Orka's messages: shared.catalog.agents/skills/tool_spec; for
    Agents, that model widened to the Orka CRD shapes the route also accepts), and
    the resource as answered, whose spec is `view_spec` where the answer's shape differs."""
    from pydantic import PlainValidator, create_model

    documented = (Annotated[dict[str, Any] | None, PlainValidator(_object, json_schema_input_type=spec)],
                  None)
    body = create_model(f"{kind}Body", __base__=ResourceBody, __doc__=ResourceBody.__doc__, spec=documented)
    view = create_model(kind, __base__=ResourceView, spec=(view_spec or spec, ...))
    return body, view


def page_model(name: str, item: type[BaseModel]) -> type[BaseModel]:
    from pydantic import create_model

    return create_model(name, __base__=Model, items=(list[item], ...),  # type: ignore[valid-type]
                        metadata=(PageMetadata, ...))


# -- agents
AgentBody, Agent = resource_models("Agent", AgentSpecInput, AgentSpecView)
AgentList = page_model("AgentList", Agent)


# -- skills
SkillBody, Skill = resource_models("Skill", SkillSpec)


class SkillSummary(Model):
    name: str
    namespace: str
    displayName: str
    description: str
    version: str
    author: str
    tags: list[str]
    phase: str


SkillList = page_model("SkillList", SkillSummary)


# -- tools
# The documented shape of a Tool's spec (a REST body's spec is checked against these fields, then by
# the rules of shared.catalog.tool_spec).
class ToolHttpCall(Model):
    url: str | None = Field(None, description="http(s), no credentials (required unless spec.mcp)")
    method: str = Field("POST", description=", ".join(METHODS))
    headers: dict[str, str] | None = Field(None,
                                           description="Static headers; no credentials, no reserved ones")
    timeout: str = Field(DEFAULT_TIMEOUT, description="A Go duration")
    authSecretRef: dict[str, str] | None = Field(None,
                                                 description="{name, key}: operators only, not via REST")
    authInject: str = Field("header", description="header or body")
    authBodyKey: str | None = Field(None, description="Required when authInject is body")


class ToolMcpServer(Model):
    url: str | None = Field(None, description="A remote MCP server (Shoal extension)")
    path: str = "/mcp"
    substrateActor: dict[str, Any] | None = Field(None, description="{templateRef: {name}, poolRef?, boot?}")


class ToolSpec(Model):
    description: str
    parameters: dict[str, Any] | None = Field(None, description="The arguments' JSON Schema")
    http: ToolHttpCall | None = None
    mcp: ToolMcpServer | None = None


ToolBody, Tool = resource_models("Tool", ToolSpec)


class ToolSummary(Model):
    """A list entry: a built-in's metadata (builtin: true, parameters) or a Tool's (namespace, available, url)."""

    name: str
    builtin: bool
    description: str
    parameters: dict[str, Any] | None = None
    namespace: str | None = None
    available: bool | None = None
    url: str | None = None



ToolList = page_model("ToolList", ToolSummary)


# -- secrets and auth
class SecretName(Model):
    name: str
    namespace: str
    type: str


class Validation(Model):
    authenticated: bool
    kind: str
    subject: str
    username: str
    namespace: str | None
    groups: list[str]


class Identity(Model):
    """Orka's whoami fields; a Txn-Token caller also gets `transaction` (profile, id, scope, audience…)."""

    model_config = ConfigDict(extra="allow")
    authenticated: bool
    kind: str
    authType: str
    username: str
    uid: str
    groups: list[str]
    namespace: str
    subject: str
    email: str
    issuer: str
    roles: list[str]
    transaction: dict[str, object] | None = Field(None, description="Txn-Token callers only")


SecretList = page_model("SecretList", SecretName)
