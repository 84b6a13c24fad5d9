"""`/api/uploads/**` (PDFs in the bucket, the pdf-sections pipeline) and `/api/models` of the labrats dialect."""

from __future__ import annotations

import re
import sys
import uuid

from shared.auth.api_keys import authenticate_dashboard
from shared.clock import now_rfc3339
from shared.config import get_settings
from shared.errors import Invalid, NotFound, TooLarge
from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.jobs import model_ops, stores
from shared.jobs.admin_routes import read_defaults
from shared.jobs.multipart import read_file_field, upload_form
from shared.jobs.pdf import sections_prompt
from shared.jobs.submit import create_job, validate_submission
from shared.store import AlreadyExists
from shared.store.blobs import get_blob, put_blob

uploads_router = Router("/api/uploads", dialect="simple", tag="labrats uploads", authenticator=authenticate_dashboard)
models_router = Router("/api/models", dialect="simple", tag="labrats models", authenticator=authenticate_dashboard)
UPLOAD_NOT_FOUND = "Upload not found"
PDF_MAGIC = b"%PDF-"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _view(doc: dict) -> dict:
    return {k: doc.get(k) for k in ("id", "name", "size", "contentType", "createdAt")}


def _too_large() -> TooLarge:
    limit = get_settings().upload_max_bytes
    return TooLarge(f"File too large (max {limit // (1024 * 1024)} MB)")


@uploads_router.route("", ["GET"], summary="List uploads",
                      responses={200: Reply("The uploads, newest first", "shared.jobs.doc_models:UploadList")})
def list_uploads(ctx: RequestContext):
    records, _ = stores.uploads.list_page(ctx.namespace(query=False), limit=None)
    return sorted((_view(r.doc) for r in records), key=lambda d: d["createdAt"] or "", reverse=True)


# The route's own body limit is checked in the handler against SHOAL_UPLOAD_MAX_BYTES (100 MB).
@uploads_router.route("", ["POST"], summary="Upload a PDF (multipart field `file`, max 100 MB)",
                      max_body_bytes=sys.maxsize, body=upload_form("a PDF, at most 100 MB"),
                      responses={201: Reply("The upload", "shared.jobs.admin_models:Upload"),
                                 413: "Over the upload limit"})
def create_upload(ctx: RequestContext):
    limit = get_settings().upload_max_bytes
    upload, data = read_file_field(ctx, limit, _too_large)
    if not data.startswith(PDF_MAGIC):
        raise Invalid("Only PDF files are accepted")
    upload_id = uuid.uuid4().hex[:16]
    name = _SAFE_NAME.sub("_", (upload.filename or "upload.pdf").rsplit("/", 1)[-1]).strip("._") or "upload.pdf"
    namespace = ctx.namespace(query=False)
    key = f"uploads/{namespace}/{upload_id}/{name}"
    put_blob(key, data, "application/pdf")
    doc = {"id": upload_id, "name": name, "size": len(data), "contentType": "application/pdf",
           "createdAt": now_rfc3339(), "key": key}
    stores.uploads.create(namespace, upload_id, doc)
    return _view(doc), 201


@uploads_router.route("/<upload_id>", ["DELETE"], summary="Delete an upload",
                      responses={200: Reply("Deleted", "shared.jobs.admin_models:UploadDeleted")})
def delete_upload(ctx: RequestContext, upload_id: str):
    return stores.delete_upload(stores.uploads, ctx.namespace(query=False), upload_id, UPLOAD_NOT_FOUND)


@uploads_router.route("/<upload_id>/extract", ["POST"], summary="Submit a pdf-sections pipeline job",
                      body="shared.jobs.admin_models:ExtractRequest",
                      responses={200: Reply("The job", "shared.jobs.admin_models:JobStarted")})
def extract(ctx: RequestContext, upload_id: str):
    body = ctx.body(allow_empty=True).model_dump(exclude_none=True)
    namespace = ctx.namespace(query=False)
    record = stores.uploads.require(namespace, upload_id, UPLOAD_NOT_FOUND)
    data = get_blob(record.doc["key"])
    if data is None:
        raise NotFound(UPLOAD_NOT_FOUND)
    instruction = body.get("prompt") or "Extract the key information from each section of this document."
    config = {k: body[k] for k in ("model", "effort") if body.get(k)}
    job = validate_submission({
        "source": "dashboard", "type": "document-extraction", "prompt": sections_prompt(instruction, data),
        "config": config, "pipeline": {"type": "pdf-sections", "uploadId": upload_id, "name": record.doc["name"]},
        "metadata": {"uploadId": upload_id, "fileName": record.doc["name"]}})
    return {"jobId": create_job(job, ctx.require_principal()).name}


@models_router.route("", ["GET"], summary="Configured models (from the defaults' provider settings)",
                     responses={200: Reply("The models and the PVC",
                                           "shared.jobs.admin_models:ConfiguredModels")})
def list_models(ctx: RequestContext):
    defaults = read_defaults(ctx.namespace(query=False))
    models = []
    if defaults.get("model"):
        models.append({"provider": "default", "model": defaults["model"]})
    for provider, settings in (defaults.get("providers") or {}).items():
        if isinstance(settings, dict) and settings.get("model"):
            entry = {"provider": provider, "model": settings["model"]}
            if settings.get("url"):
                entry["url"] = settings["url"]
            models.append(entry)
    return {"models": models, "pvc": get_settings().models_pvc}


# -- model operations (Kubernetes Jobs over the models PVC) --------------------------------
SCAN_RECORD = "latest"


def _scan_view(namespace: str, job_name: str, cached: bool) -> dict:
    try:
        status = model_ops.job_status(model_ops.read_job(namespace, job_name, listed_only=False))
    except NotFound:
        status = "missing"
    files = model_ops.scan_files(model_ops.logs(namespace, job_name)) if status == "completed" else None
    return {"job": job_name, "cached": cached, "status": status, "files": files}


@models_router.route("/scan", ["POST"], summary="Scan the models PVC with a Kubernetes Job (30-second cache)",
                     responses={200: Reply("A scan of the last 30 seconds",
                                           "shared.jobs.admin_models:ModelScan"),
                                202: Reply("A new scan Job", "shared.jobs.admin_models:ModelScan")})
def scan_models(ctx: RequestContext):
    import time

    namespace = ctx.namespace(query=False)
    cached = stores.model_scans.get(namespace, SCAN_RECORD)
    if cached is not None:
        return _scan_view(namespace, cached.doc["job"], True)
    body = model_ops.build_job(namespace, "scan", {})
    name = body["metadata"]["name"]
    try:  # the claim is a conditional write: concurrent scans share one Job
        stores.model_scans.create(namespace, SCAN_RECORD, {"job": name},
                                  expiry=int(time.time() + get_settings().models_scan_cache_seconds))
    except AlreadyExists:
        record = stores.model_scans.get(namespace, SCAN_RECORD)
        if record is not None:
            return _scan_view(namespace, record.doc["job"], True)
        raise
    try:
        model_ops.create(body)
    except Exception:
        stores.model_scans.delete(namespace, SCAN_RECORD)
        raise
    return {"job": name, "cached": False, "status": "pending", "files": None}, 202


@models_router.route("/download", ["POST"], summary="Download a configured model file to the PVC (a Kubernetes Job)",
                     body="shared.jobs.admin_models:ModelDownload",
                     responses={202: Reply("The download Job", "shared.jobs.admin_models:ModelJobStarted")})
def download_model(ctx: RequestContext):
    body = ctx.body().model_dump()
    provider = model_ops.segment(body["provider"], "provider")
    namespace = ctx.namespace(query=False)
    if not model_ops.configured_url(read_defaults(namespace), provider, body["model"], body["url"]):
        raise Invalid("url does not match a configured model")
    if not body["url"].startswith("https://"):
        raise Invalid("url must be https")
    file = model_ops.file_name(body["url"])
    job = model_ops.build_job(namespace, "download",
                              {"SOURCE_URL": body["url"], "TARGET": f"{model_ops.MOUNT}/{provider}/{file}"},
                              {model_ops.PROVIDER_LABEL: provider})
    return {"job": model_ops.create(job), "provider": provider, "model": body["model"], "file": file}, 202


@models_router.route("/jobs", ["GET"], summary="Model download and delete Jobs (not scans)",
                     responses={200: Reply("The Jobs, newest first", "shared.jobs.admin_models:ModelJobs")})
def model_jobs(ctx: RequestContext):
    return {"jobs": model_ops.list_jobs(ctx.namespace(query=False))}


@models_router.route("/jobs/<name>/logs", ["GET"], summary="Logs of a model operation Job",
                     responses={200: Reply("The Job's status and its last 500 log lines",
                                           "shared.jobs.admin_models:ModelJobLogs")})
def model_job_logs(ctx: RequestContext, name: str):
    namespace = ctx.namespace(query=False)
    job = model_ops.read_job(namespace, name, listed_only=True)
    return {"name": name, "status": model_ops.job_status(job), "logs": model_ops.logs(namespace, name)}


@models_router.route("/<provider>/<filename>", ["DELETE"], summary="Delete a model file from the PVC (a Kubernetes Job)",
                     responses={202: Reply("The delete Job", "shared.jobs.admin_models:ModelJobStarted")})
def delete_model(ctx: RequestContext, provider: str, filename: str):
    provider = model_ops.segment(provider, "provider")
    filename = model_ops.segment(filename, "filename")
    job = model_ops.build_job(ctx.namespace(query=False), "delete", {"TARGET": f"{model_ops.MOUNT}/{provider}/{filename}"},
                              {model_ops.PROVIDER_LABEL: provider})
    return {"job": model_ops.create(job), "provider": provider, "file": filename}, 202
