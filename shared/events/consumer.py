"""The idempotent-consumer adapter: every event function serves the broker through it.

Answers (Knative data-plane rules): 200 with an empty body when handled or already handled;
400 for a request that is not a valid event (not retried); 409 while another replica holds the
claim (retried later); 503 with Retry-After while the state backend is unavailable (retried);
500 when the handler failed (retried, then dead-lettered). Never a non-empty 2xx body, which the
MT broker would count as a failed delivery.

Also answers GET /metrics (this process's Prometheus metrics) and counts every delivery by type and
outcome; with tracing on, handling an event is a consumer span, child of its `traceparent` extension.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Request, Response

from shared.errors import ShoalError
from shared.events.envelope import Event, parse
from shared.logs import get_logger
from shared.observability import metrics, tracing
from shared.store import idempotency
from shared.store.outages import StoreUnavailable

log = get_logger("events")
TICKS = frozenset({"dev.knative.sources.ping"})  # periodic: handled at debug level, not logged by default
EventHandler = Callable[[Event], None]


def consume(request: Request, handlers: Mapping[str, EventHandler], *, function: str) -> Response:
    """Parse, dedupe on source+id, dispatch by type ("*" catches the rest), answer per the rules above."""
    if request.method == "GET" and request.path in ("/healthz", "/readyz"):
        return Response('{"status":"ok"}', status=200, content_type="application/json")
    if request.method == "GET" and request.path == metrics.METRICS_PATH:
        body, content_type = metrics.exposition()
        return Response(body, status=200, content_type=content_type)
    try:
        event = parse(request.headers, request.get_data())
    except ShoalError as exc:
        log.warning("rejected event", extra={"fields": {"function": function, "reason": exc.message}})
        metrics.record_event_consumed(function, "", "rejected")
        return Response(exc.message, status=400, content_type="text/plain")
    with tracing.span(f"{function} {event.type}", kind="consumer", parent=event.extensions.get("traceparent"),
                      attributes={"cloudevents.event_type": event.type, "cloudevents.event_id": event.id,
                                  "cloudevents.event_source": event.source}):
        response, outcome = _deliver(event, handlers, function)
    metrics.record_event_consumed(function, event.type, outcome)
    return response


def _deliver(event: Event, handlers: Mapping[str, EventHandler], function: str) -> tuple[Response, str]:
    fields = {"function": function, "type": event.type, "id": event.id, "source": event.source,
              "subject": event.subject, "traceparent": event.extensions.get("traceparent")}
    handler = handlers.get(event.type) or handlers.get("*")
    if handler is None:
        log.info("ignored event", extra={"fields": fields})
        return Response(status=200), "ignored"
    try:
        return _handle(event, handler, f"{function}#{event.dedupe_key}", fields)
    except StoreUnavailable as exc:  # the store is down: the broker retries, nothing is dead-lettered early
        log.warning("event deferred: state backend unavailable", extra={"fields": fields})
        return Response(status=503, headers=exc.headers), "deferred"


def _handle(event: Event, handler: EventHandler, key: str, fields: dict) -> tuple[Response, str]:
    claim = idempotency.claim(key)
    if claim is idempotency.Claim.COMPLETED:
        log.info("duplicate event", extra={"fields": fields})
        return Response(status=200), "duplicate"
    if claim is idempotency.Claim.IN_PROGRESS:
        return Response(status=409), "busy"
    try:
        with idempotency.held(key):
            handler(event)
    except StoreUnavailable:
        raise
    except Exception:
        log.exception("event handler failed", extra={"fields": fields})
        return Response(status=500), "failed"
    # A PingSource tick (every 5 s for the scheduler) would write a line each time, drowning the rest.
    (log.debug if event.type in TICKS else log.info)("event", extra={"fields": fields})
    return Response(status=200), "handled"
