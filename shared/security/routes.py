"""`/api/v1/security/repositories/**` (Orka dialect): RepositoryScans, threat models, runs, slices, findings."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from shared.clock import now_rfc3339
from shared.errors import Invalid, NotFound
from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.http.params import page_token, parse_limit, string_map
from shared.monitors.validation import identity, validate_name
from shared.schedules import respecced
from shared.security import schedule
from shared.security.results import reason_of, save_threat_model
from shared.security.retention import bury
from shared.security.scans import start_scan
from shared.security.store import (
    SCAN_NOT_FOUND,
    dropped,
    findings,
    repo_scope,
    repositories,
    require_repository,
    resource_view,
    runs,
    slices,
    threat_models,
)
from shared.security.validation import normalize_spec, reject_server_stamped
from shared.store import ObjectStore, Record, VersionConflict
from shared.tasks.service import cancel_task

router = Router("/api/v1/security", dialect="orka", tag="security")
FINDING_FILTERS = ("severity", "validationStatus", "state", "sliceID", "category", "recommended")
THREAT_MODEL_NOT_FOUND = "threat model not found"


def _page(records: list[dict[str, Any]], next_token: str | None) -> dict[str, Any]:
    return {"items": records, "metadata": {"continue": next_token} if next_token else {}}


def filtered_page(store: ObjectStore, partition: str, ctx: RequestContext, wanted: dict[str, str], *,
                  cursor_param: str = "cursor", default: int = 50) -> dict[str, Any]:
    """One page of a child list with equality filters: pages are read until `limit` items match.

    The next cursor is the store cursor after the last page read, so a filtered page may hold
    fewer than `limit` items and still carry a cursor (bounded work per request: 20 store pages).
    """
    limit = parse_limit(ctx.args, default=default, maximum=500) or default
    cursor = page_token(ctx.args, cursor_param, "continue")
    matched: list[dict[str, Any]] = []
    for _ in range(20):
        # never read past `limit` matches: the cursor must not skip unreturned items
        records, cursor = store.list_page(partition, limit=limit - len(matched), cursor=cursor)
        for r in records:
            if all(str(r.doc.get(k)).lower() == v.lower() for k, v in wanted.items()):
                matched.append(r.doc)
        if len(matched) >= limit or not cursor:
            break
    return _page(matched[:limit], cursor)


# -- RepositoryScan CRUD ------------------------------------------------------------------------------
@router.route("/repositories", ["POST"], summary="Create a repository scan",
              body="shared.security.models:RepositoryScanBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={201: Reply("The created RepositoryScan", "shared.security.models:RepositoryScan"),
                         409: "Duplicate"})
def create_repository(ctx: RequestContext):
    body = ctx.json_object()
    reject_server_stamped(body)
    name, explicit_ns, raw_spec = identity(body)
    name = validate_name(name)
    namespace = ctx.namespace(explicit_ns)
    spec = normalize_spec(raw_spec, namespace)
    ctx.body()  # after Orka's own checks: refuses unknown spec fields (shared.security.models)
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    doc = {"apiVersion": "core.orka.ai/v1alpha1", "kind": "RepositoryScan",
           "metadata": {"name": name, "uid": str(uuid.uuid4()), "labels": string_map(metadata.get("labels")),
                        "annotations": string_map(metadata.get("annotations")), "creationTimestamp": now_rfc3339(),
                        "generation": 1},
           "spec": spec, "status": {"phase": "Ready"}}
    schedule.apply_schedule(doc)
    record = repositories.create(namespace, name, doc, exists_message="repository scan already exists")
    schedule.index(namespace, name, spec.get("schedule"))
    return resource_view(record), 201


@router.route("/repositories", ["GET"], summary="List repository scans",
              query="shared.security.models:RepositoryListQuery",
              responses={200: Reply("A page of RepositoryScans",
                                    "shared.security.models:RepositoryScanList")})
def list_repositories(ctx: RequestContext):
    namespace = ctx.namespace()
    limit = parse_limit(ctx.args, default=100, maximum=500)
    records, next_token = repositories.list_page(namespace, limit=limit, cursor=ctx.args.get("continue") or None)
    return _page([resource_view(r) for r in records], next_token)


@router.route("/repositories/<name>", ["GET"], summary="Get repository scan details",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The RepositoryScan", "shared.security.models:RepositoryScan")})
def get_repository(ctx: RequestContext, name: str):
    return resource_view(require_repository(ctx.namespace(), name))


@router.route("/repositories/<name>", ["PUT"], summary="Update repository scan spec",
              body="shared.security.models:RepositoryScanBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The updated RepositoryScan", "shared.security.models:RepositoryScan"),
                         409: "Modified concurrently"})
def update_repository(ctx: RequestContext, name: str):
    body = ctx.json_object()
    reject_server_stamped(body, allow=("resourceVersion",))
    namespace = ctx.namespace()
    if not isinstance(body.get("spec"), dict):
        raise Invalid("spec is required")
    spec = normalize_spec(body["spec"], namespace)
    ctx.body()  # after Orka's own checks: refuses unknown spec fields (shared.security.models)
    current = require_repository(namespace, name)
    wanted_version = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body.get("metadata"),
                                                                                    dict) else None
    if wanted_version is not None and str(wanted_version) != str(current.version):
        raise VersionConflict("repository scan was modified concurrently")
    doc = respecced(current.doc, spec)
    try:
        record = repositories.replace(namespace, name, doc, expected_version=current.version)
    except VersionConflict:
        raise VersionConflict("repository scan was modified concurrently") from None
    schedule.index(namespace, name, spec.get("schedule"))
    return resource_view(record)


@router.route("/repositories/<name>", ["DELETE"], summary="Delete repository scan",
              query="shared.http.common_models:NamespaceQuery",
              responses={204: "Deleted"})
def delete_repository(ctx: RequestContext, name: str):
    namespace = ctx.namespace()
    record = require_repository(namespace, name)
    # Children live under the resource's uid: unreachable once it is gone, swept by the scheduler.
    # Marked first, so no crash can leave them unmarked (the sweep skips a repository still there).
    bury(record)
    if not repositories.delete(namespace, name, expected_version=record.version):
        raise NotFound(SCAN_NOT_FOUND)
    threat_models.delete(namespace, name)
    schedule.index(namespace, name, None)
    _cancel_active_scan(record)
    return None


def _cancel_active_scan(record: Record) -> None:
    """The deleted repository's running slice tasks are cancelled: their results would be discarded."""
    run_id = (record.doc.get("status") or {}).get("activeScan")
    run = runs.get(repo_scope(record), run_id) if run_id else None
    for task in ((run.doc.get("tasks") or {}).values() if run else ()):
        with contextlib.suppress(NotFound):
            cancel_task(record.namespace, task, "repository scan deleted")


# -- threat model --------------------------------------------------------------------------------------
def _threat_view(record: Record) -> dict[str, Any]:
    doc = {k: v for k, v in record.doc.items() if k != "uid"}
    doc["resourceVersion"] = str(record.version)
    return doc


@router.route("/repositories/<name>/threat-model", ["GET"], summary="Get latest threat model",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The threat model", "shared.security.answers:ThreatModel")})
def get_threat_model(ctx: RequestContext, name: str):
    namespace = ctx.namespace()
    repo = require_repository(namespace, name)
    record = threat_models.get(namespace, name)
    if record is None or record.doc.get("uid") != repo.doc["metadata"]["uid"]:
        raise NotFound(THREAT_MODEL_NOT_FOUND)
    return _threat_view(record)


@router.route("/repositories/<name>/threat-model", ["PUT"], summary="Update threat model",
              body="shared.security.result_models:ThreatModelBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The saved threat model", "shared.security.answers:ThreatModel")})
def put_threat_model(ctx: RequestContext, name: str):
    from pydantic import ValidationError

    from shared.security.result_models import ThreatModelBody

    body = ctx.json_object()
    for key in ("source", "updatedAt", "updatedBy", "scanRunID", "repository", "namespace", "resourceVersion"):
        if key in body:
            raise Invalid(f"{key} cannot be set by clients")
    try:
        model = ThreatModelBody.model_validate(body)
    except ValidationError as exc:
        raise Invalid(f"invalid threat model: {reason_of(exc)}") from None
    if not model.summary.strip() and not (model.assets or model.entryPoints or model.trustBoundaries
                                          or model.threats):
        raise Invalid("threat model is empty")
    principal = ctx.require_principal()
    namespace = ctx.namespace()
    repo = require_repository(namespace, name)
    return _threat_view(save_threat_model(repo, model.model_dump(), source="user", actor=principal.subject))


# -- scan runs -------------------------------------------------------------------------------------------
@router.route("/repositories/<name>/scans", ["GET"], summary="List scan runs",
              query="shared.security.models:PageQuery",
              responses={200: Reply("A page of scan runs", "shared.security.answers:ScanRunList")})
def list_scans(ctx: RequestContext, name: str):
    repo = require_repository(ctx.namespace(), name)
    return filtered_page(runs, repo_scope(repo), ctx, {})


@router.route("/repositories/<name>/scans", ["POST"], summary="Trigger manual scan",
              body="shared.security.models:NoBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={201: Reply("The started ScanRun", "shared.security.answers:ScanRun"),
                         409: "A scan is already running"})
def create_scan(ctx: RequestContext, name: str):
    ctx.body(allow_empty=True)
    principal = ctx.require_principal()
    namespace = ctx.namespace()
    require_repository(namespace, name)
    return start_scan(namespace, name, trigger="manual", actor=principal.subject).doc, 201


# -- slices and dropped output ---------------------------------------------------------------------------
@router.route("/repositories/<name>/slices", ["GET"], summary="List deterministic review slices",
              query="shared.security.models:SliceListQuery",
              responses={200: Reply("A page of slices", "shared.security.answers:ReviewSliceList")})
def list_slices(ctx: RequestContext, name: str):
    repo = require_repository(ctx.namespace(), name)
    wanted = {"status": ctx.args["status"]} if ctx.args.get("status") else {}
    return filtered_page(slices, repo_scope(repo), ctx, wanted)


@router.route("/repositories/<name>/slices/<slice_id>", ["GET"], summary="Get review slice details",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The slice", "shared.security.answers:ReviewSlice")})
def get_slice(ctx: RequestContext, name: str, slice_id: str):
    repo = require_repository(ctx.namespace(), name)
    return slices.require(repo_scope(repo), slice_id, "review slice not found").doc


@router.route("/repositories/<name>/dropped-findings", ["GET"], summary="List v2 dropped-finding diagnostics",
              query="shared.security.models:DroppedListQuery",
              responses={200: Reply("A page of rejected model output",
                                    "shared.security.answers:DroppedFindingList")})
def list_dropped(ctx: RequestContext, name: str):
    repo = require_repository(ctx.namespace(), name)
    wanted = {k: ctx.args[k] for k in ("scanRunID", "sliceID") if ctx.args.get(k)}
    return filtered_page(dropped, repo_scope(repo), ctx, wanted)


# -- findings ----------------------------------------------------------------------------------------------
@router.route("/repositories/<name>/findings", ["GET"], summary="List findings",
              query="shared.security.models:FindingListQuery",
              responses={200: Reply("A page of findings", "shared.security.answers:FindingList")})
def list_findings(ctx: RequestContext, name: str):
    # Closed filters (severity, state, validationStatus, recommended) are checked by the query model:
    # a typo is a 400, not an empty page.
    q = ctx.query()
    repo = require_repository(ctx.namespace(ctx.query().namespace), name)
    wanted = {k: getattr(q, k) for k in FINDING_FILTERS if getattr(q, k)}
    return filtered_page(findings, repo_scope(repo), ctx, wanted)
