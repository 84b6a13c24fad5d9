"""Every function serves Prometheus metrics on GET /metrics: scraped after a request, the series exist
with the right labels. Functions are whatever knative/services.yaml lists (new ones are covered too)."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.events.envelope import build, to_http
from shared.http.api import PROBES
from shared.http.route_table import build_api
from shared.local.manifests import functions
from tests.conftest import AUTH

HTTP = sorted(f.name for f in functions() if f.kind == "http")
EVENT = sorted(f.name for f in functions() if f.kind == "event")


def scrape(client) -> dict[str, list[tuple[dict, float]]]:
    """{sample name: [(labels, value)]} of a function's /metrics."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    samples: dict[str, list[tuple[dict, float]]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples, name: str, **labels) -> float | None:
    found = [v for got, v in samples.get(name, []) if all(got.get(k) == v2 for k, v2 in labels.items())]
    return sum(found) if found else None


def a_route(function: str) -> tuple[str, str, str, bool]:
    """(rule, a path it matches, method, public) of the function's first route needing credentials, or
    (a function with public routes only, like meta) of its first one that is not a probe."""
    routes = build_api(function).routes
    route = next((r for r in routes if not r.public), None) or next(r for r in routes if r.rule not in PROBES)
    return route.rule, re.sub(r"<[^>]+>", "probe", route.rule), route.methods[0], route.public


@pytest.mark.parametrize("function", HTTP)
def test_an_http_function_counts_a_request_by_route_method_and_status(function, function_client):
    client = function_client(function)
    rule, path, method, public = a_route(function)
    labels = {"function": function, "route": rule, "method": method}
    before = scrape(client)  # the registry is the process's: other tests may have counted already
    # Counted once the answer is sent: when the server closes the response (as every WSGI server does).
    with client.open(path, method=method) as response:
        status = str(response.status_code)
    assert public or status == "401"  # no credentials
    samples = scrape(client)
    assert value(samples, "shoal_http_requests_total", **labels, status=status) == (
        value(before, "shoal_http_requests_total", **labels, status=status) or 0) + 1
    assert value(samples, "shoal_http_request_duration_seconds_count", **labels) == (
        value(before, "shoal_http_request_duration_seconds_count", **labels) or 0) + 1
    # An unknown path is one series ("unmatched"), not one per path asked for.
    client.get(f"/no-such-path/{function}").close()
    samples = scrape(client)
    assert value(samples, "shoal_http_requests_total", function=function, route="unmatched", method="GET",
                 status="404") >= 1
    assert not any(labels.get("route", "").startswith("/no-such-path")
                   for labels, _ in samples["shoal_http_requests_total"])
    # Probes are not counted (they would dominate every series and cost the cold start an import).
    client.get("/healthz").close()
    assert value(scrape(client), "shoal_http_requests_total", function=function, route="/healthz") is None


@pytest.mark.parametrize("function", EVENT)
def test_an_event_function_counts_a_delivery_by_type_and_outcome(function, function_client):
    client = function_client(function)
    event = build("dev.shoal.metrics.probe", {"probe": True}, source="/test/metrics")
    headers, body = to_http(event)
    status = client.post("/", data=body, headers=headers).status_code
    assert status == 200
    samples = scrape(client)
    outcomes = {labels["outcome"] for labels, v in samples["shoal_events_consumed_total"]
                if labels["function"] == function and labels["type"] == "dev.shoal.metrics.probe" and v >= 1}
    assert outcomes and outcomes <= {"handled", "ignored"}
    assert client.post("/", json={"not": "an event"}).status_code == 400
    assert value(scrape(client), "shoal_events_consumed_total", function=function, type="",
                 outcome="rejected") >= 1


def test_a_task_counts_its_phase_and_its_event(function_client):
    tasks = function_client("tasks")
    samples = scrape(tasks)
    pending = value(samples, "shoal_task_transitions_total", phase="Pending") or 0
    sent = value(samples, "shoal_events_emitted_total", type="dev.shoal.task.created", outcome="sent") or 0
    assert tasks.post("/api/v1/tasks", json={"name": "m1", "type": "ai", "prompt": "hi"},
                      headers=AUTH).status_code == 201
    samples = scrape(tasks)
    assert value(samples, "shoal_task_transitions_total", phase="Pending") == pending + 1
    assert value(samples, "shoal_events_emitted_total", type="dev.shoal.task.created", outcome="sent") == sent + 1


def test_a_chat_turn_counts_the_turn_and_its_llm_call_with_tokens(function_client):
    chat = function_client("chat")
    samples = scrape(chat)
    turns = value(samples, "shoal_chat_turns_total", status="completed") or 0
    calls = value(samples, "shoal_llm_calls_total", provider="mock", model="shoal-mock", outcome="ok") or 0
    answer = chat.post("/api/v1/chat", json={"message": "hi", "sessionId": "m-1"},
                       headers={**AUTH, "Accept": "application/json"})
    assert answer.status_code == 200
    samples = scrape(chat)
    assert value(samples, "shoal_chat_turns_total", status="completed") == turns + 1
    assert value(samples, "shoal_llm_calls_total", provider="mock", model="shoal-mock", outcome="ok") == calls + 1
    assert value(samples, "shoal_llm_tokens_total", provider="mock", model="shoal-mock", kind="output") > 0
    assert value(samples, "shoal_llm_call_duration_seconds_count", provider="mock", model="shoal-mock") >= 1


def test_a_failed_llm_call_is_counted_as_an_error():
    from shared.llm.base import Message, ProviderError
    from shared.llm.measured import Measured
    from shared.observability.metrics import exposition

    class Failing:
        kind, name, model = "openai", "default", "gpt-x"

        def complete(self, messages, **kwargs):
            raise ProviderError("upstream said no", status=503)

    with pytest.raises(ProviderError):
        Measured(Failing()).complete([Message("user", "hi")])
    text = exposition()[0].decode()
    assert 'shoal_llm_calls_total{model="gpt-x",outcome="error",provider="openai"}' in text
