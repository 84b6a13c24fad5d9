"""The chat API: `/api/v1/chat/**` (Orka dialect), SSE by default, JSON with `Accept: application/json`.

POST checks in Orka's order: body → 400 "message is required" → 429 (semaphore) → namespace
(403) → active session (409) → provider (400 "failed to resolve provider: …"); only then is the
session locked and the turn started. A POST carrying `Last-Event-ID` and a `sessionId` (what an
SSE client sends when it reconnects) replays the missed events instead of starting a turn; so
does `GET /api/v1/chat/{sessionId}/stream`.
"""

from __future__ import annotations

import time
from typing import Any

from shared.chat import leases, sessions
from shared.chat.limits import chat_limits, go_duration
from shared.chat.provider import resolve_chat_provider
from shared.chat.stream import Emitter, relay, replay
from shared.chat.turn import Turn, TurnRequest
from shared.errors import Conflict, Forbidden, Invalid, NotFound, ShoalError, TooManyRequests
from shared.http import RequestContext, Router
from shared.http.models import Header, Reply
from shared.http.params import parse_sequence
from shared.http.sse import sse_response
from shared.llm.registry import describe_default

router = Router("/api/v1/chat", dialect="orka", tag="chat")

SESSION_ACTIVE = "chat session is active or its deleted name is reserved"
CORE_TOOLS = ("create_ai_task", "create_container_task", "create_agent_task", "check_task_progress",
              "fetch_task_output", "wait_for_task", "cancel_task", "list_agents", "list_tools", "list_tasks")
MANAGEMENT_TOOLS = ("create_agent", "update_agent", "delete_agent", "create_tool", "delete_tool", "delete_session",
                    "create_pr_monitor")
CHAT_EVENTS = ("status", "message", "tool_call", "tool_result", "error", "done")
_RESUME = Header("Last-Event-ID", "Replay the session's events after this id instead of starting a turn "
                                  "(with a sessionId)")
_EVENTS = Reply("Server-sent events (`id: n`, `event: <name>`, `data`: ChatEvent)", media="text/event-stream",
                events=dict.fromkeys(CHAT_EVENTS, "shared.chat.models:ChatEvent"))


def _enabled():
    limits = chat_limits()
    if not limits.enabled:
        raise NotFound("chat is disabled")
    return limits


def _parse(ctx: RequestContext) -> dict[str, Any]:
    body = ctx.body().model_dump(exclude_none=True)  # types and unknown fields: a 400 naming the field
    message = body.get("message")
    if not message or not message.strip():
        raise Invalid("message is required")
    if body.get("maxTokens") is not None and body["maxTokens"] <= 0:
        raise Invalid("maxTokens must be positive")
    if body.get("sessionId"):
        sessions.check_session_id(body["sessionId"])
    return body


def _chat_namespace(ctx: RequestContext, requested: str | None, blocked: frozenset[str]) -> str:
    namespace = ctx.namespace(requested, query=False)
    if namespace in blocked:
        raise Forbidden(f'namespace "{namespace}" is not allowed for chat')
    return namespace


def _last_event_id(ctx: RequestContext) -> int | None:
    raw = ctx.request.headers.get("Last-Event-ID") or ctx.query().lastEventId
    if raw is None or raw == "":
        return None
    return parse_sequence(raw, "invalid Last-Event-ID")


def _replay_response(namespace: str, session_id: str, after: int, limits: Any):
    if sessions.sessions.get(namespace, session_id) is None and leases.active_lock(namespace, session_id) is None:
        raise NotFound(sessions.SESSION_NOT_FOUND)
    frames = replay(namespace, session_id, after,
                    active=lambda: leases.active_lock(namespace, session_id) is not None,
                    heartbeat=limits.heartbeat, max_seconds=limits.max_duration)
    return sse_response(frames, heartbeat_seconds=None)


@router.route("", ["POST"], summary="Send a chat message (SSE stream, or JSON with Accept: application/json)",
              streaming=True, body="shared.chat.models:ChatRequest", query="shared.chat.models:ResumeQuery",
              headers=[_RESUME],
              responses={200: Reply("The turn's events; with `Accept: application/json` exactly, the result",
                                    "shared.chat.models:ChatResult", alternatives=(_EVENTS,)),
                         403: "Namespace not allowed", 404: "Chat is disabled", 409: SESSION_ACTIVE,
                         429: "Too many concurrent chats"})
def chat(ctx: RequestContext):
    limits = _enabled()
    body = _parse(ctx)
    principal = ctx.require_principal()
    after = _last_event_id(ctx)
    if after is not None and body.get("sessionId"):
        namespace = _chat_namespace(ctx, body.get("namespace"), limits.blocked_namespaces)
        return _replay_response(namespace, body["sessionId"], after, limits)

    slot = leases.acquire_slot(limits.max_concurrent, limits.lease, {"principal": principal.subject})
    if slot is None:
        raise TooManyRequests("too many concurrent chat requests", headers={"Retry-After": "5"})
    started = False
    try:
        namespace = _chat_namespace(ctx, body.get("namespace"), limits.blocked_namespaces)
        session_id = body.get("sessionId") or sessions.new_session_id()
        turn = _start_turn(ctx, body, limits, namespace, session_id, slot)
        started = True  # from here the turn owns the slot and releases it when it ends
    finally:
        if not started:
            slot.release()
    if ctx.request.headers.get("Accept", "").strip() == "application/json":
        turn.first_byte_sent.set()
        return _json_result(turn, limits)

    return sse_response(relay(turn.emitter.live, limits.heartbeat, sent=turn.first_byte_sent.set),
                        heartbeat_seconds=None)


def _start_turn(ctx: RequestContext, body: dict[str, Any], limits: Any, namespace: str, session_id: str,
                slot: leases.Lease):
    """Lock the session (409), resolve the provider (400), start the turn; the lock goes back on failure."""
    principal = ctx.require_principal()
    lock = leases.acquire_lock(namespace, session_id, limits.lease, {"principal": principal.subject})
    if lock is None:
        raise Conflict(SESSION_ACTIVE)
    try:
        resolved = resolve_chat_provider(body, namespace, default_provider=limits.provider,
                                         default_model=limits.model)
        message = body["message"]
        if resolved.runtime and body.get("agentRef"):
            message = (f'[Using agent "{body["agentRef"]}" which has runtime "{resolved.runtime}" — use '
                       f'create_agent_task with agentRef="{body["agentRef"]}" for this request.]\n\n{message}')
        temperature = body.get("temperature")
        request = TurnRequest(principal=principal, namespace=namespace, session_id=session_id, message=message,
                              provider=resolved.provider, limits=limits,
                              temperature=float(temperature) if temperature is not None else resolved.temperature,
                              max_tokens=int(body.get("maxTokens") or 4096), system_extra=body.get("systemPrompt"))
        # The stream's next number: handed on by the session's previous turn, or 1 for a session this
        # request named (a taken number falls back safely); otherwise the emitter looks it up.
        handed = lock.found.get("nextSeq")
        next_seq = handed if isinstance(handed, int) else None if body.get("sessionId") else 1
        emitter = Emitter(namespace, session_id, next_seq=next_seq)
        return Turn(request, emitter, [slot, lock]).start()
    except BaseException:
        lock.release()
        raise


def _json_result(turn: Any, limits: Any):
    turn.wait(limits.max_duration + 30)
    outcome = turn.outcome
    if outcome.status == "failed":
        raise ShoalError(f"chat failed: {outcome.error['message'] if outcome.error else 'unknown error'}",
                         status=500, code="chat_failed")
    if outcome.status == "cancelled":
        raise Conflict("chat session was cancelled")
    return {"sessionId": turn.req.session_id, "message": outcome.text, "toolCalls": outcome.tool_calls,
            "usage": outcome.usage}


@router.route("/config", ["GET"], summary="Chat configuration and available tools",
              responses={200: Reply("The chat configuration", "shared.chat.models:ChatConfig")})
def config(ctx: RequestContext):
    limits = chat_limits()

    default = describe_default()
    return {"enabled": limits.enabled, "provider": limits.provider or default["provider"],
            "model": limits.model or default["model"] or "", "maxIterations": limits.max_iterations,
            "maxDuration": go_duration(limits.max_duration), "maxTasksPerTurn": limits.max_tasks_per_turn,
            "maxConcurrent": limits.max_concurrent, "availableTools": list(CORE_TOOLS + MANAGEMENT_TOOLS)}


@router.route("/<session_id>/stream", ["GET"], summary="Replay a session's events after Last-Event-ID, then tail",
              streaming=True, query="shared.chat.models:StreamQuery", headers=[_RESUME],
              responses={200: _EVENTS, 404: "Unknown session, or chat is disabled"})
def stream(ctx: RequestContext, session_id: str):
    limits = _enabled()
    namespace = _chat_namespace(ctx, ctx.query().namespace, limits.blocked_namespaces)
    return _replay_response(namespace, session_id, _last_event_id(ctx) or 0, limits)


@router.route("/<session_id>", ["DELETE"], summary="Cancel a chat session's active turn and delete the session",
              query="shared.http.common_models:NamespaceQuery",
              responses={204: "Deleted", 404: "Unknown session, or chat is disabled",
                         409: "The active turn did not stop within 5 s"})
def delete(ctx: RequestContext, session_id: str):
    limits = _enabled()
    namespace = _chat_namespace(ctx, ctx.query().namespace, limits.blocked_namespaces)
    exists = sessions.sessions.get(namespace, session_id) is not None
    if leases.request_cancel(namespace, session_id):
        deadline = time.monotonic() + 5.0  # Orka waits up to 5 s for the turn to stop
        while leases.active_lock(namespace, session_id) is not None:
            if time.monotonic() >= deadline:
                raise Conflict(SESSION_ACTIVE)
            time.sleep(0.1)
        exists = True
    elif not exists:
        raise NotFound(sessions.SESSION_NOT_FOUND)
    sessions.remove_session(namespace, session_id)
    return None
