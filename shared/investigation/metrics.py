"""Prometheus metrics of incident analysis. prometheus_client is imported on first use only."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_metrics: dict[str, Any] = {}


def _get() -> dict[str, Any]:
    if _metrics:
        return _metrics
    with _lock:
        if not _metrics:
            from prometheus_client import Counter, Histogram

            _metrics["requests"] = Counter("shoal_incident_requests", "Incident API submissions and analyses",
                                           ["facade", "outcome"])
            _metrics["investigations"] = Counter("shoal_investigations", "Finished investigations",
                                                 ["facade", "status"])
            _metrics["duration"] = Histogram("shoal_investigation_duration_seconds", "Investigation wall time",
                                             ["facade"], buckets=(1, 5, 15, 30, 60, 120, 300, 600))
            _metrics["tokens"] = Counter("shoal_investigation_llm_tokens", "LLM tokens used by investigations",
                                         ["facade", "kind"])
            _metrics["tool_calls"] = Counter("shoal_investigation_tool_calls", "Kubernetes tool calls",
                                             ["facade"])
    return _metrics


def record_request(facade: str, outcome: str) -> None:
    _get()["requests"].labels(facade, outcome).inc()


def record_investigation(facade: str, status: str, seconds: float, prompt_tokens: int = 0,
                         completion_tokens: int = 0, tool_calls: int = 0) -> None:
    m = _get()
    m["investigations"].labels(facade, status).inc()
    m["duration"].labels(facade).observe(seconds)
    m["tokens"].labels(facade, "prompt").inc(prompt_tokens)
    m["tokens"].labels(facade, "completion").inc(completion_tokens)
    m["tool_calls"].labels(facade).inc(tool_calls)


def exposition() -> tuple[bytes, str]:
    """The text exposition of this process's registry and its content type."""
    _get()
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(), CONTENT_TYPE_LATEST
