"""`/api/v1/sessions/**`: list, transcript, delete (Orka dialect). Gateway sessions are hidden."""

from __future__ import annotations

from shared.errors import Conflict, NotFound
from shared.http import RequestContext, Router
from shared.http.params import parse_limit
from shared.memory import sessions as svc
from shared.store import VersionConflict

router = Router("/api/v1/sessions", dialect="orka", tag="sessions")


@router.route("", ["GET"], summary="List sessions")
def list_sessions(ctx: RequestContext):
    limit = parse_limit(ctx.args, default=100, maximum=500)
    namespace = ctx.namespace()
    records, cursor = svc.sessions.list_page(namespace, limit=limit, cursor=ctx.args.get("continue") or None)
    items = [svc.summary(r) for r in records if svc.visible(r)]
    return {"items": items, "metadata": {"continue": cursor} if cursor else {}}


@router.route("/<session_id>", ["GET"], summary="Get session transcript")
def get_session(ctx: RequestContext, session_id: str):
    namespace = ctx.namespace()
    record = svc.sessions.get(namespace, session_id)
    if not svc.visible(record):
        raise NotFound(svc.NOT_FOUND)
    return {**svc.summary(record), "transcript": svc.transcript_lines(record)}


@router.route("/<session_id>", ["DELETE"], summary="Delete session")
def delete_session(ctx: RequestContext, session_id: str):
    namespace = ctx.namespace()
    try:
        svc.delete_session(namespace, session_id)
    except VersionConflict:
        raise Conflict(svc.ACTIVE) from None
    return None
