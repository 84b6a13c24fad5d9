"""`/api/agents/**` and `/api/instructions/**` of the labrats dialect."""

from __future__ import annotations

from shared.auth.api_keys import authenticate_dashboard
from shared.catalog.stores import agents
from shared.clock import now_rfc3339
from shared.errors import Conflict, Invalid, NotFound
from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.jobs import agents as model
from shared.jobs import instructions as instruction_model
from shared.jobs import stores
from shared.jobs.triggers import all_agents, find_by_trigger, matching
from shared.store import AlreadyExists

# List answers are documented by models only the document uses: named, they load with it (cold start).
_LISTS = "shared.jobs.doc_models"
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
@agents_router.route("", ["GET"], summary="List agents", responses={200: Reply("The agents", f"{_LISTS}:LabratsAgentList")})
def list_agents(ctx: RequestContext):
    return [model.view(r) for r in all_agents(ctx.namespace(query=False))]


@agents_router.route("", ["POST"], summary="Create an agent",
                     body="shared.jobs.job_models:LabratsAgentCreate",
                     responses={201: Reply("The agent", "shared.jobs.job_models:LabratsAgent"),
                                409: "Name or triggerName taken"})
def create_agent(ctx: RequestContext):
    name = ctx.body().name  # the labrats checks and unknown fields (m.LabratsAgentCreate)
    body = ctx.json_object()
    fields = model.validate_fields(body, partial=False)
    doc = model.new_record_doc(name, fields)
    namespace = ctx.namespace(query=False)
    _check_trigger_free(namespace, doc["spec"]["triggerName"], None)
    record = agents.create(namespace, name, doc, exists_message=f'agent "{name}" already exists')
    return model.view(record), 201


@agents_router.route("/seed", ["POST"], summary="Create the default agents that are missing",
                     responses={200: Reply("How many were created", "shared.jobs.job_models:Seeded")})
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


@agents_router.route("/triggers", ["GET"], summary="Agents whose enabled event triggers match ?source=&event=",
                     query="shared.jobs.job_models:TriggerQuery",
                     responses={200: Reply("The matching agents", f"{_LISTS}:LabratsAgentList")})
def triggers(ctx: RequestContext):
    q = ctx.query()
    source, event = q.source or None, q.event or None
    return [model.view(agent) for agent, _ in matching(ctx.namespace(query=False), source, event)]


@agents_router.route("/by-trigger/<trigger_name>", ["GET"], summary="Find an agent by trigger name",
                     responses={200: Reply("The agent", "shared.jobs.job_models:LabratsAgent")})
def by_trigger(ctx: RequestContext, trigger_name: str):
    record = find_by_trigger(ctx.namespace(query=False), trigger_name)
    if record is None:
        raise NotFound(AGENT_NOT_FOUND)
    return model.view(record)


@agents_router.route("/<agent_id>", ["GET"], summary="Agent detail",
                     responses={200: Reply("The agent", "shared.jobs.job_models:LabratsAgent")})
def get_agent(ctx: RequestContext, agent_id: str):
    return model.view(agents.require(ctx.namespace(query=False), agent_id, AGENT_NOT_FOUND))


@agents_router.route("/<agent_id>", ["PATCH"], summary="Update any subset of an agent's fields",
                     body="shared.jobs.job_models:LabratsAgentPatch",
                     responses={200: Reply("The agent", "shared.jobs.job_models:LabratsAgent"),
                                409: "triggerName taken"})
def patch_agent(ctx: RequestContext, agent_id: str):
    namespace = ctx.namespace(query=False)
    ctx.body()  # the labrats checks and unknown fields (m.LabratsAgentPatch)
    fields = model.validate_fields(ctx.json_object(), partial=True)
    agents.require(namespace, agent_id, AGENT_NOT_FOUND)
    if "triggerName" in fields:
        _check_trigger_free(namespace, fields["triggerName"], agent_id)
    record = agents.update(namespace, agent_id, lambda doc: model.apply_patch(doc, fields),
                                  not_found_message=AGENT_NOT_FOUND)
    return model.view(record)


@agents_router.route("/<agent_id>", ["DELETE"], summary="Delete an agent",
                     responses={200: Reply("Deleted", "shared.jobs.job_models:Deleted")})
def delete_agent(ctx: RequestContext, agent_id: str):
    if not agents.delete(ctx.namespace(query=False), agent_id):
        raise NotFound(AGENT_NOT_FOUND)
    return {"deleted": agent_id}


@agents_router.route("/<agent_id>/instructions", ["GET"],
                     summary="Resolved instructions: globals by priority, then the agent's locals",
                     responses={200: Reply("The instructions, in the order they apply", f"{_LISTS}:InstructionList")})
def agent_instructions(ctx: RequestContext, agent_id: str):
    namespace = ctx.namespace(query=False)
    record = agents.require(namespace, agent_id, AGENT_NOT_FOUND)
    return instruction_model.resolve_for_agent(namespace, record)


# -- instructions --------------------------------------------------------------------------
@instructions_router.route("", ["GET"], summary="List instructions (?scope=global|local)",
                           query="shared.jobs.job_models:InstructionQuery",
                           responses={200: Reply("The instructions", f"{_LISTS}:InstructionList")})
def list_instructions(ctx: RequestContext):
    scope = ctx.query().scope
    if scope not in (None, "", "global", "local"):
        raise Invalid("scope must be global or local")
    records = instruction_model.all_instructions(ctx.namespace(query=False))
    views = [instruction_model.view(r) for r in records]
    return [v for v in views if not scope or v["scope"] == scope]


@instructions_router.route("", ["POST"], summary="Create an instruction",
                           body="shared.jobs.job_models:InstructionCreate",
                           responses={201: Reply("The instruction", "shared.jobs.job_models:Instruction"),
                                      409: "Name taken"})
def create_instruction(ctx: RequestContext):
    ctx.body()  # the labrats checks and unknown fields (m.InstructionCreate)
    fields = instruction_model.validate(ctx.json_object(), partial=False)
    name = fields.pop("name")
    record = stores.instructions.create(ctx.namespace(query=False), name, fields,
                                        exists_message=f'instruction "{name}" already exists')
    return instruction_model.view(record), 201


@instructions_router.route("/<instruction_id>", ["GET"], summary="Instruction detail",
                           responses={200: Reply("The instruction", "shared.jobs.job_models:Instruction")})
def get_instruction(ctx: RequestContext, instruction_id: str):
    return instruction_model.view(stores.instructions.require(ctx.namespace(query=False), instruction_id,
                                                              INSTRUCTION_NOT_FOUND))


@instructions_router.route("/<instruction_id>", ["PATCH"], summary="Update an instruction",
                           body="shared.jobs.job_models:InstructionPatch",
                           responses={200: Reply("The instruction", "shared.jobs.job_models:Instruction")})
def patch_instruction(ctx: RequestContext, instruction_id: str):
    ctx.body()  # the labrats checks and unknown fields (m.InstructionPatch)
    fields = instruction_model.validate(ctx.json_object(), partial=True)

    def mutate(doc: dict) -> None:
        doc.update(fields)
        doc["updatedAt"] = now_rfc3339()

    record = stores.instructions.update(ctx.namespace(query=False), instruction_id, mutate,
                                        not_found_message=INSTRUCTION_NOT_FOUND)
    return instruction_model.view(record)


@instructions_router.route("/<instruction_id>", ["DELETE"], summary="Delete an instruction",
                           responses={200: Reply("Deleted", "shared.jobs.job_models:Deleted")})
def delete_instruction(ctx: RequestContext, instruction_id: str):
    if not stores.instructions.delete(ctx.namespace(query=False), instruction_id):
        raise NotFound(INSTRUCTION_NOT_FOUND)
    return {"deleted": instruction_id}
