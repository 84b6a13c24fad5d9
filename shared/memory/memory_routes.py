"""`/api/v1/memories/**`: durable memories (Orka dialect)."""

from __future__ import annotations

from shared.http import RequestContext, Router
from shared.http.params import parse_limit
from shared.memory import memories as svc
from shared.memory.common import body_namespace, bool_param, csv_param

router = Router("/api/v1/memories", dialect="orka", tag="memories")


@router.route("", ["GET"], summary="List durable memories")
def list_memories(ctx: RequestContext):
    limit = parse_limit(ctx.args, default=svc.DEFAULT_LIMIT, maximum=svc.MAX_LIMIT)
    args = ctx.args
    flt = svc.MemoryFilter.from_args(args)
    namespace = body_namespace(ctx)
    items, cursor = svc.list_memories(namespace, flt, limit=limit, cursor=args.get("continue") or None,
                                      ids=csv_param(args, "ids"))
    return {"items": items, "metadata": {"continue": cursor} if cursor else {}}


@router.route("", ["POST"], summary="Create durable memory", responses={201: "The created memory"})
def create_memory(ctx: RequestContext):
    body = ctx.json_object()
    return svc.create_memory(body_namespace(ctx, body), {k: v for k, v in body.items() if k != "namespace"}), 201


@router.route("/<memory_id>", ["GET"], summary="Get durable memory")
def get_memory(ctx: RequestContext, memory_id: str):
    return svc.get_memory(body_namespace(ctx), memory_id, include_deleted=bool_param(ctx.args, "includeDeleted"))


@router.route("/<memory_id>", ["PUT"], summary="Update durable memory")
def update_memory(ctx: RequestContext, memory_id: str):
    body = ctx.json_object()
    return svc.update_memory(body_namespace(ctx, body), memory_id, {k: v for k, v in body.items() if k != "namespace"})


@router.route("/<memory_id>", ["DELETE"], summary="Soft-delete durable memory")
def delete_memory(ctx: RequestContext, memory_id: str):
    svc.soft_delete(body_namespace(ctx), memory_id)
    return None


@router.route("/<memory_id>/disable", ["POST"], summary="Disable memory for normal recall")
def disable_memory(ctx: RequestContext, memory_id: str):
    svc.set_disabled(body_namespace(ctx), memory_id, True)
    return None


@router.route("/<memory_id>/enable", ["POST"], summary="Re-enable memory for normal recall")
def enable_memory(ctx: RequestContext, memory_id: str):
    svc.set_disabled(body_namespace(ctx), memory_id, False)
    return None
