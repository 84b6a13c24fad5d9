"""`POST /webhooks/github`: verify, dedupe, emit a CloudEvent, answer at once (the `webhooks` function).

Order: no ORKA_GITHUB_WEBHOOK_SECRET → 503; a missing or wrong `X-Hub-Signature-256` (HMAC over the
raw body, constant-time) → 401 "invalid GitHub webhook signature"; nothing of the payload is read
before that. Then: `ping` → 202 without dispatch; an event nobody consumes, or a `labeled` event
whose label is neither a trigger nor a repository monitor's command → 202 ignored; a delivery id already processed → 202 duplicate;
otherwise the event is emitted as `com.github.<event>.<action>` with id = `X-GitHub-Delivery` and the
request answered 202. The work (creating tasks, monitor runs) happens in the `github` event function.
"""

from __future__ import annotations

from dataclasses import replace

from shared.catalog.stores import agent_doc
from shared.config import get_settings
from shared.errors import Invalid, Unauthorized, Unavailable
from shared.events import build, emit
from shared.github import deliveries
from shared.github.deliveries import GITHUB_HEADERS
from shared.github.signature import verify
from shared.http import RequestContext, Router
from shared.http.models import Reply, validate
from shared.logs import get_logger
from shared.store import idempotency
from shared.tasks.repository import tasks
from shared.wiring import load

router = Router("/webhooks", dialect="orka", tag="webhooks")
# Named, not imported: shared.monitors builds on shared.github, not the other way round.
MONITOR_COMMANDS = "shared.monitors.commands:matches"
log = get_logger("webhooks")
BAD_SIGNATURE = "invalid GitHub webhook signature"


def _ignored(reason: str, **extra):
    return {"status": "ignored", "reason": reason, **extra}, 202


@router.route("/github", ["POST"], public=True, summary="GitHub webhook deliveries (HMAC-verified)",
              body="shared.github.models:GitHubPayload", headers=GITHUB_HEADERS,
              responses={202: Reply("Accepted, ignored or duplicate", "shared.github.models:WebhookAnswer"),
                         401: "Bad signature",
                         503: "No secret configured"})
def github_webhook(ctx: RequestContext):
    secret = get_settings().github_webhook_secret
    if not secret:
        raise Unavailable("GitHub webhook secret is not configured")
    raw = ctx.request.get_data(cache=True)
    if not verify(secret, raw, ctx.request.headers.get("X-Hub-Signature-256")):
        raise Unauthorized(BAD_SIGNATURE)
    event = (ctx.request.headers.get("X-GitHub-Event") or "").strip()
    if not event:
        raise Invalid("missing X-GitHub-Event header")
    payload = deliveries.parse_payload(raw, ctx.request.content_type or "")
    validate("shared.github.models:GitHubPayload",
             payload)  # the fields Shoal reads have their types; the rest is GitHub's
    delivery = (ctx.request.headers.get("X-GitHub-Delivery") or "").strip()
    if event == "ping":
        return {"status": "ok", "event": "ping", "delivery": delivery or None, "zen": payload.get("zen"),
                "hook_id": payload.get("hook_id")}, 202
    if not delivery:
        raise Invalid("missing X-GitHub-Delivery header")
    type_ = deliveries.event_type(event, payload)
    from shared.events.registry import EVENT_TYPES  # the event catalogue's models: not at cold start

    if type_ not in EVENT_TYPES:
        return _ignored(f"event {type_.removeprefix('com.github.')} is not handled", delivery=delivery)
    extra: dict[str, object] = {}
    # maintainer commands of repository monitors (`orka:fix`, …): which monitors take this label
    commands = load(MONITOR_COMMANDS)(payload, delivery) if type_ == "com.github.pull_request.labeled" else []
    if commands:
        extra = {"matchedMonitors": len(commands), "commandIDs": [c.command_id for c in commands]}
    elif payload.get("action") == "labeled":
        trigger = deliveries.label_trigger(payload)
        if trigger is None:
            label = payload.get("label", {}).get("name") if isinstance(payload.get("label"), dict) else None
            return _ignored(f'label "{label}" is not a trigger label', delivery=delivery)
        if not trigger.agent:
            raise Invalid(f'no agent configured for label "{trigger.label}"')
        agent = agent_doc(trigger.namespace, trigger.agent)
        if agent is None:
            raise Invalid(f'agent "{trigger.agent}" not found in namespace "{trigger.namespace}"')
        if not isinstance((agent.get("spec") or {}).get("runtime"), dict):
            raise Invalid(f'agent "{trigger.agent}" has no runtime')

        extra = {"taskName": trigger.task_name, "namespace": trigger.namespace, "action": trigger.action,
                 "label": trigger.label}
        if tasks.get(trigger.namespace, trigger.task_name) is not None:
            return {"status": "duplicate", "delivery": delivery, **extra}, 202
    key = f"webhooks#github#{delivery}"
    claim = idempotency.claim(key)
    if claim is not idempotency.Claim.CLAIMED:
        log.info("duplicate delivery", extra={"fields": {"delivery": delivery, "type": type_}})
        return {"status": "duplicate", "delivery": delivery, **extra}, 202
    cloud_event = replace(build(type_, payload, subject=deliveries.subject(event, payload),
                                source=deliveries.source(payload)), id=delivery)
    with idempotency.held(key):  # released on failure: GitHub's redelivery must be able to try again
        emit(cloud_event)
    log.info("delivery accepted", extra={"fields": {"delivery": delivery, "type": type_}})
    return {"status": "accepted", "delivery": delivery, "type": type_, **extra}, 202
