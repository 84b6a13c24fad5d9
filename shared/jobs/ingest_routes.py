"""`POST /api/events/ingest` and `POST /api/webhooks/github`: events that start agents' jobs.

Served by the `webhooks` function (DESIGN §3). The GitHub receiver verifies X-Hub-Signature-256
with the secret of a webhook-source record (constant-time HMAC over the raw body), normalises the
event to `<event>.<action>`, dedupes on X-GitHub-Delivery and starts one job per matching agent.
"""

from __future__ import annotations

import hashlib
import hmac
from contextlib import nullcontext

from shared.auth.api_keys import authenticate_api_key
from shared.auth.namespaces import resolve_namespace
from shared.config import get_settings
from shared.errors import Conflict, Invalid, NotFound, Unauthorized
from shared.github.deliveries import GITHUB_HEADERS
from shared.http import RequestContext, Router
from shared.http.body import parse_json
from shared.http.models import Reply, validate
from shared.jobs import stores
from shared.jobs.sources import is_source_name
from shared.jobs.triggers import start_from_event, system_principal
from shared.store import Record, idempotency

events_router = Router("/api/events", dialect="simple", tag="labrats events", authenticator=authenticate_api_key)
github_router = Router("/api/webhooks", dialect="simple", tag="labrats webhooks")


@events_router.route("/ingest", ["POST"], summary="Start one job per agent whose enabled trigger matches",
                     body="shared.jobs.job_models:EventIngest",
                     responses={200: Reply("The jobs started", "shared.jobs.job_models:StartedJobs")})
def ingest(ctx: RequestContext):
    request = ctx.body()
    body, payload = {"source": request.source, "event": request.event}, request.payload
    principal = ctx.require_principal()
    namespace = resolve_namespace(principal, None)
    # An ingested event named after an enabled webhook source gets that source's job settings.
    source = stores.webhook_sources.get(namespace, body["source"]) if is_source_name(body["source"]) else None
    enabled = source if source is not None and source.doc.get("enabled", True) is not False else None
    jobs = start_from_event(namespace, body["source"], body["event"], payload or {}, principal, enabled)
    return {"matched": len(jobs), "jobs": jobs}


def _signature_ok(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def _verified_source(namespace: str, name: str | None, body: bytes, header: str) -> Record:
    """The github webhook source whose secret signed the body; 401 when none did."""
    if name:
        record = stores.webhook_sources.get(namespace, name)
        if record is None:
            raise NotFound("Webhook source not found")
        candidates = [record]
    else:
        candidates, _ = stores.webhook_sources.list_page(namespace, limit=None)
    for record in candidates:
        doc = record.doc
        if doc.get("type", "github") != "github" or doc.get("enabled", True) is False or not doc.get("secret"):
            continue
        if _signature_ok(doc["secret"], body, header):
            return record
    raise Unauthorized("invalid signature")


@github_router.route("/github", ["POST"], public=True, summary="GitHub webhook receiver (HMAC-verified)",
                     body="shared.github.models:GitHubPayload",
                     query="shared.jobs.job_models:GitHubSourceQuery", headers=GITHUB_HEADERS, responses={
                         200: Reply("The jobs started (`duplicate: true` for a delivery seen before)",
                                    "shared.jobs.job_models:StartedJobs"),
                         401: "Missing or bad signature", 404: "Unknown ?source=", 409: "Delivery in progress"})
def github(ctx: RequestContext):
    headers = ctx.request.headers
    signature = headers.get("X-Hub-Signature-256")
    if not signature:
        raise Unauthorized("missing X-Hub-Signature-256 header")
    namespace = get_settings().default_namespace
    raw = ctx.request.get_data(cache=True)
    source = _verified_source(namespace, ctx.query().source or None, raw, signature)
    event = headers.get("X-GitHub-Event")
    if not event:
        raise Invalid("missing X-GitHub-Event header")
    try:
        payload = parse_json(raw)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("invalid JSON payload") from None
    if not isinstance(payload, dict):
        raise Invalid("invalid JSON payload")
    validate("shared.github.models:GitHubPayload", payload)
    action = payload.get("action")
    normalized = f"{event}.{action}" if isinstance(action, str) and action else event
    if event == "ping":
        return {"event": normalized, "source": source.name, "matched": 0, "jobs": []}
    delivery = headers.get("X-GitHub-Delivery")
    key = f"github#{source.name}#{delivery}" if delivery else None
    if key:
        claim = idempotency.claim(key)
        if claim is idempotency.Claim.COMPLETED:
            return {"event": normalized, "source": source.name, "duplicate": True, "matched": 0, "jobs": []}
        if claim is idempotency.Claim.IN_PROGRESS:
            raise Conflict("delivery is being processed")
    with idempotency.held(key) if key else nullcontext():
        jobs = start_from_event(namespace, "github", normalized, payload, system_principal(namespace, "webhooks"),
                                source)
    return {"event": normalized, "source": source.name, "matched": len(jobs), "jobs": jobs}
