"""Reading the single `file` field of a multipart upload within a size limit (uploads, workspace uploads)."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.datastructures import FileStorage

from shared.errors import Invalid, ShoalError
from shared.http import RequestContext
from shared.http.models import BINARY, RequestBody

# Multipart framing around the file; a Content-Length beyond limit + this is refused unread.
MULTIPART_SLACK = 64 * 1024


def upload_form(what: str) -> RequestBody:
    """How an upload route documents its body."""
    return RequestBody(f"multipart/form-data with the field `file` ({what})", media="multipart/form-data",
                       schema={"type": "object", "required": ["file"], "properties": {"file": BINARY}})


def read_file_field(ctx: RequestContext, limit: int, too_large: Callable[[], ShoalError]) -> tuple[FileStorage, bytes]:
    """The `file` part and its bytes; too_large() when over `limit` (checked before reading when possible)."""
    if (ctx.request.content_length or 0) > limit + MULTIPART_SLACK:
        raise too_large()  # refused before the body is read
    if not (ctx.request.mimetype or "").startswith("multipart/form-data"):
        raise Invalid("expected multipart/form-data with a field named file")
    upload = ctx.request.files.get("file")
    if upload is None:
        raise Invalid("file is required")
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise too_large()
    return upload, data
