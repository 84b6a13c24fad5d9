"""`/api/uploads/**` (PDFs in the bucket, the pdf-sections pipeline) and `/api/models` of the labrats dialect."""

from __future__ import annotations

import re
import sys
import uuid

from shared.auth.dashboard import authenticate_dashboard
from shared.auth.namespaces import resolve_namespace
from shared.clock import now_rfc3339
from shared.config import get_settings
from shared.errors import Invalid, NotFound, TooLarge
from shared.http import RequestContext, Router
from shared.jobs import stores

uploads_router = Router("/api/uploads", dialect="simple", tag="labrats uploads", authenticator=authenticate_dashboard)
models_router = Router("/api/models", dialect="simple", tag="labrats models", authenticator=authenticate_dashboard)
UPLOAD_NOT_FOUND = "Upload not found"
PDF_MAGIC = b"%PDF-"
MULTIPART_SLACK = 64 * 1024  # the multipart envelope around the file
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _namespace(ctx: RequestContext) -> str:
    return resolve_namespace(ctx.require_principal(), None)


def _view(doc: dict) -> dict:
    return {k: doc.get(k) for k in ("id", "name", "size", "contentType", "createdAt")}


def _too_large() -> TooLarge:
    limit = get_settings().upload_max_bytes
    return TooLarge(f"File too large (max {limit // (1024 * 1024)} MB)")


@uploads_router.route("", ["GET"], summary="List uploads")
def list_uploads(ctx: RequestContext):
    records, _ = stores.uploads.list_page(_namespace(ctx), limit=None)
    return sorted((_view(r.doc) for r in records), key=lambda d: d["createdAt"] or "", reverse=True)


# The route's own body limit is checked in the handler against SHOAL_UPLOAD_MAX_BYTES (100 MB).
@uploads_router.route("", ["POST"], summary="Upload a PDF (multipart field `file`, max 100 MB)",
                      max_body_bytes=sys.maxsize, responses={201: "The upload"})
def create_upload(ctx: RequestContext):
    from shared.store.blobs import put_blob

    limit = get_settings().upload_max_bytes
    if (ctx.request.content_length or 0) > limit + MULTIPART_SLACK:
        raise _too_large()  # refused before the body is read
    if not (ctx.request.mimetype or "").startswith("multipart/form-data"):
        raise Invalid("expected multipart/form-data with a field named file")
    upload = ctx.request.files.get("file")
    if upload is None:
        raise Invalid("file is required")
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large()
    if not data.startswith(PDF_MAGIC):
        raise Invalid("Only PDF files are accepted")
    upload_id = uuid.uuid4().hex[:16]
    name = _SAFE_NAME.sub("_", (upload.filename or "upload.pdf").rsplit("/", 1)[-1]).strip("._") or "upload.pdf"
    namespace = _namespace(ctx)
    key = f"uploads/{namespace}/{upload_id}/{name}"
    put_blob(key, data, "application/pdf")
    doc = {"id": upload_id, "name": name, "size": len(data), "contentType": "application/pdf",
           "createdAt": now_rfc3339(), "key": key}
    stores.uploads.create(namespace, upload_id, doc)
    return _view(doc), 201


@uploads_router.route("/<upload_id>", ["DELETE"], summary="Delete an upload")
def delete_upload(ctx: RequestContext, upload_id: str):
    from shared.store.blobs import delete_blob

    namespace = _namespace(ctx)
    record = stores.uploads.require(namespace, upload_id, UPLOAD_NOT_FOUND)
    delete_blob(record.doc["key"])
    stores.uploads.delete(namespace, upload_id)
    return {"deleted": upload_id}


@uploads_router.route("/<upload_id>/extract", ["POST"], summary="Submit a pdf-sections pipeline job")
def extract(ctx: RequestContext, upload_id: str):
    from shared.jobs.pdf import sections_prompt
    from shared.jobs.submit import create_job, validate_submission
    from shared.store.blobs import get_blob

    body = ctx.json_object(allow_empty=True)
    for key in ("prompt", "model", "effort"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise Invalid(f"{key} must be a string")
    namespace = _namespace(ctx)
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


@models_router.route("", ["GET"], summary="Configured models (from the defaults' provider settings)")
def list_models(ctx: RequestContext):
    from shared.jobs.admin_routes import read_defaults

    defaults = read_defaults(_namespace(ctx))
    models = []
    if defaults.get("model"):
        models.append({"provider": "default", "model": defaults["model"]})
    for provider, settings in (defaults.get("providers") or {}).items():
        if isinstance(settings, dict) and settings.get("model"):
            entry = {"provider": provider, "model": settings["model"]}
            if settings.get("url"):
                entry["url"] = settings["url"]
            models.append(entry)
    return {"models": models, "pvc": None,
            "storage": "Shoal keeps no models-cache PVC; local inference models are managed by the inference service."}
