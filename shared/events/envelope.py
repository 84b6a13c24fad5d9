"""The only module that touches the cloudevents SDK (v1 API, which functions-framework pins).

Events travel as a frozen `Event`; parsing accepts binary and structured mode; emitting sends
binary mode to `K_SINK` (Knative's SinkBinding, or the local platform's broker).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.config import get_settings
from shared.errors import Invalid, ShoalError
from shared.net.hop import pooled_hop
from shared.observability import metrics, tracing

if TYPE_CHECKING:
    import httpx

REQUIRED = ("id", "source", "specversion", "type")


@dataclass(frozen=True)
class Event:
    type: str
    source: str
    id: str
    data: Any = None
    subject: str | None = None
    time: str | None = None
    extensions: Mapping[str, str] = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        return f"{self.source}#{self.id}"


class EmitError(ShoalError):
    status = 502
    code = "emit_failed"


class NoSink(EmitError):
    """No K_SINK: a configuration problem, not an outage (nothing to retry or park)."""


def parse(headers: Mapping[str, str], body: bytes) -> Event:
    """An Event from an HTTP request in binary or structured mode; Invalid names what is missing."""
    lowered = {k.lower(): v for k, v in headers.items()}
    content_type = lowered.get("content-type", "")
    if content_type.startswith("application/cloudevents-batch"):
        raise Invalid("batched CloudEvents are not accepted")
    if not content_type.startswith("application/cloudevents"):
        missing = [f"ce-{a}" for a in REQUIRED if f"ce-{a}" not in lowered]
        if missing:
            raise Invalid(f"not a CloudEvent: missing {', '.join(missing)}")
    from cloudevents.exceptions import GenericException
    from cloudevents.http import from_http

    try:
        ce = from_http(dict(lowered), body)
    except GenericException as exc:
        raise Invalid(f"invalid CloudEvent: {type(exc).__name__}") from None
    attrs = ce.get_attributes()
    known = {"id", "source", "specversion", "type", "subject", "time", "datacontenttype", "dataschema"}
    return Event(type=attrs["type"], source=attrs["source"], id=attrs["id"], data=ce.get_data(),
                 subject=attrs.get("subject"), time=attrs.get("time"),
                 extensions={k: v for k, v in attrs.items() if k not in known})


def build(type: str, data: Any, *, subject: str | None = None, source: str | None = None,
          traceparent: str | None = None, id: str | None = None,
          extensions: Mapping[str, str] | None = None) -> Event:
    """A new event with the current time and a fresh id, or `id` (with a fixed `source`) when the same
    occurrence may be announced again (consumers dedupe on source and id). `extensions`: attributes
    Triggers may filter on (lowercase alphanumeric names)."""
    settings = get_settings()
    # The CloudEvents distributed-tracing extension: the caller's, else the current span's (when tracing is on).
    traceparent = traceparent or tracing.traceparent()
    ext = {**(extensions or {}), **({"traceparent": traceparent} if traceparent else {})}
    return Event(type=type, source=source or f"/shoal/{settings.event_source or 'shoal'}", id=id or uuid.uuid4().hex,
                 data=data, subject=subject, time=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                 extensions=ext)


def to_http(event: Event, *, structured: bool = False) -> tuple[dict[str, str], bytes]:
    """Headers and body of an event in binary (default) or structured mode."""
    from cloudevents.conversion import to_binary, to_structured
    from cloudevents.http import CloudEvent

    attrs: dict[str, Any] = {"type": event.type, "source": event.source, "id": event.id,
                             "datacontenttype": "application/json"}
    if event.subject:
        attrs["subject"] = event.subject
    if event.time:
        attrs["time"] = event.time
    for key, value in event.extensions.items():
        # The spec wants lowercase alphanumeric extension names; v2 of the SDK enforces it.
        if not key.isalnum() or not key.islower() or len(key) > 20:
            raise ValueError(f"invalid CloudEvent extension name {key!r}")
        attrs[key] = value
    ce = CloudEvent(attrs, event.data)
    headers, body = to_structured(ce) if structured else to_binary(ce)
    return dict(headers), body if isinstance(body, bytes) else json.dumps(body).encode()


def _events_client() -> httpx.Client:
    import httpx

    # The sink is the platform's own broker: no SSRF guard, but a bounded pool and timeout.
    return httpx.Client(timeout=10.0, limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))


def emit(event: Event, *, sink: str | None = None) -> None:
    """Deliver an event to the sink in binary mode; EmitError when the sink refuses it."""
    target = sink or get_settings().k_sink
    if not target:
        raise NoSink("no event sink configured (K_SINK)")
    import httpx

    headers, body = to_http(event)
    try:
        # The pooled client's own transport (shared/net/hop.py): ~0.2 ms less CPU per event than its `post`.
        response = pooled_hop("events", _events_client, target).post("", body, headers)
    except httpx.HTTPError as exc:
        metrics.record_event_emitted(event.type, "failed")
        raise EmitError(f"event sink unreachable: {type(exc).__name__}") from None
    if response.status_code >= 300:
        metrics.record_event_emitted(event.type, "failed")
        raise EmitError(f"event sink answered {response.status_code}")
    metrics.record_event_emitted(event.type, "sent")
