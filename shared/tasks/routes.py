"""The public tasks API: `/api/v1/tasks/**` (Orka dialect)."""

from __future__ import annotations

from shared.auth.namespaces import resolve_namespace
from shared.errors import Invalid, NotFound
from shared.http import RequestContext, Router
from shared.http.params import parse_limit
from shared.store.blobs import delete_blob, get_blob
from shared.tasks.lifecycle import announce
from shared.tasks.plans import plan_summary
from shared.tasks.repository import TASK_NOT_FOUND, plans, result_key, tasks
from shared.tasks.service import create_task as create_task_record
from shared.tasks.service import task_view

router = Router("/api/v1/tasks", dialect="orka", tag="tasks")


@router.route("", ["POST"], summary="Create a task", responses={201: "The created Task", 409: "Duplicate"})
def create_task(ctx: RequestContext):
    raw = ctx.request.get_data(cache=True)
    body = ctx.json(message="invalid request body") if raw.strip() else None
    record = create_task_record(body, ctx.require_principal(), namespace_hint=ctx.args.get("namespace"))
    return task_view(record), 201


@router.route("", ["GET"], summary="List tasks (paginated)")
def list_tasks(ctx: RequestContext):
    limit = parse_limit(ctx.args, default=100, maximum=500, zero_means_all=True)
    token = ctx.args.get("continue") or None
    if limit is None and token:
        raise Invalid("continue is not allowed with limit=0")
    namespace = resolve_namespace(ctx.require_principal(), ctx.args.get("namespace"))
    records, next_token = tasks.list_page(namespace, limit=limit, cursor=token)
    metadata = {"continue": next_token} if next_token else {}
    return {"items": [task_view(r) for r in records], "metadata": metadata}


@router.route("/<name>", ["GET"], summary="Get task details")
def get_task(ctx: RequestContext, name: str):
    namespace = resolve_namespace(ctx.require_principal(), ctx.args.get("namespace"))
    record = tasks.require(namespace, name, TASK_NOT_FOUND)
    view = task_view(record)
    plan = plans.get(namespace, name)
    if plan is not None:
        view["plan"] = plan_summary(plan.doc)
    return view


@router.route("/<name>", ["DELETE"], summary="Cancel/delete task")
def delete_task(ctx: RequestContext, name: str):
    namespace = resolve_namespace(ctx.require_principal(), ctx.args.get("namespace"))
    record = tasks.require(namespace, name, TASK_NOT_FOUND)
    if not tasks.delete(namespace, name, expected_version=record.version):
        raise NotFound(TASK_NOT_FOUND)
    plans.delete(namespace, name)
    if record.doc.get("status", {}).get("resultRef", {}).get("available"):
        delete_blob(result_key(namespace, name))
    announce("dev.shoal.task.deleted", record)
    return None


@router.route("/<name>/result", ["GET"], summary="Get task result")
def get_result(ctx: RequestContext, name: str):
    namespace = resolve_namespace(ctx.require_principal(), ctx.args.get("namespace"))
    record = tasks.require(namespace, name, TASK_NOT_FOUND)
    if not record.doc.get("status", {}).get("resultRef", {}).get("available"):
        raise NotFound("task has no result")
    data = get_blob(result_key(namespace, name))
    if data is None:
        raise NotFound("task has no result")
    return {"result": data.decode("utf-8", errors="replace")}


@router.route("/<name>/plan", ["GET"], summary="Get task plan")
def get_plan(ctx: RequestContext, name: str):
    from shared.tasks.plans import plan_state

    namespace = resolve_namespace(ctx.require_principal(), ctx.args.get("namespace"))
    tasks.require(namespace, name, TASK_NOT_FOUND)
    plan = plans.get(namespace, name)
    if plan is None:
        raise NotFound("no plan found for this task")
    return plan_state(namespace, name, plan.doc)
