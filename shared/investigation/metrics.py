"""Prometheus metrics of incident analysis, in the process registry of shared.observability.metrics."""

from __future__ import annotations

from shared.observability.metrics import metric


def record_request(facade: str, outcome: str) -> None:
    metric("Counter", "shoal_incident_requests", "Incident API submissions and analyses", ("facade", "outcome")
           ).labels(facade, outcome).inc()


def record_investigation(facade: str, status: str, seconds: float, prompt_tokens: int = 0,
                         completion_tokens: int = 0, tool_calls: int = 0) -> None:
    metric("Counter", "shoal_investigations", "Finished investigations", ("facade", "status")
           ).labels(facade, status).inc()
    metric("Histogram", "shoal_investigation_duration_seconds", "Investigation wall time", ("facade",),
           buckets=(1, 5, 15, 30, 60, 120, 300, 600)).labels(facade).observe(seconds)
    tokens = metric("Counter", "shoal_investigation_llm_tokens", "LLM tokens used by investigations",
                    ("facade", "kind"))
    tokens.labels(facade, "prompt").inc(prompt_tokens)
    tokens.labels(facade, "completion").inc(completion_tokens)
    metric("Counter", "shoal_investigation_tool_calls", "Kubernetes tool calls", ("facade",)).labels(facade).inc(
        tool_calls)
