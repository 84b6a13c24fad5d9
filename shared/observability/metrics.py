"""Prometheus metrics of every function: one registry per process (prometheus_client's default),
served on GET /metrics by the HTTP pipeline (shared.http.api) and the event adapter
(shared.events.consumer). prometheus_client is imported when the first metric is recorded.

| metric | labels |
|---|---|
| shoal_http_requests_total, shoal_http_request_duration_seconds | function, route, method, status (no status on the histogram) |
| shoal_events_consumed_total | function, type, outcome (handled, duplicate, ignored, rejected, busy, deferred, failed) |
| shoal_events_emitted_total | type, outcome (sent, failed) |
| shoal_task_transitions_total | phase (tasks entering it) |
| shoal_llm_calls_total, shoal_llm_call_duration_seconds, shoal_llm_tokens_total | provider, model, outcome / kind (input, output) |
| shoal_chat_turns_total | status (completed, failed, cancelled, timeout) |
| shoal_investigations_total and the other shoal_investigation* / shoal_incident* | facade, … (shared.investigation.metrics) |
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

# stdlib logging, not shared.logs: shared.logs imports this package's tracing (trace ids on lines)
log = logging.getLogger("shoal.metrics")

METRICS_PATH = "/metrics"
_lock = threading.Lock()
_metrics: dict[str, Any] = {}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
LLM_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160)


def metric(kind: str, name: str, documentation: str, labels: tuple[str, ...], **kwargs: Any) -> Any:
    """The process-wide metric `name` (a prometheus_client Counter, Histogram or Gauge), made once."""
    found = _metrics.get(name)
    if found is None:
        with _lock:
            found = _metrics.get(name)
            if found is None:
                import prometheus_client

                found = getattr(prometheus_client, kind)(name, documentation, labels, **kwargs)
                _metrics[name] = found
    return found


def record_request(function: str, route: str, method: str, status: int, seconds: float) -> None:
    metric("Counter", "shoal_http_requests", "HTTP requests answered", ("function", "route", "method", "status")
           ).labels(function, route, method, str(status)).inc()
    metric("Histogram", "shoal_http_request_duration_seconds", "HTTP request latency",
           ("function", "route", "method"), buckets=LATENCY_BUCKETS).labels(function, route, method).observe(seconds)


def record_event_consumed(function: str, event_type: str, outcome: str) -> None:
    metric("Counter", "shoal_events_consumed", "CloudEvents received from the broker",
           ("function", "type", "outcome")).labels(function, event_type, outcome).inc()


def record_event_emitted(event_type: str, outcome: str) -> None:
    metric("Counter", "shoal_events_emitted", "CloudEvents sent to the sink", ("type", "outcome")
           ).labels(event_type, outcome).inc()


def record_task_transition(phase: str) -> None:
    metric("Counter", "shoal_task_transitions", "Tasks entering a phase", ("phase",)).labels(phase).inc()


def record_llm_call(provider: str, model: str, outcome: str, seconds: float, input_tokens: int = 0,
                    output_tokens: int = 0) -> None:
    labels = (provider, model)
    metric("Counter", "shoal_llm_calls", "LLM calls", ("provider", "model", "outcome")).labels(*labels, outcome).inc()
    metric("Histogram", "shoal_llm_call_duration_seconds", "LLM call latency", ("provider", "model"),
           buckets=LLM_BUCKETS).labels(*labels).observe(seconds)
    tokens = metric("Counter", "shoal_llm_tokens", "LLM tokens", ("provider", "model", "kind"))
    tokens.labels(*labels, "input").inc(input_tokens)
    tokens.labels(*labels, "output").inc(output_tokens)


def record_chat_turn(status: str) -> None:
    metric("Counter", "shoal_chat_turns", "Chat turns by how they ended", ("status",)).labels(status).inc()


_expositions: list[Callable[[], str]] = []


def add_exposition(render: Callable[[], str]) -> None:
    """Also serve `render()`'s text on this process's /metrics: series kept outside the registry
    (e.g. counters read from the store at scrape time)."""
    if render not in _expositions:
        _expositions.append(render)


def exposition() -> tuple[bytes, str]:
    """The text exposition of this process's registry (and any added series) and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    body = generate_latest()
    for render in _expositions:
        try:
            body += render().encode()
        except Exception:  # a store outage must not take the process's own metrics with it
            log.warning("metrics exposition failed", exc_info=True)
    return body, CONTENT_TYPE_LATEST
