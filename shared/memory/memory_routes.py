"""`/api/v1/memories/**`: durable memories (Orka dialect). Bodies and queries: shared.memory.models."""

from __future__ import annotations

from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.memory import memories as svc

router = Router("/api/v1/memories", dialect="orka", tag="memories")
_NO_CONTENT = {204: "Done"}


@router.route("", ["GET"], summary="List durable memories", query="shared.memory.models:MemoryListQuery",
              responses={200: Reply("A page of memories, newest updated first",
                                    "shared.memory.models:MemoryList")})
def list_memories(ctx: RequestContext):
    q = ctx.query()  # validates every parameter (messages as parse_limit/bool_param word them)
    flt = svc.MemoryFilter.from_args(ctx.request.args)  # the filter the worker route builds the same way
    ids = [i.strip() for i in q.ids.split(",") if i.strip()]
    items, cursor = svc.list_memories(ctx.namespace(q.namespace), flt, limit=q.limit, cursor=q.continue_ or None,
                                      ids=ids)
    return {"items": items, "metadata": {"continue": cursor} if cursor else {}}


@router.route("", ["POST"], summary="Create durable memory", body="shared.memory.models:MemoryCreate",
              query="shared.http.common_models:NamespaceQuery",
              responses={201: Reply("The created memory", "shared.memory.models:Memory")})
def create_memory(ctx: RequestContext):
    body = ctx.body()
    namespace = ctx.namespace(body.namespace or ctx.query().namespace)
    return svc.create_memory(namespace, body.model_dump(exclude_unset=True, exclude={"namespace"})), 201


@router.route("/<memory_id>", ["GET"], summary="Get durable memory",
              query="shared.memory.models:MemoryGetQuery",
              responses={200: Reply("The memory", "shared.memory.models:Memory")})
def get_memory(ctx: RequestContext, memory_id: str):
    q = ctx.query()
    return svc.get_memory(ctx.namespace(q.namespace), memory_id, include_deleted=q.includeDeleted)


@router.route("/<memory_id>", ["PUT"], summary="Update durable memory",
              body="shared.memory.models:MemoryUpdate", query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The updated memory", "shared.memory.models:Memory")})
def update_memory(ctx: RequestContext, memory_id: str):
    body = ctx.body()
    namespace = ctx.namespace(body.namespace or ctx.query().namespace)
    return svc.update_memory(namespace, memory_id, body.model_dump(exclude_unset=True, exclude={"namespace"}))


@router.route("/<memory_id>", ["DELETE"], summary="Soft-delete durable memory",
              query="shared.http.common_models:NamespaceQuery",
              responses=_NO_CONTENT)
def delete_memory(ctx: RequestContext, memory_id: str):
    svc.soft_delete(ctx.namespace(ctx.query().namespace), memory_id)
    return None


@router.route("/<memory_id>/disable", ["POST"], summary="Disable memory for normal recall",
              query="shared.http.common_models:NamespaceQuery",
              responses=_NO_CONTENT)
def disable_memory(ctx: RequestContext, memory_id: str):
    svc.set_disabled(ctx.namespace(ctx.query().namespace), memory_id, True)
    return None


@router.route("/<memory_id>/enable", ["POST"], summary="Re-enable memory for normal recall",
              query="shared.http.common_models:NamespaceQuery",
              responses=_NO_CONTENT)
def enable_memory(ctx: RequestContext, memory_id: str):
    svc.set_disabled(ctx.namespace(ctx.query().namespace), memory_id, False)
    return None
