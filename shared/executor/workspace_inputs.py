"""Workspace uploads (files in the bucket) and the workspace inputs of a job's task.

A workspace upload is stored under `workspace-uploads/<namespace>/<id>/<name>` with a record of
kind "wsupload" (namespace, id). A job's `workspaceFiles` (inline base64) and `workspaceUploads`
(`{id, name}` references) are its workspace inputs: the local executor writes them into the
worker's workspace directory itself; a Kubernetes Job gets an init container that downloads them
through `/internal/v1/workspace-inputs/**` into the shared /workspace emptyDir.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from shared.errors import Invalid, NotFound
from shared.store import ObjectStore, Record
from shared.store.blobs import get_blob

JOB_ANNOTATION = "labrats.work/job"
BLOB_PREFIX = "workspace-uploads"
workspace_uploads = ObjectStore("wsupload")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

# Leading bytes of content we recognise; executables are refused (workspace files are data).
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"))
_EXECUTABLES = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")


def safe_name(raw: str | None, default: str = "upload.bin") -> str:
    return _SAFE_NAME.sub("_", (raw or "").replace("\\", "/").rsplit("/", 1)[-1]).strip("._") or default


def blob_key(namespace: str, upload_id: str, name: str) -> str:
    return f"{BLOB_PREFIX}/{namespace}/{upload_id}/{name}"


def sniff(data: bytes) -> str | None:
    """The content type by the bytes themselves; None for an executable (refused)."""
    if data.startswith(_EXECUTABLES):
        return None
    for magic, content_type in _SIGNATURES:
        if data.startswith(magic):
            return content_type
    try:
        data[:65536].decode("utf-8")
        return "text/plain; charset=utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end is still text.
        return "text/plain; charset=utf-8" if exc.start >= len(data[:65536]) - 3 else "application/octet-stream"


def check_references(namespace: str, refs: list[dict[str, str]]) -> None:
    """Every `workspaceUploads` entry names an existing upload of this namespace (Invalid otherwise)."""
    for i, ref in enumerate(refs):
        record = workspace_uploads.get(namespace, ref["id"])
        if record is None or record.doc.get("name") != ref["name"]:
            raise Invalid(f"workspaceUploads[{i}] does not name an existing workspace upload")


def _job(task: Record) -> dict[str, Any]:
    raw = task.doc.get("metadata", {}).get("annotations", {}).get(JOB_ANNOTATION)
    try:
        job = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return job if isinstance(job, dict) else {}


def inputs(task: Record) -> list[dict[str, Any]]:
    """[{path, size?, data (base64) | key}] in the order they are written (uploads, then inline files)."""
    job = _job(task)
    entries: list[dict[str, Any]] = []
    for ref in job.get("workspaceUploads") or []:
        name = safe_name(ref.get("name"))
        entries.append({"path": name, "key": blob_key(task.namespace, str(ref.get("id")), name)})
    for item in job.get("workspaceFiles") or []:
        entries.append({"path": item["name"], "data": item["data"]})
    return entries


def has_inputs(task: Record) -> bool:
    job = _job(task)
    return bool(job.get("workspaceUploads") or job.get("workspaceFiles"))


def content(entry: dict[str, Any]) -> bytes:
    if "data" in entry:
        return base64.b64decode(entry["data"])
    data = get_blob(entry["key"])
    if data is None:
        raise NotFound(f"workspace upload {entry['path']} not found")
    return data


def target(directory: Path, relative: str) -> Path:
    """`directory/relative`, refusing anything that would land outside the directory."""
    root = directory.resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise ValueError(f"workspace path {relative!r} escapes the workspace")
    return path


def write(directory: Path, relative: str, data: bytes) -> None:
    path = target(directory, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def materialise(task: Record, directory: Path) -> list[str]:
    """Write the task's workspace inputs into `directory` (the local executor); the paths written."""
    written = []
    for entry in inputs(task):
        write(directory, entry["path"], content(entry))
        written.append(entry["path"])
    return written
