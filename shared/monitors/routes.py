"""`/api/v1/monitors/**` (Orka dialect): repository monitors, their runs, items and audit events."""

from __future__ import annotations

import re
import uuid
from typing import Any

from shared.auth.namespaces import resolve_namespace
from shared.catalog import crd
from shared.clock import now_rfc3339
from shared.errors import Invalid, NotFound
from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.http.params import PageToken, page_token, parse_sequence
from shared.monitors import schedule
from shared.monitors.runs import start_run
from shared.monitors.store import (
    MONITOR_NOT_FOUND,
    events_stream,
    index_repo,
    items,
    monitors,
    record_event,
    runs,
    scope,
    unindex_repo,
)
from shared.monitors.validation import identity, normalize_spec, validate_name
from shared.schedules import respecced
from shared.store import Record, VersionConflict, streams

router = Router("/api/v1/monitors", dialect="orka", tag="monitors")
_SHA = re.compile(r"^[0-9a-fA-F]{4,40}$")  # the spec's own example is "abc123"
ITEM_FILTERS = ("kind", "state", "verdict", "repairState", "automergeState")


# A monitor is a CRD-shaped document like the catalog's kinds: one view and one page shape for both.
monitor_view = crd.view


def _page(records: list[Record], next_token: str | None, view=lambda r: r.doc) -> dict[str, Any]:
    return crd.page([view(r) for r in records], next_token)


def _cursor(ctx: RequestContext) -> PageToken | None:
    return page_token(ctx.args, "continue", "cursor")


def _string_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise Invalid(f"{field} must be a map of strings")
    return dict(value)


@router.route("/repositories", ["POST"], summary="Create a repository monitor",
              body="shared.monitors.models:RepositoryMonitorBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={201: Reply("The created RepositoryMonitor",
                                    "shared.monitors.models:RepositoryMonitor"), 409: "Duplicate"})
def create_monitor(ctx: RequestContext):
    body = ctx.json_object()
    name, explicit_ns, raw_spec = identity(body)
    name = validate_name(name)
    principal = ctx.require_principal()
    namespace = resolve_namespace(principal, explicit_ns or ctx.query().namespace)
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    labels = _string_map(metadata.get("labels"), "metadata.labels")
    annotations = _string_map(metadata.get("annotations"), "metadata.annotations")
    spec = normalize_spec(raw_spec, namespace)
    ctx.body()  # after Orka's own checks (their messages): refuses an unknown spec field, naming it
    doc = {"apiVersion": "core.orka.ai/v1alpha1", "kind": "RepositoryMonitor",
           "metadata": {"name": name, "uid": str(uuid.uuid4()), "labels": labels, "annotations": annotations,
                        "creationTimestamp": now_rfc3339(), "generation": 1},
           "spec": spec, "status": {"phase": "Ready"}}
    schedule.apply_schedule(doc)
    record = monitors.create(namespace, name, doc, exists_message="repository monitor already exists")
    index_repo(f"{spec['owner']}/{spec['repository']}", namespace, name)
    schedule.index(namespace, name, spec.get("schedule"))
    record_event(namespace, name, "MonitorCreated", "repository monitor created", actor=principal.subject)
    return monitor_view(record), 201


@router.route("/repositories", ["GET"], summary="List repository monitors",
              query="shared.monitors.models:MonitorPageQuery",
              responses={200: Reply("A page of monitors", "shared.monitors.models:MonitorList")})
def list_monitors(ctx: RequestContext):
    limit = ctx.query().limit
    namespace = ctx.namespace()
    records, next_token = monitors.list_page(namespace, limit=limit, cursor=_cursor(ctx))
    return _page(records, next_token, monitor_view)


@router.route("/repositories/<name>", ["GET"], summary="Get repository monitor details",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The monitor", "shared.monitors.models:RepositoryMonitor"),
                         404: MONITOR_NOT_FOUND})
def get_monitor(ctx: RequestContext, name: str):
    namespace = ctx.namespace(ctx.query().namespace)
    return monitor_view(monitors.require(namespace, name, MONITOR_NOT_FOUND))


@router.route("/repositories/<name>", ["PUT"], summary="Update repository monitor spec",
              body="shared.monitors.models:RepositoryMonitorBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The updated RepositoryMonitor",
                                    "shared.monitors.models:RepositoryMonitor"),
                         404: MONITOR_NOT_FOUND, 409: "Modified concurrently"})
def update_monitor(ctx: RequestContext, name: str):
    body = ctx.json_object()
    principal = ctx.require_principal()
    namespace = resolve_namespace(principal, ctx.query().namespace)
    if not isinstance(body.get("spec"), dict):
        raise Invalid("spec is required")
    current = monitors.require(namespace, name, MONITOR_NOT_FOUND)
    spec = normalize_spec(body["spec"], namespace)
    ctx.body()  # after Orka's own checks (their messages): refuses an unknown spec field, naming it
    doc = respecced(current.doc, spec)

    try:
        record = monitors.replace(namespace, name, doc, expected_version=current.version)
    except VersionConflict:
        raise VersionConflict("repository monitor was modified concurrently") from None
    old, new = current.doc["spec"], spec
    if (old["owner"], old["repository"]) != (new["owner"], new["repository"]):
        unindex_repo(f"{old['owner']}/{old['repository']}", namespace, name)
    index_repo(f"{new['owner']}/{new['repository']}", namespace, name)
    schedule.index(namespace, name, new.get("schedule"))
    record_event(namespace, name, "MonitorUpdated", "repository monitor spec updated", actor=principal.subject)
    return monitor_view(record)


@router.route("/repositories/<name>", ["DELETE"], summary="Delete repository monitor",
              query="shared.http.common_models:NamespaceQuery",
              responses={204: "Deleted", 404: MONITOR_NOT_FOUND})
def delete_monitor(ctx: RequestContext, name: str):
    principal = ctx.require_principal()
    namespace = resolve_namespace(principal, ctx.query().namespace)
    record = monitors.require(namespace, name, MONITOR_NOT_FOUND)
    if not monitors.delete(namespace, name, expected_version=record.version):
        raise NotFound(MONITOR_NOT_FOUND)
    spec = record.doc["spec"]
    unindex_repo(f"{spec['owner']}/{spec['repository']}", namespace, name)
    schedule.index(namespace, name, None)
    record_event(namespace, name, "MonitorDeleted", "repository monitor deleted", actor=principal.subject)
    return None


@router.route("/repositories/<name>/runs", ["POST"], summary="Trigger a manual monitor run",
              body="shared.monitors.models:MonitorRunRequest",
              query="shared.http.common_models:NamespaceQuery",
              responses={201: Reply("The queued run", "shared.monitors.models:MonitorRun"),
                         404: MONITOR_NOT_FOUND, 409: "A run is already active"})
def create_run(ctx: RequestContext, name: str):
    body = ctx.json_object(allow_empty=True)
    principal = ctx.require_principal()
    namespace = resolve_namespace(principal, ctx.query().namespace)
    target_kind = body.get("targetKind") or ""
    if target_kind not in ("", "pull_request"):
        raise Invalid(f'invalid targetKind "{target_kind}": must be empty or pull_request')
    number = body.get("targetNumber")
    if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < 1):
        raise Invalid("targetNumber must be a positive integer")
    sha = body.get("targetSHA")
    if sha is not None and (not isinstance(sha, str) or not _SHA.match(sha)):
        raise Invalid("targetSHA must be a hexadecimal commit SHA")
    if sha and number is None:
        raise Invalid("targetSHA requires targetNumber")
    ctx.body(allow_empty=True)  # after Orka's own checks (their messages): refuses an unknown field
    if number is not None:
        target_kind = "pull_request"
    monitors.require(namespace, name, MONITOR_NOT_FOUND)
    record = start_run(namespace, name, trigger="manual", target_kind=target_kind, target_number=number,
                       target_sha=sha.lower() if sha else None, actor=principal.subject)
    return record.doc, 201


@router.route("/repositories/<name>/runs", ["GET"], summary="List monitor runs",
              query="shared.monitors.models:RunPageQuery",
              responses={200: Reply("A page of runs", "shared.monitors.models:RecordList"),
                         404: MONITOR_NOT_FOUND})
def list_runs(ctx: RequestContext, name: str):
    namespace = ctx.namespace()
    monitors.require(namespace, name, MONITOR_NOT_FOUND)
    limit = ctx.query().limit
    records, next_token = runs.list_page(scope(namespace, name), limit=limit, cursor=_cursor(ctx))
    return _page(records, next_token)


@router.route("/repositories/<name>/items", ["GET"], summary="List current monitor items",
              query="shared.monitors.models:ItemPageQuery",
              responses={200: Reply("The matching items", "shared.monitors.models:RecordList"),
                         404: MONITOR_NOT_FOUND})
def list_items(ctx: RequestContext, name: str):
    namespace = ctx.namespace()
    monitors.require(namespace, name, MONITOR_NOT_FOUND)
    query = ctx.query()
    limit = query.limit
    wanted = {f: getattr(query, f) for f in ITEM_FILTERS if getattr(query, f)}
    matched: list[dict[str, Any]] = []
    cursor = _cursor(ctx)
    # Items per monitor are bounded by the repository's open pull requests; filters apply per page.
    while True:
        records, cursor = items.list_page(scope(namespace, name), limit=limit, cursor=cursor)
        matched += [r.doc for r in records if all(str(r.doc.get(k)) == v for k, v in wanted.items())]
        if len(matched) >= limit or not cursor:
            break
    return crd.page(matched[:limit], cursor)


@router.route("/events", ["GET"], summary="List monitor audit events",
              query="shared.monitors.models:EventPageQuery",
              responses={200: Reply("The monitor's audit events, oldest first",
                                    "shared.monitors.models:RecordList")})
def list_events(ctx: RequestContext):
    query = ctx.query()
    namespace = ctx.namespace()
    name = query.name
    if not name:
        raise Invalid("name is required")
    limit = query.limit
    token = _cursor(ctx)
    after = parse_sequence(token, f"invalid {token.param} token") if token else 0
    wanted = {k: getattr(query, k) for k in ("runID", "itemKind", "itemNumber", "eventType") if getattr(query, k)}
    matched: list[dict[str, Any]] = []
    stream = events_stream(namespace, name)
    more = False
    for _ in range(20):  # bounded work per request: at most 20 pages of the stream, then a cursor
        page = streams.read(stream, after=after, limit=100)
        for seq, entry in page:
            if len(matched) >= limit:
                more = True
                break
            after = seq
            if all(str(entry.get(k)) == v for k, v in wanted.items()):
                matched.append({"id": seq, **entry})
        if more or len(page) < 100:
            break
    else:
        more = True
    return {"items": matched, "metadata": {"continue": str(after)} if more else {}}
