"""OpenTelemetry tracing across functions and CloudEvents hops, off by default.

On only when the standard variables ask for an exporter (`OTEL_TRACES_EXPORTER` other than `none`, or
`OTEL_EXPORTER_OTLP_ENDPOINT`/`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and `OTEL_SDK_DISABLED` is not
`true`; the SDK reads the rest (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, headers, protocol…)
itself. These are the SDK's own names, like boto3's `AWS_*`, so they are not in shared.settings.
Off, nothing here imports OpenTelemetry and every helper is a no-op.

The context travels as a W3C `traceparent`: the HTTP header between functions and to the worker API,
the CloudEvents distributed-tracing extension on events (shared.events.envelope), and the
`TRACEPARENT` environment variable from the dispatcher to a task worker (OTel's environment carrier).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

ENV_CARRIER = "TRACEPARENT"  # OTel's environment-variable carrier: the dispatcher's context for a worker
_lock = threading.Lock()
_state: dict[str, Any] = {}  # "enabled": bool, "tracer", "provider", "propagator"


def _wanted() -> bool:
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def _exporter() -> Any:
    kind = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if kind != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER={kind!r} is not supported (otlp, console or none)")
    # OTLP over HTTP/protobuf (the SDK's default protocol); endpoint and headers from OTEL_EXPORTER_OTLP_*.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def use_provider(provider: Any | None) -> None:
    """Trace with this SDK TracerProvider (tests: an in-memory exporter); None = decide from OTEL_* again."""
    with _lock:
        _state.clear()
        if provider is not None:
            _install(provider)


def _install(provider: Any) -> None:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    _state.update(enabled=True, provider=provider, tracer=provider.get_tracer("shoal"),
                  propagator=TraceContextTextMapPropagator())


def enabled() -> bool:
    """Whether tracing is on in this process (decided once, from the environment)."""
    on = _state.get("enabled")
    if on is not None:
        return on
    with _lock:
        if "enabled" not in _state:
            if not _wanted():
                _state["enabled"] = False
            else:
                from opentelemetry.sdk.resources import Resource
                from opentelemetry.sdk.trace import TracerProvider
                from opentelemetry.sdk.trace.export import BatchSpanProcessor

                service = os.environ.get("K_SERVICE") or os.environ.get("SHOAL_EVENT_SOURCE") or "shoal"
                provider = TracerProvider(resource=Resource.create({"service.name": f"shoal-{service}"}))
                provider.add_span_processor(BatchSpanProcessor(_exporter()))
                _install(provider)
    return _state["enabled"]


@contextlib.contextmanager
def span(name: str, *, kind: str = "internal", parent: str | None = None,
         attributes: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """A span (None when tracing is off), child of `parent` (a traceparent) when given, else of the
    current span. `kind`: internal, server, client, producer or consumer."""
    if not enabled():
        yield None
        return
    from opentelemetry import trace

    context = None
    if parent:
        context = _state["propagator"].extract({"traceparent": parent})
    with _state["tracer"].start_as_current_span(name, context=context, kind=getattr(trace.SpanKind, kind.upper()),
                                                attributes=dict(attributes or {})) as current:
        yield current


def traceparent() -> str | None:
    """The current span's W3C traceparent, for the next hop; None when off or outside a span."""
    if not _state.get("enabled"):
        return None
    carrier: dict[str, str] = {}
    _state["propagator"].inject(carrier)
    return carrier.get("traceparent")


def trace_id() -> str | None:
    """The current trace id (32 hex digits) for log lines; None when off or outside a span."""
    if not _state.get("enabled"):
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    """`headers` with the current traceparent added (for calls to Shoal's own functions)."""
    current = traceparent()
    if current:
        headers["traceparent"] = current
    return headers


def worker_env() -> dict[str, str]:
    """Environment for a task worker started now: the current context (TRACEPARENT) and this process's
    OTEL_* settings, so the worker traces to the same place; empty when tracing is off."""
    current = traceparent()
    if not current:
        return {}
    # Never the exporter's headers: they may hold a credential, and a Job's env is readable from its object.
    return {ENV_CARRIER: current, **{k: v for k, v in os.environ.items()
                                     if k.startswith("OTEL_") and not k.endswith("_HEADERS")}}


def flush() -> None:
    """Export the spans still buffered (a short-lived process before it exits)."""
    provider = _state.get("provider")
    if provider is not None:
        provider.force_flush()
