"""The public tasks API: `/api/v1/tasks/**` (Orka dialect)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import Response

from shared.config import get_settings
from shared.errors import Conflict, Invalid, NotFound
from shared.executor.factory import job_output
from shared.http import RequestContext, Router
from shared.http.models import Header, Reply
from shared.http.params import parse_sequence
from shared.http.sse import Progress, follow, frame, sse_response
from shared.models.phases import TERMINAL_PHASES
from shared.store import Record
from shared.store.blobs import delete_blob, get_blob
from shared.store.objects import get_together
from shared.tasks.feed import read_feed
from shared.tasks.lifecycle import announce
from shared.tasks.plans import plan_state, plan_summary
from shared.tasks.repository import (
    TASK_NOT_FOUND,
    artifact_key,
    artifacts,
    child_partition,
    children,
    plans,
    result_key,
    result_text,
    tasks,
)
from shared.tasks.selectors import list_matching, parse_selector
from shared.tasks.service import cancel_task, drop_indexes, task_view, task_views
from shared.tasks.service import create_task as create_task_record
from shared.tasks.usage import task_usage

if TYPE_CHECKING:  # the route models load with the first request that validates (shared.http.models.resolve)
    from shared.tasks.models import TaskListQuery

router = Router("/api/v1/tasks", dialect="orka", tag="tasks")
PENDING_LOGS = "task is pending, no logs available yet"
MAX_FOLLOW_SECONDS = 30 * 60
END_GRACE_SECONDS = 2.0


def _finished(record: Record | None) -> bool:
    """Terminal for good: a failed task waiting for a retry is not finished yet."""
    if record is None:
        return True
    status = record.doc.get("status", {})
    return status.get("phase") in TERMINAL_PHASES and not status.get("nextRetryTime")


def _page(q: TaskListQuery) -> tuple[int | None, str | None]:
    token = q.continue_ or None
    if q.limit is None and token:
        raise Invalid("continue is not allowed with limit=0")
    return q.limit, token


@router.route("", ["POST"], summary="Create a task", body="shared.tasks.models:TaskCreate",
              query="shared.http.common_models:NamespaceQuery",
              responses={201: Reply("The created Task", "shared.tasks.models:Task"),
                         403: "Not allowed to create tasks there",
                         409: "Duplicate"})
def create_task(ctx: RequestContext):
    # Validated with m.TaskCreate by the service (every entry point creates through it), in Orka's order.
    record = create_task_record(ctx.json_object(), ctx.require_principal(), namespace_hint=ctx.query().namespace)
    return task_view(record), 201


@router.route("", ["GET"], summary="List tasks (paginated, labelSelector)",
              query="shared.tasks.models:TaskListQuery",
              responses={200: Reply("A page of Tasks", "shared.tasks.models:TaskList")})
def list_tasks(ctx: RequestContext):
    q = ctx.query()
    limit, token = _page(q)
    requirements = parse_selector(q.labelSelector)
    namespace = ctx.namespace(q.namespace)
    records, next_token = list_matching(tasks, namespace, requirements, limit=limit, cursor=token)
    metadata = {"continue": next_token} if next_token else {}
    return {"items": task_views(records), "metadata": metadata}


@router.route("/<name>", ["GET"], summary="Get task details",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The Task, with its plan summary when it has one",
                                    "shared.tasks.models:Task")})
def get_task(ctx: RequestContext, name: str):
    namespace = ctx.namespace(ctx.query().namespace)
    # one round trip: the task, its plan and its usage counters (used only when the task has some)
    record, plan, usage = get_together((tasks, namespace, name), (plans, namespace, name),
                                       (task_usage, namespace, name))
    if record is None:
        raise NotFound(TASK_NOT_FOUND)
    view = task_views([record], [usage])[0]
    if plan is not None:
        view["plan"] = plan_summary(plan.doc)
    return view


@router.route("/<name>", ["DELETE"], summary="Cancel/delete task",
              query="shared.http.common_models:NamespaceQuery",
              responses={204: "Deleted"})
def delete_task(ctx: RequestContext, name: str):
    namespace = ctx.namespace(ctx.query().namespace)
    record = tasks.require(namespace, name, TASK_NOT_FOUND)
    if not tasks.delete(namespace, name, expected_version=record.version):
        raise NotFound(TASK_NOT_FOUND)
    drop_indexes(record)
    plans.delete(namespace, name)
    if record.doc.get("status", {}).get("resultRef", {}).get("available"):
        delete_blob(result_key(namespace, name))
    found, _ = artifacts.list_page(child_partition(namespace, name), limit=None)
    for artifact in found:
        delete_blob(artifact_key(namespace, name, artifact.name))
        artifacts.delete(artifact.namespace, artifact.name)
    announce("dev.shoal.task.deleted", record)
    return None


@router.route("/<name>/cancel", ["POST"], summary="Cancel a task, keeping its record (Shoal extension)",
              body="shared.tasks.models:TaskCancel", query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The cancelled Task", "shared.tasks.models:Task"),
                         409: "Already finished"})
def cancel(ctx: RequestContext, name: str):
    namespace = ctx.namespace(ctx.query().namespace)
    reason = ctx.body(allow_empty=True).reason
    current = tasks.require(namespace, name, TASK_NOT_FOUND)
    moved = cancel_task(namespace, name, reason, current=current)
    if moved is not None:
        return task_view(moved)  # the record the transition wrote: no need to read it again
    # already finished, Cancelled included (docs/tasks.md; labrats refuses a repeat too)
    record = tasks.require(namespace, name, TASK_NOT_FOUND)
    raise Conflict(f'task is already {record.doc.get("status", {}).get("phase")}')


@router.route("/<name>/result", ["GET"], summary="Get task result",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The result, once status.resultRef.available",
                                    "shared.tasks.models:TaskResult"),
                         404: "Unknown task, or no result yet"})
def get_result(ctx: RequestContext, name: str):
    namespace = ctx.namespace(ctx.query().namespace)
    text = result_text(tasks.require(namespace, name, TASK_NOT_FOUND))
    if text is None:
        raise NotFound("task has no result")
    return {"result": text}


@router.route("/<name>/plan", ["GET"], summary="Get task plan",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("Orka's PlanState (PascalCase keys)", "shared.tasks.models:PlanState"),
                         404: "Unknown task, or no plan"})
def get_plan(ctx: RequestContext, name: str):
    namespace = ctx.namespace(ctx.query().namespace)
    record, plan = get_together((tasks, namespace, name), (plans, namespace, name))
    if record is None:
        raise NotFound(TASK_NOT_FOUND)
    if plan is None:
        raise NotFound("no plan found for this task")
    return plan_state(namespace, name, plan.doc)


# -- logs ----------------------------------------------------------------------------------------
def _current_logs(record: Record) -> str:
    """Orka: the stored result when there is one, else the job's recent output."""
    text = result_text(record)
    if text is not None:
        return text
    if not record.doc.get("status", {}).get("jobName"):
        raise NotFound(PENDING_LOGS)

    return job_output(record)


_LOGS = Reply("`{\"logs\": …}` (application/json); with `?follow=true` a stream of `data:` frames, one log "
              "line each (no event name), ending when the task finishes", "shared.tasks.models:TaskLogs",
              media="text/event-stream",
              events={"message": None})


@router.route("/<name>/logs", ["GET"], summary="Task logs (`?follow=true` streams SSE)", streaming=True,
              query="shared.tasks.models:TaskLogsQuery", responses={200: _LOGS,
                                                                    404: "Unknown task, or no job yet"})
def get_logs(ctx: RequestContext, name: str):
    q = ctx.query()
    namespace = ctx.namespace(q.namespace)
    record = tasks.require(namespace, name, TASK_NOT_FOUND)
    text = _current_logs(record)
    if q.follow != "true":
        return {"logs": text}
    settings = get_settings()
    initial = text.splitlines()
    # Following ends with the job: the worker writes its last lines after its final report (its
    # "task done" record), so once the task is finished the output is read on for END_GRACE_SECONDS
    # more. A result already stored is the answer.
    done_at_start = _finished(record) or record.doc.get("status", {}).get("resultRef", {}).get("available")
    sent = len(initial)

    def poll() -> tuple[list[str], Progress]:
        nonlocal sent
        current = tasks.get(namespace, name)
        finished = current is None or _finished(current)  # read before the output: nothing is missed
        lines = job_output(current).splitlines() if current else []
        if len(lines) < sent:  # a new attempt started a new job: follow it from its start
            sent = 0
        new, sent = lines[sent:], len(lines)
        return [frame(line) for line in new], ("done" if current is None else "ending") if finished else "live"

    followed = [] if done_at_start else follow(poll, poll_seconds=settings.stream_poll_seconds,
                                               max_seconds=MAX_FOLLOW_SECONDS, grace_seconds=END_GRACE_SECONDS)
    return sse_response(itertools.chain((frame(line) for line in initial), followed),
                        heartbeat_seconds=settings.sse_heartbeat_seconds)


# -- artifacts -----------------------------------------------------------------------------------
def _artifact_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in ("filename", "contentType", "size", "createdAt")}


@router.route("/<name>/artifacts", ["GET"], summary="List task artifacts",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The artifacts' metadata", "shared.tasks.models:TaskArtifactList")})
def list_artifacts(ctx: RequestContext, name: str):
    namespace = ctx.namespace(ctx.query().namespace)
    tasks.require(namespace, name, TASK_NOT_FOUND)
    found, _ = artifacts.list_page(child_partition(namespace, name), limit=None)
    return {"artifacts": [_artifact_view(a.doc) for a in found]}


@router.route("/<name>/artifacts/<filename>", ["GET"], summary="Download a task artifact (raw bytes)",
              query="shared.http.common_models:NamespaceQuery", responses={200: Reply(
                  "The artifact's bytes, in its stored content type, with Content-Disposition: attachment",
                  schema={"type": "string", "format": "binary"}, media="*/*"), 404: "Unknown task or artifact"})
def download_artifact(ctx: RequestContext, name: str, filename: str):
    namespace = ctx.namespace(ctx.query().namespace)
    record, meta = get_together((tasks, namespace, name), (artifacts, child_partition(namespace, name), filename))
    if record is None:
        raise NotFound(TASK_NOT_FOUND)
    data = get_blob(artifact_key(namespace, name, filename)) if meta else None
    if data is None:
        raise NotFound("artifact not found")
    ascii_name = filename.encode("ascii", "replace").decode().replace("\\", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(data, status=200, content_type=meta.doc.get("contentType") or "application/octet-stream",
                    headers={"Content-Disposition": disposition, "Content-Length": str(len(data))})


# -- children ------------------------------------------------------------------------------------
@router.route("/<name>/children", ["GET"], summary="Get child tasks (labelled orka.ai/parent-task)",
              query="shared.tasks.models:TaskListQuery",
              responses={200: Reply("A page of child Tasks", "shared.tasks.models:TaskList")})
def list_children(ctx: RequestContext, name: str):
    q = ctx.query()
    limit, token = _page(q)
    namespace = ctx.namespace(q.namespace)
    entries, next_token = children.list_page(child_partition(namespace, name), limit=limit, cursor=token)
    # Each child with its usage counters, in one round trip per 100 keys (children run models: most are
    # counted, and their counters would be another round trip after this one).
    found = get_together(*((store, namespace, entry.name) for entry in entries for store in (tasks, task_usage)))
    pairs = [(child, usage) for child, usage in zip(found[::2], found[1::2], strict=True)
             if child is not None]  # None: the index entry of a child deleted a moment ago
    return {"items": task_views([child for child, _ in pairs], [usage for _, usage in pairs]),
            "metadata": {"continue": next_token} if next_token else {}}


# The events of GET /stream: the task's lifecycle (dev.shoal.task.* without the prefix) and the
# worker's progress, each `data` a JSON object; `id:` is the sequence number for Last-Event-ID.
STREAM_EVENTS: dict[str, str] = {
    **{name: "shared.events.registry:TaskEventData" for name in (
        "task.created", "task.started", "task.finished", "task.plan.saved", "task.deleted", "task.retried")},
    "task.result.saved": "shared.events.registry:TaskResultData",
    **{name: "shared.tasks.models:WorkerProgress" for name in ("message", "tool_call", "tool_result",
                                                               "delta", "log")},
}


# -- stream --------------------------------------------------------------------------------------
@router.route("/<name>/stream", ["GET"], summary="Task events as SSE (id: lines, heartbeats, Last-Event-ID)",
              streaming=True, query="shared.tasks.models:TaskStreamQuery",
              headers=[Header("Last-Event-ID", "Resume after this event id (a sequence number)")],
              responses={200: Reply("The task's events from the start (or after Last-Event-ID), each with an `id:`; "
                                    "`: heartbeat` comments while idle; ends after task.finished or task.deleted",
                                    media="text/event-stream", events=STREAM_EVENTS)})
def stream(ctx: RequestContext, name: str):
    q = ctx.query()
    namespace = ctx.namespace(q.namespace)
    record = tasks.require(namespace, name, TASK_NOT_FOUND)
    raw_after = ctx.request.headers.get("Last-Event-ID") or q.after or "0"
    start = parse_sequence(raw_after, f"invalid Last-Event-ID: {raw_after}")
    settings = get_settings()

    after = start

    def poll() -> tuple[list[str], Progress]:
        nonlocal after
        finished = _finished(tasks.get(namespace, name))  # read before draining: nothing is missed
        frames, saw_end = [], False
        while batch := read_feed(record, after):
            for seq, item in batch:
                frames.append(frame(item.get("data", {}), event=item.get("event"), id=seq))
                after = seq
                saw_end = saw_end or item.get("event") in ("task.finished", "task.deleted")
        # The phase is written before its event is appended: wait briefly for that event, unless it
        # was already sent (or the client resumed past it).
        return frames, ("done" if saw_end else "ending") if finished else "live"

    frames = follow(poll, poll_seconds=settings.stream_poll_seconds, max_seconds=MAX_FOLLOW_SECONDS,
                    grace_seconds=END_GRACE_SECONDS)
    return sse_response(frames, heartbeat_seconds=settings.sse_heartbeat_seconds)
