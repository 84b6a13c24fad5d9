"""`/api/v1/memory-proposals/**`: reviewable memory proposals (Orka dialect). Models: shared.memory.models."""

from __future__ import annotations

from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.memory import proposals as svc

router = Router("/api/v1/memory-proposals", dialect="orka", tag="memory-proposals")


@router.route("", ["GET"], summary="List memory proposals", query="shared.memory.models:ProposalListQuery",
              responses={200: Reply("A page of proposals, newest first",
                                    "shared.memory.models:ProposalList")})
def list_proposals(ctx: RequestContext):
    q = ctx.query()
    filters = {k: getattr(q, k) for k in ("taskName", "agentName", "type", "status") if getattr(q, k)}
    items, cursor = svc.list_proposals(ctx.namespace(ctx.query().namespace), filters, q.q or q.query, limit=q.limit,
                                       cursor=q.continue_ or None)
    return {"items": items, "metadata": {"continue": cursor} if cursor else {}}


@router.route("", ["POST"], summary="Create a memory proposal", body="shared.memory.models:ProposalCreate",
              query="shared.http.common_models:NamespaceQuery",
              responses={201: Reply("The created proposal", "shared.memory.models:Proposal")})
def create_proposal(ctx: RequestContext):
    body = ctx.body()
    return svc.create_proposal(ctx.namespace(body.namespace),
                               body.model_dump(exclude_unset=True, exclude={"namespace"})), 201


@router.route("/<proposal_id>", ["GET"], summary="Get a memory proposal",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The proposal", "shared.memory.models:Proposal")})
def get_proposal(ctx: RequestContext, proposal_id: str):
    return svc.get_proposal(ctx.namespace(ctx.query().namespace), proposal_id)


@router.route("/<proposal_id>/review", ["POST"], summary="Record a review decision without applying it",
              body="shared.memory.models:ProposalReview", query="shared.http.common_models:NamespaceQuery",
              responses={204: "Recorded"})
def review(ctx: RequestContext, proposal_id: str):
    body = ctx.body()
    svc.review(ctx.namespace(body.namespace), proposal_id, body.model_dump(exclude={"namespace"}))
    return None


@router.route("/<proposal_id>/apply", ["POST"], summary="Apply an accepted memory proposal into durable memory",
              body="shared.memory.models:ProposalApply", query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The memory the proposal became (the same one on every apply)",
                                    "shared.memory.models:Memory")})
def apply(ctx: RequestContext, proposal_id: str):
    body = ctx.body(allow_empty=True)
    return svc.apply(ctx.namespace(body.namespace), proposal_id, body.model_dump(exclude={"namespace"}))


@router.route("/<proposal_id>/archive", ["POST"], summary="Archive a proposal without applying it",
              query="shared.http.common_models:NamespaceQuery", responses={204: "Archived"})
def archive(ctx: RequestContext, proposal_id: str):
    svc.archive(ctx.namespace(ctx.query().namespace), proposal_id)
    return None
