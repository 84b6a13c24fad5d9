"""`/api/agents/**` and `/api/instructions/**` of the labrats dialect."""

from __future__ import annotations

from shared.auth.api_keys import authenticate_dashboard
from shared.catalog.stores import agents
from shared.clock import now_rfc3339
from shared.errors import Conflict, Invalid, NotFound
from shared.http import RequestContext, Router
from shared.jobs import agents as model
from shared.jobs import instructions as instruction_model
from shared.jobs import stores
from shared.jobs.triggers import all_agents, find_by_trigger, matching
from shared.store import AlreadyExists

agents_router = Router("/api/agents", dialect="simple", tag="labrats agents", authenticator=authenticate_dashboard)
instructions_router = Router("/api/instructions", dialect="simple", tag="labrats instructions",
                             authenticator=authenticate_dashboard)
AGENT_NOT_FOUND = "Agent not found"
INSTRUCTION_NOT_FOUND = "Instruction not found"


def _check_trigger_free(namespace: str, trigger: str, owner: str | None) -> None:
    # Best effort (a partition read): trigger names are looked up as unique by by-trigger and chains.
    other = find_by_trigger(namespace, trigger)
    if other is not None and other.name != owner:
        raise Conflict(f'triggerName "{trigger}" is already used by agent "{other.name}"')


# -- agents --------------------------------------------------------------------------------
@agents_router.route("", ["GET"], summary="List agents")
def list_agents(ctx: RequestContext):
    return [model.view(r) for r in all_agents(ctx.namespace(query=False))]


@agents_router.route("", ["POST"], summary="Create an agent", responses={201: "The agent"})
def create_agent(ctx: RequestContext):
    body = ctx.json_object()
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise Invalid("name is required")
    fields = model.validate_fields(body, partial=False)
    doc = model.new_record_doc(name, fields)
    namespace = ctx.namespace(query=False)
    _check_trigger_free(namespace, doc["spec"]["triggerName"], None)
    record = agents.create(namespace, name, doc, exists_message=f'agent "{name}" already exists')
    return model.view(record), 201


@agents_router.route("/seed", ["POST"], summary="Create the default agents that are missing")
def seed(ctx: RequestContext):
    namespace = ctx.namespace(query=False)
    seeded = 0
    for name, fields in model.default_agents():
        try:
            agents.create(namespace, name, model.new_record_doc(name, fields))
            seeded += 1
        except AlreadyExists:
            continue
    return {"seeded": seeded}


@agents_router.route("/triggers", ["GET"], summary="Agents whose enabled event triggers match ?source=&event=")
def triggers(ctx: RequestContext):
    source = ctx.args.get("source") or None
    event = ctx.args.get("event") or None
    return [model.view(agent) for agent, _ in matching(ctx.namespace(query=False), source, event)]


@agents_router.route("/by-trigger/<trigger_name>", ["GET"], summary="Find an agent by trigger name")
def by_trigger(ctx: RequestContext, trigger_name: str):
    record = find_by_trigger(ctx.namespace(query=False), trigger_name)
    if record is None:
        raise NotFound(AGENT_NOT_FOUND)
    return model.view(record)


@agents_router.route("/<agent_id>", ["GET"], summary="Agent detail")
def get_agent(ctx: RequestContext, agent_id: str):
    return model.view(agents.require(ctx.namespace(query=False), agent_id, AGENT_NOT_FOUND))


@agents_router.route("/<agent_id>", ["PATCH"], summary="Update any subset of an agent's fields")
def patch_agent(ctx: RequestContext, agent_id: str):
    namespace = ctx.namespace(query=False)
    fields = model.validate_fields(ctx.json_object(), partial=True)
    agents.require(namespace, agent_id, AGENT_NOT_FOUND)
    if "triggerName" in fields:
        _check_trigger_free(namespace, fields["triggerName"], agent_id)
    record = agents.update(namespace, agent_id, lambda doc: model.apply_patch(doc, fields),
                                  not_found_message=AGENT_NOT_FOUND)
    return model.view(record)


@agents_router.route("/<agent_id>", ["DELETE"], summary="Delete an agent")
def delete_agent(ctx: RequestContext, agent_id: str):
    if not agents.delete(ctx.namespace(query=False), agent_id):
        raise NotFound(AGENT_NOT_FOUND)
    return {"deleted": agent_id}


@agents_router.route("/<agent_id>/instructions", ["GET"],
                     summary="Resolved instructions: globals by priority, then the agent's locals")
def agent_instructions(ctx: RequestContext, agent_id: str):
    namespace = ctx.namespace(query=False)
    record = agents.require(namespace, agent_id, AGENT_NOT_FOUND)
    return instruction_model.resolve_for_agent(namespace, record)


# -- instructions --------------------------------------------------------------------------
@instructions_router.route("", ["GET"], summary="List instructions (?scope=global|local)")
def list_instructions(ctx: RequestContext):
    scope = ctx.args.get("scope")
    if scope not in (None, "", "global", "local"):
        raise Invalid("scope must be global or local")
    records = instruction_model.all_instructions(ctx.namespace(query=False))
    views = [instruction_model.view(r) for r in records]
    return [v for v in views if not scope or v["scope"] == scope]


@instructions_router.route("", ["POST"], summary="Create an instruction", responses={201: "The instruction"})
def create_instruction(ctx: RequestContext):
    fields = instruction_model.validate(ctx.json_object(), partial=False)
    name = fields.pop("name")
    record = stores.instructions.create(ctx.namespace(query=False), name, fields,
                                        exists_message=f'instruction "{name}" already exists')
    return instruction_model.view(record), 201


@instructions_router.route("/<instruction_id>", ["GET"], summary="Instruction detail")
def get_instruction(ctx: RequestContext, instruction_id: str):
    return instruction_model.view(stores.instructions.require(ctx.namespace(query=False), instruction_id,
                                                              INSTRUCTION_NOT_FOUND))


@instructions_router.route("/<instruction_id>", ["PATCH"], summary="Update an instruction")
def patch_instruction(ctx: RequestContext, instruction_id: str):
    fields = instruction_model.validate(ctx.json_object(), partial=True)

    def mutate(doc: dict) -> None:
        doc.update(fields)
        doc["updatedAt"] = now_rfc3339()

    record = stores.instructions.update(ctx.namespace(query=False), instruction_id, mutate,
                                        not_found_message=INSTRUCTION_NOT_FOUND)
    return instruction_model.view(record)


@instructions_router.route("/<instruction_id>", ["DELETE"], summary="Delete an instruction")
def delete_instruction(ctx: RequestContext, instruction_id: str):
    if not stores.instructions.delete(ctx.namespace(query=False), instruction_id):
        raise NotFound(INSTRUCTION_NOT_FOUND)
    return {"deleted": instruction_id}
