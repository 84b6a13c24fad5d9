"""The Kubernaut incident API (kubernaut-agent-api.txt; peers.md §2.1), RFC 7807 errors.

POST /api/v1/incident/analyze stores a pending session and emits
`dev.shoal.investigation.requested`; the `investigator` event function runs it. Every other
route reads or conditionally writes the session record, so any replica answers for any session.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from shared.auth.authorization import AUTHENTICATED, Permission, authorize, check_route_kind, rbac_grants
from shared.auth.namespaces import resolve_namespace
from shared.auth.resolver import authenticate
from shared.config import get_settings
from shared.errors import Conflict, Forbidden, NotFound, ShoalError
from shared.events import build, emit
from shared.http.api import RequestContext, Router
from shared.http.models import FieldInvalid, Header, Reply, validate
from shared.http.params import is_sequence
from shared.http.sse import Progress, follow, frame, sse_response
from shared.incidents import response, sessions
from shared.incidents.stream import TERMINAL_EVENTS, read
from shared.investigation import metrics
from shared.llm.registry import describe_default
from shared.logs import get_logger
from shared.observability.metrics import add_exposition

log = get_logger("incidents")
router = Router("/api/v1/incident", dialect="problem", tag="incidents")
platform = Router(dialect="problem", tag="incidents")
REQUESTED = "dev.shoal.investigation.requested"
STREAM_POLL_SECONDS = 0.25
STREAM_MAX_SECONDS = 1800.0
CANCELLABLE = frozenset({"pending", "investigating", "user_driving", "unknown"})
# The events of a session stream (each `data` a shared.incidents.models:SessionEvent).
SESSION_EVENTS = ("tool_call", "tool_result", "reasoning_delta", "error", "complete", "cancelled",
                  "session_ended")


class ValidationError(ShoalError):
    status = 422
    code = "validation-error"


class UnsupportedMediaType(ShoalError):
    status = 415
    code = "unsupported-media-type"


# Kubernaut's OpenAPI: the session routes declare 404/409/500 as application/problem+json but /stream's
# 404 as application/json; its ogen client decodes by the declared type. 415 is the real agent's answer
# to a non-JSON body (application/json). Statuses not listed keep the dialect's problem+json.
_STREAM_MEDIA = {404: "application/json"}
_ANALYZE_MEDIA = {415: "application/json"}


def _missing() -> NotFound:
    """The one answer for a session that is not there (unknown, malformed id, another owner's), on every route."""
    return NotFound(sessions.NOT_FOUND, code="not-found")


def _session_id(value: str) -> str:
    # A malformed id cannot name a session: the same 404 as an unknown one.
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _missing() from None


def _owned(ctx: RequestContext, session_id: str):
    return sessions.get_owned(_session_id(session_id), ctx.require_principal().subject)


# Checked in the handler: Kubernaut's own grant (cluster-wide) or this one where the resource lives.
ANALYZE = Permission("incidents", "create", subresource="analyze", scope_area="incident")


@router.route("/analyze", methods=("POST",), summary="Submit an incident investigation", permission=AUTHENTICATED,
              body="shared.incidents.models:IncidentRequest",
              responses={202: Reply("Session created", "shared.incidents.models:AnalyzeAccepted"),
                         415: "Body is not JSON",
                         422: "Validation error: the detail names each field and its problem",
                         403: "No grant for the resource's namespace (or the cluster-wide one)",
                         500: "Capacity exhausted"}, error_media_types=_ANALYZE_MEDIA)
def analyze(ctx: RequestContext):
    principal = ctx.require_principal()
    cluster_wide = _cluster_wide(principal)
    if not cluster_wide:  # as a route check would: before the body is read
        authorize(principal, ANALYZE, resolve_namespace(principal, None))
    media = (ctx.request.mimetype or "").lower()
    if media and media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {media}")
    body = ctx.json_object(message="request body must be a JSON object")  # not JSON: a 400, as before
    try:
        request = validate("shared.incidents.models:IncidentRequest", body)
    except FieldInvalid as exc:  # Kubernaut's agent answers a model failure with 422, pydantic's wording
        metrics.record_request("kubernaut", "invalid")
        detail = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'body'}: {e['msg']}" for e in exc.detail_list)
        raise ValidationError(detail) from None
    if not cluster_wide and not request.resource_namespace:
        _cluster_scoped(principal, request.resource_kind)
    elif not cluster_wide:  # a namespace-bound caller stays home; others need the grant there
        authorize(principal, ANALYZE, resolve_namespace(principal, request.resource_namespace))
    record = sessions.new_session(request.model_dump(mode="json"), principal.subject, principal.username,
                                  list(principal.groups),
                                  # a cluster-scoped subject got past _cluster_scoped: it may be read
                                  cluster_wide=cluster_wide or not request.resource_namespace)
    session_id = record.name
    if not request.interactive:
        _request_investigation(session_id, request.resource_namespace, request.incident_id)
    metrics.record_request("kubernaut", "accepted")
    return {"session_id": session_id}, 202


def _cluster_wide(principal: Any) -> bool:
    """Kubernaut's own gate: RBAC `create` on `services/kubernaut-agent`, checked in Shoal's namespace
    (where only Shoal's admins grant it), lets a caller investigate any namespace, as the Kubernaut AI
    Analysis controller does from its own namespace. Without it, namespace isolation applies."""
    return rbac_grants(principal, Permission("services", "create", group=""), get_settings().platform_namespace,
                       name="kubernaut-agent")


def _cluster_scoped(principal: Any, kind: str) -> None:
    """A cluster-scoped resource (a Node: resource_namespace "") is in no namespace a namespace grant could
    cover: only the cluster-wide grant reaches it (a namespace-bound caller never; dev mode does)."""
    if principal.namespace is not None or principal.kind not in ("dev", "system"):
        raise Forbidden(f"investigating a cluster-scoped {kind} needs the cluster-wide grant: create "
                        f"services/kubernaut-agent in namespace {get_settings().platform_namespace}")


def _request_investigation(session_id: str, namespace: str, incident_id: str) -> None:
    from shared.events.registry import data_for  # the event catalogue's models: with the first event
    data = data_for(REQUESTED, namespace=namespace, name=session_id, incident_id=incident_id)
    try:
        emit(build(REQUESTED, data, subject=f"{namespace}/{session_id}"))
    except Exception:
        # Without the event nobody would run the session: fail it now rather than leave it pending.
        log.exception("investigation request not delivered", extra={"fields": {"session_id": session_id}})
        sessions.transition(session_id, "failed", allowed_from=frozenset({"pending"}),
                            also=lambda d: d.update(error="investigation could not be scheduled",
                                                    progress="Investigation failed"))
        raise


_GONE = {404: "Session not found (unknown, malformed or another caller's)"}


@router.route("/session/<session_id>", malformed_path=_missing, summary="Session status",
              responses={200: Reply("The session's status", "shared.incidents.models:SessionStatus"),
                         **_GONE})
def session_status(ctx: RequestContext, session_id: str):
    record = _owned(ctx, session_id)
    doc = record.doc
    body: dict[str, Any] = {"session_id": record.name, "status": sessions.public_status(doc),
                            "progress": doc.get("progress", "")}
    if doc.get("error"):
        body["error"] = doc["error"]
    if doc.get("acting_user"):
        body["acting_user"] = doc["acting_user"]
        body["acting_user_groups"] = doc.get("acting_user_groups", [])
    return body


@router.route("/session/<session_id>/result", malformed_path=_missing,
              summary="Investigation result (IncidentResponse)",
              responses={200: Reply("The investigation result", "shared.incidents.models:IncidentResponse"),
                         **_GONE,
                         409: "Session not completed"})
def session_result(ctx: RequestContext, session_id: str):
    record = _owned(ctx, session_id)
    doc, status = record.doc, sessions.public_status(record.doc)
    if status == "unknown":
        raise Conflict("Session state is unknown, result not available")
    if status not in sessions.TERMINAL:
        raise Conflict(f"Session is still {status}, result not yet available")
    return doc.get("result") or response.synthesized(record.name, doc["request"], status, doc.get("error"))


@router.route("/session/<session_id>/snapshot", malformed_path=_missing, summary="Session snapshot",
              responses={200: Reply("Point-in-time snapshot", "shared.incidents.models:SessionSnapshot"),
                         **_GONE,
                         409: "Session in progress"})
def session_snapshot(ctx: RequestContext, session_id: str):
    record = _owned(ctx, session_id)
    doc, status = record.doc, sessions.public_status(record.doc)
    if status == "investigating":
        raise Conflict("Session is still investigating, snapshot not yet available", code="session-in-progress")
    request = doc.get("request") if isinstance(doc.get("request"), dict) else {}  # tolerate corrupt records
    body: dict[str, Any] = {
        "session_id": record.name, "status": status, "created_at": doc.get("created_at"),
        "metadata": {key: request.get(key) for key in ("incident_id", "remediation_id", "signal_name",
                                                        "resource_kind", "resource_name", "resource_namespace")}}
    for key in ("error", "cancelled_phase", "cancelled_at_turn", "rca_summary", "total_prompt_tokens",
                "total_completion_tokens"):
        if doc.get(key) is not None:
            body[key] = doc[key]
    return body


@router.route("/session/<session_id>/cancel", malformed_path=_missing, methods=("POST",), summary="Cancel a session",
              responses={200: Reply("Cancelled", "shared.incidents.models:CancelSessionResponse"), **_GONE,
                         409: "Session already terminal"})
def session_cancel(ctx: RequestContext, session_id: str):
    record = _owned(ctx, session_id)

    def cancel(doc: dict[str, Any]) -> None:
        doc.update(progress="Investigation cancelled", cancelled_phase="rca",
                   cancelled_at_turn=int(doc.get("turn") or 0), cancelled_at=time.time())

    if sessions.transition(record.name, "cancelled", allowed_from=CANCELLABLE, also=cancel) is None:
        raise Conflict("Session is already in a terminal state", code="session-already-terminal")
    return {"session_id": record.name, "status": "cancelled"}


@router.route("/session/<session_id>/takeover", malformed_path=_missing, methods=("POST",),
              summary="The owner takes over the session",
              responses={200: Reply("Now user_driving", "shared.incidents.models:SessionStatusChange"),
                         **_GONE,
                         409: "Session already terminal"})
def session_takeover(ctx: RequestContext, session_id: str):
    """pending|investigating → user_driving: the caller drives; a running investigation stops at its next step."""
    record = _owned(ctx, session_id)
    principal = ctx.require_principal()
    if sessions.public_status(record.doc) == "user_driving":
        return {"session_id": record.name, "status": "user_driving"}  # already taken over: idempotent

    def take(doc: dict[str, Any]) -> None:
        doc.update(progress="User is driving the investigation", acting_user=principal.username,
                   acting_user_groups=list(principal.groups), taken_over_at=time.time())

    if sessions.transition(record.name, "user_driving", allowed_from=frozenset({"pending", "investigating"}),
                           also=take) is None:
        current = sessions.get(record.name)
        if current is not None and sessions.public_status(current.doc) == "user_driving":
            return {"session_id": record.name, "status": "user_driving"}
        if current is not None and sessions.public_status(current.doc) == "unknown":
            raise Conflict("Session state is unknown and cannot be taken over", code="session-state-unknown")
        raise Conflict("Session is already in a terminal state", code="session-already-terminal")
    return {"session_id": record.name, "status": "user_driving"}


@router.route("/session/<session_id>/handback", malformed_path=_missing, methods=("POST",),
              summary="Hand a user-driven session back to the agent (it is investigated again)",
              responses={200: Reply("Queued again (pending)", "shared.incidents.models:SessionStatusChange"),
                         **_GONE,
                         409: "Session is not user-driven"})
def session_handback(ctx: RequestContext, session_id: str):
    """user_driving → pending, and the investigation is requested again (the investigator claims it)."""
    record = _owned(ctx, session_id)
    handed = sessions.transition(record.name, "pending", allowed_from=frozenset({"user_driving"}),
                                 also=lambda d: d.update(progress="Queued for investigation"))
    if handed is None:
        raise Conflict("Session is not user-driven", code="session-not-user-driving")
    request = handed.doc["request"]
    _request_investigation(record.name, request["resource_namespace"], request["incident_id"])
    return {"session_id": record.name, "status": "pending"}


@router.route("/session/<session_id>/stream", malformed_path=_missing, summary="Session events (SSE)",
              streaming=True, error_media_types=_STREAM_MEDIA,
              headers=[Header("Last-Event-ID", "Resume after this event id (a sequence number)")],
              responses={200: Reply("`id: n`, `event: <type>`, `data: {type, turn, phase, data}`; the last event "
                                    "is `complete`, `cancelled` or `session_ended`", media="text/event-stream",
                                    events=dict.fromkeys(SESSION_EVENTS,
                                                         "shared.incidents.models:SessionEvent")), **_GONE})
def session_stream(ctx: RequestContext, session_id: str):
    record = _owned(ctx, session_id)
    sid = record.name
    status = sessions.public_status(record.doc)
    if status in sessions.TERMINAL | {"unknown"}:  # finished, or a record that cannot progress: nothing to follow
        return sse_response([_ended_frame(record.doc, 1)], heartbeat_seconds=None)
    last = ctx.request.headers.get("Last-Event-ID", "")
    after = int(last) if is_sequence(last) else 0

    cursor, waited = after, 0

    def poll() -> tuple[list[str], Progress]:
        nonlocal cursor, waited
        frames = []
        for seq, item in read(sid, after=cursor):
            cursor = seq
            frames.append(frame(item, event=item["type"], id=seq))
            if item["type"] in TERMINAL_EVENTS:
                return frames, "done"
        current = sessions.get(sid)
        if current is None:
            return [*frames, _ended_frame(None, cursor + 1)], "done"
        now = sessions.public_status(current.doc)
        if now not in sessions.TERMINAL | {"unknown"} or read(sid, after=cursor):
            return frames, "live"
        # The investigation writes its status first and its last event just after: wait a few polls
        # for that event (it carries the confidence and outcome), then end with the status alone.
        waited += 1
        if waited <= ENDING_GRACE_POLLS and now != "unknown":
            return frames, "live"
        return [*frames, _ended_frame(current.doc, cursor + 1)], "done"

    return sse_response(follow(poll, poll_seconds=STREAM_POLL_SECONDS, max_seconds=STREAM_MAX_SECONDS))


ENDING_GRACE_POLLS = 3


def _ended_frame(doc: dict | None, seq: int) -> str:
    """The last frame for a session that has ended: `complete` or `cancelled` with its status, as the
    investigation itself would have sent it; `session_ended` for a record that cannot progress or is gone."""
    status = sessions.public_status(doc) if doc is not None else "unknown"
    if status not in sessions.TERMINAL:
        return frame({"type": "session_ended", "turn": 0}, event="session_ended", id=seq)
    kind = "cancelled" if status == "cancelled" else "complete"
    return frame({"type": kind, "turn": int(doc.get("turn") or 0), "data": {"status": status}}, event=kind, id=seq)


@platform.route("/config", public=True, summary="Runtime configuration snapshot (dev mode only)",
              responses={200: Reply("The runtime configuration", "shared.incidents.models:RuntimeConfig"),
                         404: "Not in dev mode", 401: "Missing or invalid credentials"})
def config(ctx: RequestContext):
    settings = get_settings()
    if settings.platform != "local":
        raise NotFound("not found", code="not-found")  # absent outside dev mode, whoever asks

    check_route_kind(authenticate(ctx.request.headers), "/config")

    return {"llm": describe_default(settings), "max_sessions": settings.incident_max_sessions,
            "session_ttl_seconds": settings.incident_session_ttl_seconds,
            "max_turns": settings.incident_max_turns,
            "tool_caps": {"per_tool": settings.incident_tool_cap_per_tool,
                          "total": settings.incident_tool_cap_total,
                          "repeated_failures": settings.incident_tool_max_failures},
            "tool_timeout_seconds": settings.tool_timeout_seconds}


def _jobs_exposition() -> str:
    from shared.jobs import metrics as job_metrics

    return job_metrics.exposition()


# The gateway's /metrics is this function's: it also carries the jobs dialect's store-kept counters
# (the same numbers on every replica), which no single process's registry holds.
add_exposition(_jobs_exposition)
