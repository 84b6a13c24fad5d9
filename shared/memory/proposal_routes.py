"""`/api/v1/memory-proposals/**`: reviewable memory proposals (Orka dialect)."""

from __future__ import annotations

from shared.http import RequestContext, Router
from shared.http.params import parse_limit
from shared.memory import proposals as svc
from shared.memory.common import body_namespace

router = Router("/api/v1/memory-proposals", dialect="orka", tag="memory-proposals")


@router.route("", ["GET"], summary="List memory proposals")
def list_proposals(ctx: RequestContext):
    limit = parse_limit(ctx.args, default=svc.DEFAULT_LIMIT, maximum=svc.MAX_LIMIT)
    filters = {k: ctx.args[k] for k in ("taskName", "agentName", "type", "status") if ctx.args.get(k)}
    items, cursor = svc.list_proposals(body_namespace(ctx), filters, ctx.args.get("q") or ctx.args.get("query") or "",
                                       limit=limit, cursor=ctx.args.get("continue") or None)
    return {"items": items, "metadata": {"continue": cursor} if cursor else {}}


@router.route("", ["POST"], summary="Create a memory proposal", responses={201: "The created proposal"})
def create_proposal(ctx: RequestContext):
    body = ctx.json_object()
    return svc.create_proposal(body_namespace(ctx, body), {k: v for k, v in body.items() if k != "namespace"}), 201


@router.route("/<proposal_id>", ["GET"], summary="Get a memory proposal")
def get_proposal(ctx: RequestContext, proposal_id: str):
    return svc.get_proposal(body_namespace(ctx), proposal_id)


@router.route("/<proposal_id>/review", ["POST"], summary="Record a review decision without applying it")
def review(ctx: RequestContext, proposal_id: str):
    svc.review(body_namespace(ctx), proposal_id, ctx.json_object())
    return None


@router.route("/<proposal_id>/apply", ["POST"], summary="Apply an accepted memory proposal into durable memory")
def apply(ctx: RequestContext, proposal_id: str):
    return svc.apply(body_namespace(ctx), proposal_id, ctx.json_object(allow_empty=True))


@router.route("/<proposal_id>/archive", ["POST"], summary="Archive a proposal without applying it")
def archive(ctx: RequestContext, proposal_id: str):
    svc.archive(body_namespace(ctx), proposal_id)
    return None
