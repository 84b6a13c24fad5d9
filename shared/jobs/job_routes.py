"""`/api/jobs/**` of the labrats dialect: submit, list, detail, logs (SSE), retry, cancel."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.auth.api_keys import authenticate_dashboard
from shared.errors import Invalid, NotFound
from shared.executor.workspace_inputs import check_references
from shared.http import RequestContext, Router, json_response
from shared.http.models import Reply
from shared.http.sse import Progress, follow, frame, sse_response
from shared.jobs import stores
from shared.jobs.model import (
    STATUS,
    TOKEN_MAX_AGE_SECONDS,
    detail,
    has_embedded_token,
    job_fields,
    list_item,
    status_of,
)
from shared.jobs.results import live_log_lines, log_lines, read_result
from shared.jobs.submit import create_job
from shared.redact import redact
from shared.store import Record, counters
from shared.tasks.lifecycle import announce, transition
from shared.tasks.repository import tasks
from shared.tasks.service import cancel_task

router = Router("/api/jobs", dialect="simple", tag="labrats jobs", authenticator=authenticate_dashboard)
JOB_NOT_FOUND = "Job not found"
LIST_RESULT_CHARS = 4096
MAX_PAGE = 1000  # the spec sets none; page 1000 at limit 100 already reads 100 000 index entries
LOG_POLL_SECONDS = 1.0
LOG_STREAM_SECONDS = 280.0  # under Knative's 300 s request timeout; the client reconnects


def require_job(namespace: str, job_id: str) -> Record:
    record = tasks.get(namespace, job_id)
    if record is None or job_fields(record) is None:
        raise NotFound(JOB_NOT_FOUND)
    return record


def _int_arg(raw: str | None, name: str, default: int) -> int:
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise Invalid(f"{name} must be an integer") from None


@router.route("/submit", ["POST"], summary="Submit a job", body="shared.jobs.job_models:JobSubmission",
              responses={201: Reply("The job's id", "shared.jobs.job_models:JobSubmitted")})
def submit(ctx: RequestContext):
    job = ctx.body().job()
    check_references(ctx.namespace(query=False), job["workspaceUploads"])  # before any write: a bad reference stores nothing
    record = create_job(job, ctx.require_principal())
    return {"jobId": record.name, "source": job["source"], "type": job["type"]}, 201


@router.route("", ["GET"], summary="List jobs (newest first; page, limit 1-100, chainId)",
              query="shared.jobs.job_models:JobListQuery",
              responses={200: Reply("A page of jobs", "shared.jobs.job_models:JobList")})
def list_jobs(ctx: RequestContext):
    namespace = ctx.namespace(query=False)
    q = ctx.query()
    page = max(1, _int_arg(q.page, "page", 1))
    if page > MAX_PAGE:  # skipping costs O(page × limit) reads: bound the work of one request
        raise Invalid(f"page must be at most {MAX_PAGE}")
    limit = min(100, max(1, _int_arg(q.limit, "limit", 20)))
    chain_id = q.chainId
    skip = (page - 1) * limit
    if chain_id:
        entries, _ = stores.chain_index.list_page(f"{namespace}/{chain_id}", limit=None)
        total = len(entries)
    else:
        # One partition Query in index order; the cost is O(page × limit), never a Scan.
        entries, _ = stores.job_index.list_page(namespace, limit=skip + limit)

        total = counters.read(stores.STATS_SET, namespace).get("total", 0)
    items = []
    for entry in entries[skip:skip + limit]:
        record = tasks.get(namespace, entry.doc["jobId"])
        if record is not None and job_fields(record) is not None:
            items.append(list_item(record, read_result(record, limit=LIST_RESULT_CHARS)))
    return redact({"jobs": items, "page": page, "limit": limit, "total": total})


@router.route("/<job_id>", ["GET"], summary="Job detail",
              responses={200: Reply("The job", "shared.jobs.job_models:JobDetail")})
def get_job(ctx: RequestContext, job_id: str):
    record = require_job(ctx.namespace(query=False), job_id)
    return redact(detail(record, read_result(record), log_lines(record)))


@router.route("/<job_id>/logs", ["GET"], streaming=True, summary="Job logs (SSE)", responses={200: Reply(
    "`data:` frames without an event name: `{\"log\": line}` per log line, then `{\"done\": true, \"status\": …}`",
    media="text/event-stream", events={"message": "shared.jobs.job_models:JobLogFrame"})})
def job_logs(ctx: RequestContext, job_id: str):
    namespace = ctx.namespace(query=False)
    require_job(namespace, job_id)

    sent = 0

    def poll() -> tuple[list[str], Progress]:
        nonlocal sent
        record = tasks.get(namespace, job_id)
        if record is None:
            return [frame({"done": True, "status": "cancelled"})], "done"
        lines = live_log_lines(record)
        if len(lines) < sent:  # a retry started a new executor job: follow it from its start
            sent = 0
        frames = [frame(redact({"log": line})) for line in lines[sent:]]
        sent = max(sent, len(lines))
        status = status_of(record)
        if status in ("completed", "failed", "cancelled"):
            return [*frames, frame({"done": True, "status": status})], "done"
        return frames, "live"

    return sse_response(follow(poll, poll_seconds=LOG_POLL_SECONDS, max_seconds=LOG_STREAM_SECONDS))


def _age_seconds(record: Record) -> float:
    created = record.doc.get("metadata", {}).get("creationTimestamp")
    try:
        stamp = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return float("inf")
    return (datetime.now(UTC) - stamp).total_seconds()


@router.route("/<job_id>/retry", ["POST"], summary="Retry a failed job",
              responses={200: Reply("Waiting again", "shared.jobs.job_models:JobState"),
                         400: "Not failed, or a stale embedded token"})
def retry(ctx: RequestContext, job_id: str):
    namespace = ctx.namespace(query=False)
    record = require_job(namespace, job_id)
    phase = record.doc.get("status", {}).get("phase") or "Pending"
    if phase != "Failed":
        raise Invalid(f"Only failed jobs can be retried (job is {STATUS.get(phase, phase)})")
    setup = (job_fields(record) or {}).get("workspaceSetup") or {}
    if has_embedded_token(setup.get("gitRepo")) and _age_seconds(record) > TOKEN_MAX_AGE_SECONDS:
        raise Invalid("Job carries an embedded git token and is older than 10 minutes; submit a new job")

    def reset(status: dict) -> None:
        status["message"] = "retried"
        for key in ("completionTime", "jobName", "podName"):
            status.pop(key, None)

    moved = transition(namespace, job_id, "Pending", only_from=frozenset({"Failed"}), also=reset)
    if moved is None:
        raise Invalid("Only failed jobs can be retried")
    # The dispatcher starts Pending tasks on task.created; a retry is the same request again.
    announce("dev.shoal.task.created", moved)
    return {"jobId": job_id, "status": "waiting"}


@router.route("/<job_id>/cancel", ["POST"], summary="Cancel a waiting or active job",
              responses={200: Reply("Cancelled", "shared.jobs.job_models:JobState"), 400: "Already finished"})
def cancel(ctx: RequestContext, job_id: str):
    namespace = ctx.namespace(query=False)
    record = require_job(namespace, job_id)
    phase = record.doc.get("status", {}).get("phase") or "Pending"
    if phase not in ("Pending", "Running"):
        raise Invalid(f"Job cannot be cancelled: it is {STATUS.get(phase, phase)}")
    if cancel_task(namespace, job_id, "cancelled through the jobs API") is None:
        raise Invalid("Job cannot be cancelled: it has already finished")
    return json_response({"jobId": job_id, "status": "cancelled"})
