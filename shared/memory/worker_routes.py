"""Orka's worker routes for memory (`/internal/v1/memories/<ns>/**`, `/internal/v1/memory-proposals/<ns>/**`)
and transcript search (`GET /internal/v1/sessions/<ns>/search`): what an Orka worker image calls for
`recall_memory`, `remember`, `propose_memory` and `search_transcript`.

The same services as the REST routes (`shared.memory.memories`, `.proposals`), so redaction, tags, the
proposal lifecycle and its events are the same; the differences are Orka's: the namespace is in the
path and must be the caller's own (a ServiceAccount of another namespace → 403), a body naming another
namespace is refused, lists are bare JSON arrays, and `limit` is optional (0 or absent → the default).
Shoal's own workers reach the same tools through `/internal/v1/worker-tools/**` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.auth.namespaces import require_same_namespace
from shared.errors import Invalid
from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.memory import memories as mem
from shared.memory import proposals as props
from shared.memory import transcript_search as ts
from shared.memory.common import csv_param

router = Router("/internal/v1", dialect="orka", tag="internal")


def _namespace(ctx: RequestContext, namespace: str) -> str:
    require_same_namespace(ctx.require_principal(), namespace)
    return namespace


def _body(ctx: RequestContext, namespace: str, kind: str, *, allow_empty: bool = False) -> dict[str, Any]:
    """The fields sent in the route's body model, without `namespace`, which may only repeat the path's."""
    body = ctx.body(allow_empty=allow_empty)
    if body.namespace not in (None, "", namespace):
        raise Invalid(f"{kind} namespace mismatch")
    return body.model_dump(exclude_unset=True, exclude={"namespace"})


def _created(ctx: RequestContext, namespace: str, kind: str,
             create: Callable[[str, dict[str, Any]], dict[str, Any]]) -> tuple[dict[str, Any], int]:
    namespace = _namespace(ctx, namespace)
    return create(namespace, _body(ctx, namespace, kind)), 201


_DONE = {204: "Done"}
_LISTS = "shared.memory.doc_models"  # bare arrays: RootModels, loaded only for the document


# -- memories --------------------------------------------------------------------------------------
@router.route("/memories/<namespace>", ["GET"], summary="List memories for a worker (JSON array)",
              query="shared.memory.models:WorkerMemoryQuery",
              responses={200: Reply("The memories, newest updated first", f"{_LISTS}:MemoryArray")})
def list_memories(ctx: RequestContext, namespace: str):
    namespace = _namespace(ctx, namespace)
    items, _ = mem.list_memories(namespace, mem.MemoryFilter.from_args(ctx.args), limit=ctx.query().limit,
                                 ids=csv_param(ctx.args, "ids"))
    return items


@router.route("/memories/<namespace>", ["POST"], summary="Create a memory for a worker",
              body="shared.memory.models:MemoryCreate",
              responses={201: Reply("The created memory", "shared.memory.models:Memory")})
def create_memory(ctx: RequestContext, namespace: str):
    return _created(ctx, namespace, "memory", mem.create_memory)


@router.route("/memories/<namespace>/<memory_id>", ["GET"], summary="Get a memory for a worker",
              responses={200: Reply("The memory", "shared.memory.models:Memory")})
def get_memory(ctx: RequestContext, namespace: str, memory_id: str):
    return mem.get_memory(_namespace(ctx, namespace), memory_id)


@router.route("/memories/<namespace>/<memory_id>", ["PUT"], summary="Update a memory for a worker (partial merge)",
              body="shared.memory.models:MemoryUpdate",
              responses={200: Reply("The updated memory", "shared.memory.models:Memory")})
def update_memory(ctx: RequestContext, namespace: str, memory_id: str):
    namespace = _namespace(ctx, namespace)
    return mem.update_memory(namespace, memory_id, _body(ctx, namespace, "memory"))


@router.route("/memories/<namespace>/<memory_id>", ["DELETE"], summary="Soft-delete a memory for a worker",
              responses=_DONE)
def delete_memory(ctx: RequestContext, namespace: str, memory_id: str):
    mem.soft_delete(_namespace(ctx, namespace), memory_id)
    return None


@router.route("/memories/<namespace>/<memory_id>/disable", ["POST"], summary="Disable a memory for a worker",
              responses=_DONE)
def disable_memory(ctx: RequestContext, namespace: str, memory_id: str):
    mem.set_disabled(_namespace(ctx, namespace), memory_id, True)
    return None


@router.route("/memories/<namespace>/<memory_id>/enable", ["POST"], summary="Re-enable a memory for a worker",
              responses=_DONE)
def enable_memory(ctx: RequestContext, namespace: str, memory_id: str):
    mem.set_disabled(_namespace(ctx, namespace), memory_id, False)
    return None


# -- memory proposals ------------------------------------------------------------------------------
@router.route("/memory-proposals/<namespace>", ["GET"], summary="List memory proposals for a worker (JSON array)",
              query="shared.memory.models:WorkerProposalQuery",
              responses={200: Reply("The proposals, newest first", f"{_LISTS}:ProposalArray")})
def list_proposals(ctx: RequestContext, namespace: str):
    namespace = _namespace(ctx, namespace)
    q = ctx.query()
    filters = {k: getattr(q, k) for k in ("taskName", "agentName", "type", "status") if getattr(q, k)}
    items, _ = props.list_proposals(namespace, filters, q.query or q.q, limit=q.limit, cursor=None)
    return items


@router.route("/memory-proposals/<namespace>", ["POST"], summary="Submit a memory proposal for a worker",
              body="shared.memory.models:ProposalCreate",
              responses={201: Reply("The created proposal", "shared.memory.models:Proposal")})
def create_proposal(ctx: RequestContext, namespace: str):
    return _created(ctx, namespace, "memory proposal", props.create_proposal)


@router.route("/memory-proposals/<namespace>/<proposal_id>", ["GET"], summary="Get a memory proposal for a worker",
              responses={200: Reply("The proposal", "shared.memory.models:Proposal")})
def get_proposal(ctx: RequestContext, namespace: str, proposal_id: str):
    return props.get_proposal(_namespace(ctx, namespace), proposal_id)


@router.route("/memory-proposals/<namespace>/<proposal_id>/review", ["POST"],
              summary="Review a memory proposal for a worker", body="shared.memory.models:ProposalReview",
              responses=_DONE)
def review_proposal(ctx: RequestContext, namespace: str, proposal_id: str):
    namespace = _namespace(ctx, namespace)
    body = _body(ctx, namespace, "memory proposal")
    body.setdefault("reviewer", ctx.require_principal().username)  # Orka: the caller, unless named
    props.review(namespace, proposal_id, body)
    return None


@router.route("/memory-proposals/<namespace>/<proposal_id>/apply", ["POST"],
              summary="Apply an accepted memory proposal for a worker",
              body="shared.memory.models:ProposalApply",
              responses={200: Reply("The memory the proposal became", "shared.memory.models:Memory")})
def apply_proposal(ctx: RequestContext, namespace: str, proposal_id: str):
    namespace = _namespace(ctx, namespace)
    body = _body(ctx, namespace, "memory proposal", allow_empty=True)
    if not body.get("appliedBy"):
        body["appliedBy"] = ctx.require_principal().username
    return props.apply(namespace, proposal_id, body)


@router.route("/memory-proposals/<namespace>/<proposal_id>/archive", ["POST"],
              summary="Archive a memory proposal for a worker", responses=_DONE)
def archive_proposal(ctx: RequestContext, namespace: str, proposal_id: str):
    props.archive(_namespace(ctx, namespace), proposal_id)
    return None


# -- transcript search -----------------------------------------------------------------------------
@router.route("/sessions/<namespace>/search", ["GET"], summary="Search the namespace's session transcripts",
              query="shared.memory.models:TranscriptSearchQuery",
              responses={200: Reply("The matching messages", f"{_LISTS}:TranscriptHits")})
def search_transcripts(ctx: RequestContext, namespace: str):
    namespace = _namespace(ctx, namespace)
    q = ctx.query()
    if not q.query.strip():
        raise Invalid("query is required")
    hits = ts.search(namespace, q.query.strip(), session_name=q.sessionName.strip(),
                     exclude_session_name=q.excludeSessionName.strip(), roles=set(csv_param(ctx.args, "roles")),
                     limit=q.limit, width=q.maxSnippetLength)
    out = []
    for hit in hits:
        message = hit.message
        item = {"sessionName": hit.session, "messageId": message.get("order"),
                "stableMessageId": message.get("id") or "", "role": message.get("role"),
                "snippet": hit.snippet, "createdAt": message.get("ts")}
        if message.get("name"):
            item["name"] = message["name"]
        out.append(item)
    return out
