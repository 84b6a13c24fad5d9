"""`/api/v1/agents/**`: Agent CRUD (Orka dialect). Bodies may use Orka's nested `spec.model` and
`spec.systemPrompt` or the flat strings; the stored spec is flat and answers are in Orka's shape
(`shared.catalog.agent_shape`)."""

from __future__ import annotations

from typing import Any

from shared.catalog import crd
from shared.catalog.agent_shape import canonical_spec, orka_view
from shared.catalog.stores import agents
from shared.errors import Invalid, NotFound
from shared.http import RequestContext, Router
from shared.http.models import Reply

router = Router("/api/v1/agents", dialect="orka", tag="agents")
NOT_FOUND = "agent not found"
CONFLICT = "agent was modified concurrently"


def _view(record: Any) -> dict[str, Any]:
    return orka_view(crd.view(record))


def validate_spec(spec: dict[str, Any]) -> dict[str, Any]:
    from pydantic import ValidationError

    from shared.models.agent import AgentSpec

    spec = canonical_spec(spec)
    crd.reject_unknown(spec, AgentSpec)
    try:
        return AgentSpec.model_validate(spec).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise Invalid(crd.pydantic_message(exc)) from None


@router.route("", ["POST"], summary="Create an agent", body="shared.catalog.resources:AgentBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={201: Reply("The created Agent", "shared.catalog.resources:Agent"), 409: "Duplicate"})
def create_agent(ctx: RequestContext):
    parsed = crd.read_body(ctx)
    name = crd.check_name(parsed.name)
    spec = validate_spec(parsed.spec)
    namespace = ctx.namespace(parsed.namespace)
    doc = crd.new_document("Agent", parsed, name, spec, {"phase": "Ready"})
    return _view(agents.create(namespace, name, doc, exists_message="agent already exists")), 201


@router.route("", ["GET"], summary="List agents", query="shared.http.common_models:PageQuery",
              responses={200: Reply("A page of agents", "shared.catalog.resources:AgentList")})
def list_agents(ctx: RequestContext):
    return crd.list_page(ctx, agents, _view)


@router.route("/<name>", ["GET"], summary="Get agent details",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The agent", "shared.catalog.resources:Agent"), 404: NOT_FOUND})
def get_agent(ctx: RequestContext, name: str):
    namespace = ctx.namespace()
    return _view(agents.require(namespace, name, NOT_FOUND))


@router.route("/<name>", ["PUT"], summary="Update an agent", body="shared.catalog.resources:AgentBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The updated agent", "shared.catalog.resources:Agent"), 404: NOT_FOUND,
                         409: CONFLICT})
def update_agent(ctx: RequestContext, name: str):
    parsed = crd.read_body(ctx, spec_required=True)
    crd.check_path_name(parsed, name)
    spec = validate_spec(parsed.spec)
    namespace = ctx.namespace(parsed.namespace)
    record = agents.require(namespace, name, NOT_FOUND)
    version = crd.expected_version(parsed, record, CONFLICT)
    doc = crd.replaced_document(record.doc, parsed, spec)
    return _view(agents.replace(namespace, name, doc, expected_version=version, conflict_message=CONFLICT))


@router.route("/<name>", ["DELETE"], summary="Delete an agent",
              query="shared.http.common_models:NamespaceQuery",
              responses={204: "Deleted", 404: NOT_FOUND})
def delete_agent(ctx: RequestContext, name: str):
    namespace = ctx.namespace()
    if not agents.delete(namespace, name):
        raise NotFound(NOT_FOUND)
    return None
