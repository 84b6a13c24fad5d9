"""The served OpenAPI document, built once per process.

The routes are fixed at import, so the document cannot change while a process lives; building it
costs about 0.4 s of CPU (2 s the first time, with the models), which under load starved every
other route of the same process. One build under a lock, then the same bytes and ETag for everyone.
"""

from __future__ import annotations

import hashlib
import json
import threading

from shared.http.route_table import FUNCTION_ROUTERS, build_api

_lock = threading.Lock()
_built: tuple[bytes, str] | None = None


def served_document() -> tuple[bytes, str]:
    """The document as JSON bytes and its strong entity tag (unquoted, as werkzeug's ETags compare)."""
    global _built
    if _built is None:
        with _lock:  # concurrent first requests wait for one build instead of each doing it
            if _built is None:
                from shared.http.openapi import build_document  # pydantic's schemas: not at cold start

                document = build_document({name: build_api(name).routes for name in FUNCTION_ROUTERS})
                body = json.dumps(document, default=str).encode()
                _built = body, hashlib.sha256(body).hexdigest()[:32]
    return _built
