"""`/internal/v1/workspace-inputs/**`: a task's workspace inputs (a labrats job's workspaceFiles and
workspaceUploads), read by the Kubernetes Job's init step (`shared.worker.workspace_fetch`)."""

from __future__ import annotations

from flask import Response

from shared.auth.namespaces import require_same_namespace
from shared.errors import NotFound
from shared.executor import workspace_inputs as ws
from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.http.params import is_sequence
from shared.tasks.repository import TASK_NOT_FOUND, tasks

router = Router("/internal/v1/workspace-inputs", dialect="orka", tag="internal")


def _task(ctx: RequestContext, namespace: str, task: str):
    require_same_namespace(ctx.require_principal(), namespace)
    return tasks.require(namespace, task, TASK_NOT_FOUND)


@router.route("/<namespace>/<task>", ["GET"], summary="A task's workspace inputs (paths)",
              responses={200: Reply("The inputs, by index", "shared.workerapi.models:WorkspaceInputs")})
def list_inputs(ctx: RequestContext, namespace: str, task: str):
    return {"files": [{"path": e["path"]} for e in ws.inputs(_task(ctx, namespace, task))]}


@router.route("/<namespace>/<task>/<index>", ["GET"], summary="One workspace input's bytes",
              responses={200: Reply("The input's bytes", media="application/octet-stream"),
                         404: "Unknown task or input"})
def input_bytes(ctx: RequestContext, namespace: str, task: str, index: str):
    entries = ws.inputs(_task(ctx, namespace, task))
    if not is_sequence(index) or int(index) >= len(entries):
        raise NotFound("workspace input not found")
    return Response(ws.content(entries[int(index)]), content_type="application/octet-stream")
