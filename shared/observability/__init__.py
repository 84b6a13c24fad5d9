"""Metrics (Prometheus, every function on GET /metrics) and tracing (OpenTelemetry, off unless OTEL_*
configures an exporter). Both import their libraries on first use only."""
