"""`/api/v1/sessions/**`: list, transcript, delete (Orka dialect). Gateway sessions are hidden."""

from __future__ import annotations

from shared.errors import Conflict, NotFound
from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.memory import sessions as svc
from shared.store import VersionConflict

router = Router("/api/v1/sessions", dialect="orka", tag="sessions")


@router.route("", ["GET"], summary="List sessions", query="shared.memory.models:SessionListQuery",
              responses={200: Reply("A page of sessions", "shared.memory.models:SessionList")})
def list_sessions(ctx: RequestContext):
    q = ctx.query()
    namespace = ctx.namespace(q.namespace)
    records, cursor = svc.sessions.list_page(namespace, limit=q.limit, cursor=q.continue_ or None)
    items = [svc.summary(r) for r in records if svc.visible(r)]
    return {"items": items, "metadata": {"continue": cursor} if cursor else {}}


@router.route("/<session_id>", ["GET"], summary="Get session transcript",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The session with its transcript", "shared.memory.models:Session")})
def get_session(ctx: RequestContext, session_id: str):
    namespace = ctx.namespace(ctx.query().namespace)
    record = svc.sessions.get(namespace, session_id)
    if not svc.visible(record):
        raise NotFound(svc.NOT_FOUND)
    return {**svc.summary(record), "transcript": svc.transcript_lines(record)}


@router.route("/<session_id>", ["DELETE"], summary="Delete session",
              query="shared.http.common_models:NamespaceQuery",
              responses={204: "Deleted", 409: "The session has an active task"})
def delete_session(ctx: RequestContext, session_id: str):
    namespace = ctx.namespace(ctx.query().namespace)
    try:
        svc.delete_session(namespace, session_id)
    except VersionConflict:
        raise Conflict(svc.ACTIVE) from None
    return None
