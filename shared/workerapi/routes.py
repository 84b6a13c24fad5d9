"""The worker API: `/internal/v1/**` (Orka dialect). Workers report only through these routes."""

from __future__ import annotations

from shared.auth.namespaces import require_same_namespace
from shared.clock import now_rfc3339
from shared.config import get_settings
from shared.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from shared.http import RequestContext, Router
from shared.http.models import BINARY, Header, Reply, RequestBody
from shared.models.worker_contract import ATTEMPT_HEADER
from shared.store import AlreadyExists
from shared.store.blobs import put_blob
from shared.store.objects import get_together
from shared.tasks.delegation import child_metadata
from shared.tasks.feed import append_feed
from shared.tasks.leases import (
    RUNNING_PHASES,
    STALE_ATTEMPT,
    is_current,
    parse_attempt,
    renew,
    require_current,
)
from shared.tasks.lifecycle import announce, set_condition, transition
from shared.tasks.messages import send, unread
from shared.tasks.model_tokens import compat_urls, mint
from shared.tasks.plans import plan_state
from shared.tasks.repository import (
    TASK_NOT_FOUND,
    artifact_key,
    artifacts,
    child_partition,
    plans,
    resolved_agents,
    result_key,
    result_text,
    tasks,
)
from shared.tasks.service import cancel_task, create_task, task_view
from shared.workerapi.transcripts import append_messages, transcript_text

router = Router("/internal/v1", dialect="orka", tag="internal")
# The fencing token a worker sends with its reports (shared.tasks.leases).
ATTEMPT = Header(ATTEMPT_HEADER, "The attempt this worker runs; a report from an attempt that is over is a 409")
STALE = "stale attempt: the attempt was reclaimed, cancelled or has finished"
_DONE = {204: "Done"}


def _caller_may_write(ctx: RequestContext, namespace: str) -> None:
    require_same_namespace(ctx.require_principal(), namespace)


def _reported_attempt(ctx: RequestContext) -> int | None:
    """The attempt a worker reports for (the fencing token), from its header; None when not sent."""
    return parse_attempt(ctx.request.headers.get(ATTEMPT_HEADER))


def _require_current(ctx: RequestContext, namespace: str, task: str):
    """The task, after refusing (409 `stale attempt`) a report from an attempt that is over."""
    attempt = _reported_attempt(ctx)
    record = tasks.require(namespace, task, TASK_NOT_FOUND)
    require_current(record, attempt)
    return record, attempt


@router.route("/results/<namespace>/<task>", ["POST"], summary="Submit task result (raw bytes)", headers=[ATTEMPT],
              body=RequestBody("The result, as bytes (at most 10 MiB; stored with its Content-Type)", media="*/*",
                               schema=BINARY),
              responses={204: "Stored", 409: STALE, 413: "Over 10 MiB"})
def post_result(ctx: RequestContext, namespace: str, task: str):
    _caller_may_write(ctx, namespace)
    limit = get_settings().max_result_bytes
    if (ctx.request.content_length or 0) > limit:
        raise TooLarge("result exceeds 10MB limit")
    data = ctx.request.get_data(cache=False)
    if len(data) > limit:
        raise TooLarge("result exceeds 10MB limit")
    if not data:
        raise Invalid("empty request body")
    current, attempt = _require_current(ctx, namespace, task)
    put_blob(result_key(namespace, task), data, ctx.request.content_type or "application/octet-stream")
    stale: dict[str, bool] = {}

    def mark(doc: dict) -> bool:
        if attempt is not None and not is_current(doc, attempt):
            stale["yes"] = True  # reclaimed between the check and now: its result is not recorded
            return False
        status = doc.setdefault("status", {})
        status["resultRef"] = {"available": True, "size": len(data)}
        set_condition(status, "ResultAvailable", True, "ResultSaved")
        return True

    record = tasks.update(namespace, task, mark, not_found_message=TASK_NOT_FOUND, current=current, claim_seq=True)
    if stale:
        raise Conflict(STALE_ATTEMPT)
    announce("dev.shoal.task.result.saved", record, size=len(data))
    return None


@router.route("/plans/<namespace>/<task>", ["POST"], summary="Save plan state (snake_case)",
              body="shared.workerapi.models:PlanUpdate",
              headers=[ATTEMPT], responses={204: "Saved", 409: STALE})
def post_plan(ctx: RequestContext, namespace: str, task: str):
    _caller_may_write(ctx, namespace)
    update = ctx.body()
    # The task and its plan in one round trip (a worker saves its plan every iteration).
    record, plan = get_together((tasks, namespace, task), (plans, namespace, task))
    if record is None:
        raise NotFound(TASK_NOT_FOUND)
    require_current(record, _reported_attempt(ctx))
    iteration = int(record.doc.get("status", {}).get("iteration", 0))
    stamp = now_rfc3339()
    fields = {"summary": update.summary, "progressPct": update.progress_pct, "goalComplete": update.goal_complete,
              "planDocument": update.plan_document, "iteration": iteration, "updatedAt": stamp}
    if plan is not None:
        plans.update(namespace, task, lambda doc: doc.update(fields), current=plan)
    else:
        try:
            plans.create(namespace, task, {**fields, "createdAt": stamp})
        except AlreadyExists:  # saved meanwhile (a retried request)
            plans.update(namespace, task, lambda doc: doc.update(fields))
    announce("dev.shoal.task.plan.saved", record)
    return None


@router.route("/plans/<namespace>/<task>", ["GET"], summary="Get plan state (PascalCase)",
              responses={200: Reply("Orka's PlanState", "shared.tasks.models:PlanState"), 404: "No plan"})
def get_plan(ctx: RequestContext, namespace: str, task: str):
    _caller_may_write(ctx, namespace)
    plan = plans.get(namespace, task)
    if plan is None:
        raise NotFound("plan not found")
    return plan_state(namespace, task, plan.doc)


@router.route("/status/<namespace>/<task>", ["POST"],
              summary="Report the task's phase from its worker (Shoal extension)",
              body="shared.workerapi.models:StatusReport",
              headers=[ATTEMPT], responses={204: "Moved (or already there)", 409: "An illegal move, or " + STALE})
def post_status(ctx: RequestContext, namespace: str, task: str):
    _caller_may_write(ctx, namespace)
    report = ctx.body()
    if report.phase not in ("Running", "Succeeded", "Failed"):
        raise Invalid("phase must be one of Running, Succeeded, Failed")
    attempt = _reported_attempt(ctx)
    record = tasks.require(namespace, task, TASK_NOT_FOUND)
    # With an attempt, the move is fenced inside the task's conditional write: a reclaim and this
    # report cannot both win.
    moved = transition(namespace, task, report.phase, message=report.message, attempt=attempt,
                       only_from=RUNNING_PHASES if attempt is not None else None, current=record)
    if moved is None:
        current = tasks.require(namespace, task, TASK_NOT_FOUND).doc.get("status", {})
        same_attempt = attempt is None or int(current.get("attempts", 0)) == attempt
        if current.get("phase") == report.phase and same_attempt:
            return None  # a retried report is not an error
        if attempt is not None and (not same_attempt or current.get("phase") not in RUNNING_PHASES):
            raise Conflict(STALE_ATTEMPT)  # reclaimed, retried, cancelled or timed out meanwhile
        raise Conflict(f'task is {current.get("phase")}, cannot move to {report.phase}')
    return None


# -- artifacts -----------------------------------------------------------------------------------
ARTIFACT_LIMIT_MESSAGE = "artifact exceeds 10MB limit"


def check_filename(filename: str) -> None:
    """Orka's rules (at most 255 characters, no control characters, not `.`/`..`) plus no separators."""
    if (not filename or len(filename) > 255 or filename in (".", "..")
            or any(ord(c) < 32 or ord(c) == 127 for c in filename) or "/" in filename or "\\" in filename):
        raise Invalid("invalid artifact filename")


@router.route("/artifacts/<namespace>/<task>/<filename>", ["POST"], summary="Upload a task artifact (raw bytes)",
              body=RequestBody("The artifact, as bytes (at most 10 MiB); without a Content-Type (or with "
                               "application/octet-stream) its type is guessed from the file name", media="*/*",
                               schema=BINARY),
              responses={201: Reply("The artifact's metadata", "shared.tasks.models:TaskArtifact"),
                         413: "Over 10 MiB"})
def post_artifact(ctx: RequestContext, namespace: str, task: str, filename: str):
    import mimetypes

    _caller_may_write(ctx, namespace)
    check_filename(filename)
    limit = get_settings().max_result_bytes
    if (ctx.request.content_length or 0) > limit:
        raise TooLarge(ARTIFACT_LIMIT_MESSAGE)
    data = ctx.request.get_data(cache=False)
    if len(data) > limit:
        raise TooLarge(ARTIFACT_LIMIT_MESSAGE)
    if not data:
        raise Invalid("empty request body")
    tasks.require(namespace, task, TASK_NOT_FOUND)
    content_type = ctx.request.content_type or ""
    if not content_type or content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    put_blob(artifact_key(namespace, task, filename), data, content_type)
    meta = {"filename": filename, "contentType": content_type, "size": len(data), "createdAt": now_rfc3339()}
    partition = child_partition(namespace, task)
    try:
        artifacts.create(partition, filename, meta)
    except AlreadyExists:  # a re-upload replaces the artifact
        artifacts.update(partition, filename, lambda doc: doc.update(meta))
    return meta, 201


# -- messages ------------------------------------------------------------------------------------
@router.route("/messages/<namespace>", ["POST"], summary="Send an inter-agent message (toTask \"*\" broadcasts)",
              body="shared.workerapi.models:MessageSend", responses={204: "Sent"})
def post_message(ctx: RequestContext, namespace: str):
    _caller_may_write(ctx, namespace)
    body = ctx.body()
    send(namespace, body.fromTask, body.toTask, body.parentTask, body.content)
    return None


@router.route("/messages/<namespace>/<task>", ["GET"], summary="Unread messages for a task",
              query="shared.workerapi.models:MessagesQuery",
              responses={200: Reply("The unread messages, oldest first", "shared.workerapi.doc_models:MessageList")})
def get_messages(ctx: RequestContext, namespace: str, task: str):
    _caller_may_write(ctx, namespace)
    q = ctx.query()
    if not q.parentTask:
        raise Invalid("parentTask query parameter is required")
    return unread(namespace, task, q.parentTask, mark_read=q.markRead is None or q.markRead == "true")


# -- session transcripts ---------------------------------------------------------------------------
@router.route("/sessions/<namespace>/<name>/transcript", ["GET"], summary="Session transcript (NDJSON)",
              query="shared.workerapi.models:TranscriptQuery", responses={
                  200: Reply("One JSON message per line", media="application/x-ndjson"),
                  403: "The task does not reference this session"})
def get_transcript(ctx: RequestContext, namespace: str, name: str):
    from flask import Response

    _caller_may_write(ctx, namespace)
    task_name = ctx.query().taskName
    if task_name:
        record = tasks.require(namespace, task_name, TASK_NOT_FOUND)
        if (record.doc.get("spec", {}).get("sessionRef") or {}).get("name") != name:
            raise Forbidden("task does not reference this session")
    return Response(transcript_text(namespace, name), status=200, content_type="application/x-ndjson")


@router.route("/sessions/<namespace>/<name>/transcript", ["POST"],
              summary="Append messages to a session transcript (Shoal extension)",
              body="shared.workerapi.models:TranscriptAppend",
              responses=_DONE)
def post_transcript(ctx: RequestContext, namespace: str, name: str):
    _caller_may_write(ctx, namespace)
    body = ctx.body()
    append_messages(namespace, name, [msg.model_dump() for msg in body.messages], task=body.taskName or "")
    return None


# -- worker progress and coordination (Shoal extensions: workers reach the platform only here) ---------
@router.route("/events/<namespace>/<task>", ["POST"], summary="Append worker progress to the task's stream",
              body="shared.workerapi.models:WorkerEvent", headers=[ATTEMPT], responses={204: "Appended",
                                                                                        409: STALE})
def post_event(ctx: RequestContext, namespace: str, task: str):
    _caller_may_write(ctx, namespace)
    body = ctx.body()
    current, _ = _require_current(ctx, namespace, task)
    append_feed(current, body.event, body.data)
    return None


@router.route("/heartbeat/<namespace>/<task>", ["POST"],
              summary="Renew the worker's lease on its task attempt (Shoal extension)",
              body="shared.workerapi.models:Heartbeat", headers=[ATTEMPT], responses={204: "Renewed",
                                                                                      409: STALE})
def post_heartbeat(ctx: RequestContext, namespace: str, task: str):
    _caller_may_write(ctx, namespace)
    attempt = ctx.body(allow_empty=True).attempt or parse_attempt(ctx.request.headers.get(ATTEMPT_HEADER))
    if attempt is None:
        raise Invalid("attempt is required")
    record = tasks.require(namespace, task, TASK_NOT_FOUND)
    require_current(record, attempt)
    renew(record, attempt)
    return None


@router.route("/tasks/<namespace>/<task>/spec", ["GET"],
              summary="The task's spec and the agent resolved for its attempt, for its worker (Shoal extension)",
              headers=[ATTEMPT], responses={200: Reply("The spec, the resolved Agent and the attempt",
                                                       "shared.workerapi.models:WorkerTaskSpec"),
                                            409: STALE})
def get_task_spec(ctx: RequestContext, namespace: str, task: str):
    _caller_may_write(ctx, namespace)
    record, _ = _require_current(ctx, namespace, task)
    attempt = int(record.doc.get("status", {}).get("attempts", 0))
    resolved = resolved_agents.get(namespace, task)
    agent = resolved.doc.get("agent") if resolved is not None and resolved.doc.get("attempt") == attempt else None
    return {"spec": record.doc.get("spec", {}), "agent": agent, "attempt": attempt}


@router.route("/tasks/<namespace>", ["POST"], summary="Create a child task for a coordinator",
              body="shared.workerapi.models:ChildTaskCreate",
              responses={201: Reply("The created Task", "shared.tasks.models:Task"), 409: "Duplicate"})
def post_child_task(ctx: RequestContext, namespace: str):
    _caller_may_write(ctx, namespace)
    parent_name = ctx.body().parentTask  # the whole body checked here, the task part again by create_task
    body = {k: v for k, v in ctx.json_object().items() if k != "parentTask"}
    parent = tasks.require(namespace, parent_name, TASK_NOT_FOUND)
    # Children live beside their parent: the route's namespace wins over any in the body.
    body["namespace"] = namespace
    if isinstance(body.get("metadata"), dict):
        body["metadata"].pop("namespace", None)
    agent = (body.get("agentRef") or {}).get("name") if isinstance(body.get("agentRef"), dict) else body.get("agentRef")
    labels, annotations = child_metadata(parent, agent if isinstance(agent, str) and agent else None)
    record = create_task(body, ctx.require_principal(), namespace_hint=namespace, server_labels=labels,
                         server_annotations=annotations)
    return task_view(record), 201


@router.route("/tasks/<namespace>/<task>", ["GET"], summary="A task's phase and result, for coordinators",
              responses={200: Reply("The task's state", "shared.workerapi.models:TaskState")})
def get_task_state(ctx: RequestContext, namespace: str, task: str):

    _caller_may_write(ctx, namespace)
    record = tasks.require(namespace, task, TASK_NOT_FOUND)
    status = record.doc.get("status", {})
    view = {"name": task, "namespace": namespace, "phase": status.get("phase"), "message": status.get("message"),
            "labels": record.doc.get("metadata", {}).get("labels", {})}
    if status.get("resultRef", {}).get("available"):
        view["result"] = result_text(record)
    return view


@router.route("/tasks/<namespace>/<task>/model-token", ["POST"],
              summary="Mint a task-scoped model token for the task's coding-agent runtime",
              responses={201: Reply("The token, its expiry and the compat base URLs",
                                    "shared.workerapi.models:ModelToken"), 404: "Unknown task",
                         409: "The task is not running"})
def post_model_token(ctx: RequestContext, namespace: str, task: str):
    """The runtime's API key for the compat endpoints (docs/auth.md, "Task tokens"): bound to the task's
    current attempt, valid while it runs; the provider key stays with the platform."""
    _caller_may_write(ctx, namespace)
    minted = mint(namespace, task)
    return {"token": minted.token, "expiresAt": minted.expires_at, **compat_urls()}, 201


@router.route("/tasks/<namespace>/<task>/cancel", ["POST"], summary="Cancel a task, for coordinators",
              body="shared.tasks.models:TaskCancel",
              responses={200: Reply("Whether it moved, and its phase now",
                                    "shared.workerapi.models:CancelOutcome")})
def post_cancel(ctx: RequestContext, namespace: str, task: str):
    _caller_may_write(ctx, namespace)
    reason = ctx.body(allow_empty=True).reason
    tasks.require(namespace, task, TASK_NOT_FOUND)
    moved = cancel_task(namespace, task, reason)
    phase = tasks.require(namespace, task, TASK_NOT_FOUND).doc.get("status", {}).get("phase")
    return {"name": task, "cancelled": moved is not None, "phase": phase}
