"""`/api/workspace-uploads/**` (labrats dialect); the Job init step reads them through the worker API
(`shared.workerapi.workspace_inputs_routes`).

Workspace uploads live in the bucket, not on a PVC (see shared.executor.workspace_inputs). The spec
marks the upload and raw download for API keys and the listing and delete for the dashboard JWT;
the jobs routers' authenticator accepts both, so every route takes either.
"""

from __future__ import annotations

import sys
import uuid

from shared.auth.api_keys import authenticate_dashboard
from shared.clock import now_rfc3339
from shared.config import get_settings
from shared.errors import Invalid, NotFound, TooLarge
from shared.executor import workspace_inputs as ws
from shared.http import RequestContext, Router
from shared.http.models import BINARY, Reply
from shared.jobs import stores
from shared.jobs.multipart import read_file_field, upload_form
from shared.store.blobs import get_blob, put_blob

router = Router("/api/workspace-uploads", dialect="simple", tag="labrats workspace uploads",
                authenticator=authenticate_dashboard)
NOT_FOUND = "Workspace upload not found"


def _view(doc: dict) -> dict:
    return {k: doc.get(k) for k in ("id", "name", "size", "contentType", "createdAt")}


def _too_large() -> TooLarge:
    return TooLarge(f"File too large (max {get_settings().workspace_upload_max_bytes // (1024 * 1024)} MB)")


@router.route("", ["POST"], summary="Upload a workspace file (multipart field `file`)", max_body_bytes=sys.maxsize,
              body=upload_form("any file but an executable"),
              responses={201: Reply("The upload", "shared.jobs.admin_models:Upload"),
                         413: "Over the upload limit"})
def create_workspace_upload(ctx: RequestContext):
    limit = get_settings().workspace_upload_max_bytes
    upload, data = read_file_field(ctx, limit, _too_large)
    if not data:
        raise Invalid("file is empty")
    content_type = ws.sniff(data)  # by the bytes, never by the name or the client's Content-Type
    if content_type is None:
        raise Invalid("Executable files are not accepted")
    namespace = ctx.namespace(query=False)
    upload_id = uuid.uuid4().hex[:16]
    name = ws.safe_name(upload.filename)
    put_blob(ws.blob_key(namespace, upload_id, name), data, "application/octet-stream")
    doc = {"id": upload_id, "name": name, "size": len(data), "contentType": content_type,
           "createdAt": now_rfc3339(), "key": ws.blob_key(namespace, upload_id, name)}
    ws.workspace_uploads.create(namespace, upload_id, doc)
    return _view(doc), 201


@router.route("", ["GET"], summary="List workspace uploads (newest first)",
              responses={200: Reply("The uploads, newest first", "shared.jobs.doc_models:UploadList")})
def list_workspace_uploads(ctx: RequestContext):
    records, _ = ws.workspace_uploads.list_page(ctx.namespace(query=False), limit=None)
    return sorted((_view(r.doc) for r in records), key=lambda d: d["createdAt"] or "", reverse=True)


@router.route("/<upload_id>/<name>/raw", ["GET"], summary="Download a workspace upload",
              responses={200: Reply("The file, as an attachment", media="application/octet-stream",
                                    schema=BINARY, headers={"Content-Disposition": 'attachment; filename="<name>"'})})
def download_workspace_upload(ctx: RequestContext, upload_id: str, name: str):
    from flask import Response

    record = ws.workspace_uploads.require(ctx.namespace(query=False), upload_id, NOT_FOUND)
    if record.doc["name"] != name:
        raise NotFound(NOT_FOUND)
    data = get_blob(record.doc["key"])
    if data is None:
        raise NotFound(NOT_FOUND)
    # Served as an attachment and never sniffed: an uploaded HTML file must not run in our origin.
    return Response(data, content_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "X-Content-Type-Options": "nosniff"})


@router.route("/<upload_id>", ["DELETE"], summary="Delete a workspace upload",
              responses={200: Reply("Deleted", "shared.jobs.admin_models:UploadDeleted")})
def delete_workspace_upload(ctx: RequestContext, upload_id: str):
    return stores.delete_upload(ws.workspace_uploads, ctx.namespace(query=False), upload_id, NOT_FOUND)
