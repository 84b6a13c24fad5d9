"""The worker API: `/internal/v1/**` (Orka dialect). Workers report only through these routes."""

from __future__ import annotations

from shared.auth.namespaces import require_same_namespace
from shared.clock import now_rfc3339
from shared.config import get_settings
from shared.errors import Conflict, Invalid, NotFound, TooLarge
from shared.http import RequestContext, Router
from shared.store import AlreadyExists
from shared.store.blobs import put_blob
from shared.tasks.lifecycle import announce, set_condition, transition
from shared.tasks.plans import plan_state
from shared.tasks.repository import TASK_NOT_FOUND, plans, result_key, tasks

router = Router("/internal/v1", dialect="orka", tag="internal")
# Request models (pydantic) are imported inside the handlers that use them: a cold function
# answers its readiness probe without paying for them.


def _caller_may_write(ctx: RequestContext, namespace: str) -> None:
    require_same_namespace(ctx.require_principal(), namespace)


@router.route("/results/<namespace>/<task>", ["POST"], summary="Submit task result (raw bytes)",
              responses={204: "Stored", 413: "Over 10 MiB"})
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
    tasks.require(namespace, task, TASK_NOT_FOUND)
    put_blob(result_key(namespace, task), data, ctx.request.content_type or "application/octet-stream")

    def mark(doc: dict) -> None:
        status = doc.setdefault("status", {})
        status["resultRef"] = {"available": True, "size": len(data)}
        set_condition(status, "ResultAvailable", True, "ResultSaved")

    record = tasks.update(namespace, task, mark, not_found_message=TASK_NOT_FOUND)
    announce("dev.shoal.task.result.saved", record, size=len(data))
    return None


@router.route("/plans/<namespace>/<task>", ["POST"], summary="Save plan state (snake_case)")
def post_plan(ctx: RequestContext, namespace: str, task: str):
    from pydantic import ValidationError

    from shared.models.task import PlanUpdate

    _caller_may_write(ctx, namespace)
    try:
        update = PlanUpdate.model_validate(ctx.json_object())
    except ValidationError:
        raise Invalid("invalid request body") from None
    record = tasks.require(namespace, task, TASK_NOT_FOUND)
    iteration = int(record.doc.get("status", {}).get("iteration", 0))
    stamp = now_rfc3339()
    fields = {"summary": update.summary, "progressPct": update.progress_pct, "goalComplete": update.goal_complete,
              "planDocument": update.plan_document, "iteration": iteration, "updatedAt": stamp}
    try:
        plans.create(namespace, task, {**fields, "createdAt": stamp})
    except AlreadyExists:
        plans.update(namespace, task, lambda doc: doc.update(fields))
    announce("dev.shoal.task.plan.saved", record)
    return None


@router.route("/plans/<namespace>/<task>", ["GET"], summary="Get plan state (PascalCase)")
def get_plan(ctx: RequestContext, namespace: str, task: str):
    _caller_may_write(ctx, namespace)
    plan = plans.get(namespace, task)
    if plan is None:
        raise NotFound("plan not found")
    return plan_state(namespace, task, plan.doc)


@router.route("/status/<namespace>/<task>", ["POST"],
              summary="Report the task's phase from its worker (Shoal extension)")
def post_status(ctx: RequestContext, namespace: str, task: str):
    from pydantic import ValidationError

    from shared.models.task import StatusReport

    _caller_may_write(ctx, namespace)
    try:
        report = StatusReport.model_validate(ctx.json_object())
    except ValidationError:
        raise Invalid("invalid request body") from None
    if report.phase not in ("Running", "Succeeded", "Failed"):
        raise Invalid("phase must be one of Running, Succeeded, Failed")
    tasks.require(namespace, task, TASK_NOT_FOUND)
    moved = transition(namespace, task, report.phase, message=report.message)
    if moved is None:
        current = tasks.require(namespace, task, TASK_NOT_FOUND).doc.get("status", {}).get("phase")
        if current == report.phase:
            return None  # a retried report is not an error
        raise Conflict(f'task is {current}, cannot move to {report.phase}')
    return None
