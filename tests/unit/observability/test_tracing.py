"""One trace across a task's hops: create (tasks) → task.created (CloudEvents traceparent extension) →
dispatch (dispatcher, the Kubernetes executor puts TRACEPARENT into the Job) → the worker → its reports
to the worker API (traceparent header) → task.result.saved. Exported to an in-memory exporter."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from werkzeug.serving import make_server

from shared.events.envelope import to_http
from shared.observability import tracing
from tests.conftest import AUTH, DEV_TOKEN

JOBS = "/apis/batch/v1/namespaces/default/jobs"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    yield exporter
    tracing.use_provider(None)


def trace_of(traceparent: str) -> str:
    version, trace_id, span_id, flags = traceparent.split("-")
    assert version == "00" and len(trace_id) == 32 and len(span_id) == 16
    return trace_id


def test_a_task_from_create_to_result_is_one_trace(spans, function_client, fake_kube, event_sink, monkeypatch):
    from shared.config import reset_settings
    from shared.worker.run import main

    monkeypatch.setenv("SHOAL_EXECUTOR", "kubernetes")
    reset_settings()
    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    server = make_server("127.0.0.1", 0, function_client("internal").application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("SHOAL_INTERNAL_URL", f"http://127.0.0.1:{server.server_port}")
        reset_settings()
        assert tasks.post("/api/v1/tasks", json={"name": "traced", "type": "ai", "prompt": "hi"},
                          headers=AUTH).status_code == 201
        [created] = event_sink.of_type("dev.shoal.task.created")
        trace_id = trace_of(created.extensions["traceparent"])

        headers, body = to_http(created)  # as the broker delivers it: ce-traceparent in binary mode
        assert headers["ce-traceparent"] == created.extensions["traceparent"]
        assert dispatcher.post("/", data=body, headers=headers).status_code == 200
        [job] = [r["body"] for r in fake_kube.requests if r["method"] == "POST" and r["path"] == JOBS]
        env = {v["name"]: v.get("value") for v in job["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert trace_of(env["TRACEPARENT"]) == trace_id

        for key in ("SHOAL_TASK_NAMESPACE", "SHOAL_TASK_NAME", "SHOAL_TASK_ATTEMPT", "TRACEPARENT"):
            monkeypatch.setenv(key, env[key])
        monkeypatch.setenv("SHOAL_WORKER_TOKEN", DEV_TOKEN)
        assert main() == 0
    finally:
        server.shutdown()
    assert tasks.get("/api/v1/tasks/traced", headers=AUTH).get_json()["status"]["phase"] == "Succeeded"
    [saved] = event_sink.of_type("dev.shoal.task.result.saved")
    assert trace_of(saved.extensions["traceparent"]) == trace_id

    finished = spans.get_finished_spans()
    by_name = {s.name: s for s in finished if format(s.context.trace_id, "032x") == trace_id}
    assert {"POST /api/v1/tasks", "dispatcher dev.shoal.task.created", "worker",
            "POST /internal/v1/results/<namespace>/<task>", "POST /internal/v1/status/<namespace>/<task>"
            } <= set(by_name), sorted(s.name for s in finished)
    # Parent links follow the hops: the worker is the dispatch span's child, the reports the worker's.
    create, dispatch, worker = by_name["POST /api/v1/tasks"], by_name["dispatcher dev.shoal.task.created"], \
        by_name["worker"]
    assert create.parent is None and dispatch.parent.span_id == create.context.span_id
    assert worker.parent.span_id == dispatch.context.span_id
    assert by_name["POST /internal/v1/results/<namespace>/<task>"].parent.span_id == worker.context.span_id
    assert create.attributes["http.response.status_code"] == 201


def test_a_callers_traceparent_is_continued_and_log_lines_name_the_trace(spans, function_client):
    from shared.logs import JsonFormatter

    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = function_client("tasks").get("/api/v1/tasks", headers={**AUTH, "traceparent": caller})
    assert response.status_code == 200
    [server] = [s for s in spans.get_finished_spans() if s.name == "GET /api/v1/tasks"]
    assert format(server.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert format(server.parent.span_id, "016x") == "b7ad6b7169203331"
    with tracing.span("probe"):
        line = json.loads(JsonFormatter().format(logging.LogRecord("shoal.t", logging.INFO, "", 0, "m", (), None)))
    assert len(line["trace_id"]) == 32
    assert "trace_id" not in json.loads(JsonFormatter().format(
        logging.LogRecord("shoal.t", logging.INFO, "", 0, "m", (), None)))


def test_tracing_is_off_by_default_and_exports_over_otlp_when_an_endpoint_is_set(monkeypatch, httpserver):
    for key in ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    tracing.use_provider(None)
    assert tracing.enabled() is False
    with tracing.span("nothing") as current:
        assert current is None and tracing.traceparent() is None and tracing.worker_env() == {}

    httpserver.expect_request("/v1/traces", method="POST").respond_with_data(b"", status=200)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer plant-otlp-secret")
    tracing.use_provider(None)
    try:
        assert tracing.enabled() is True
        with tracing.span("dispatch"):
            env = tracing.worker_env()
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == httpserver.url_for("/").rstrip("/")
        assert "OTEL_EXPORTER_OTLP_HEADERS" not in env and trace_of(env["TRACEPARENT"])
        tracing.flush()
        [(request, _)] = httpserver.log
        assert request.headers["Content-Type"] == "application/x-protobuf"
        assert request.headers["authorization"] == "Bearer plant-otlp-secret"
        assert b"dispatch" in request.get_data()
    finally:
        tracing._state["provider"].shutdown()
        tracing.use_provider(None)
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.enabled() is False
    tracing.use_provider(None)
