"""Contract: Tasks as Orka writes them (issue 19): `spec.ai.prompt` for `type: ai`, flat fields beside
a `spec` (a top-level `schedule` is kept, `spec.timeZone` too), and server-stamped fields found in a
`spec` key of any case. Manifests follow Orka's docs (getting-started, configuration, autonomous
tasks) and its AISpec."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.conftest import AUTH

# website/docs/getting-started.md, "Run a Task"
HELLO = {"apiVersion": "core.orka.ai/v1alpha1", "kind": "Task", "metadata": {"name": "hello-task"},
         "spec": {"type": "ai", "agentRef": {"name": "assistant"}, "prompt": "What is Kubernetes?"}}
# website/docs/concepts/configuration.md, the Task example
CONFIGURED = {"apiVersion": "core.orka.ai/v1alpha1", "kind": "Task", "metadata": {"name": "my-task"}, "spec": {
    "type": "ai", "agentRef": {"name": "my-agent"}, "prompt": "Analyze the latest Kubernetes security best practices",
    "sessionRef": {"name": "my-session", "append": True, "maxMessages": 50}, "priority": 500, "timeout": "5m",
    "webhookURL": "https://example.com/webhook", "schedule": "0 */6 * * *", "timeZone": "America/New_York",
    "concurrencyPolicy": "Forbid", "suspend": False}}
# Orka's AISpec: provider, model, prompt and systemPrompt inside spec.ai
AI_BLOCK = {"apiVersion": "core.orka.ai/v1alpha1", "kind": "Task", "metadata": {"name": "ai-block"}, "spec": {
    "type": "ai", "ai": {"provider": "openai", "model": "gpt-4o-mini", "prompt": "Summarise the incident report",
                         "systemPrompt": "You are an SRE.", "temperature": 0.1, "maxTokens": 512}}}


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def tasks(function_client):
    return function_client("tasks")


def create(client, body):
    return client.post("/api/v1/tasks", data=json.dumps(body), headers={**AUTH, "Content-Type": "application/json"})


def stored(name: str) -> dict:
    from shared.tasks.repository import tasks

    return tasks.get("default", name).doc


def test_task_create_without_credentials_is_401(tasks):
    response = tasks.post("/api/v1/tasks", data=json.dumps(AI_BLOCK), content_type="application/json")
    assert response.status_code == 401 and response.get_json() == err(401, "missing authorization header")


@pytest.mark.parametrize("manifest", [HELLO, CONFIGURED, AI_BLOCK], ids=lambda m: m["metadata"]["name"])
def test_orka_docs_tasks_are_created(tasks, manifest):
    response = create(tasks, manifest)
    assert response.status_code == 201, response.get_json()
    spec = response.get_json()["spec"]
    for key, value in manifest["spec"].items():
        assert spec[key] == value, key


def test_spec_ai_prompt_is_the_prompt_the_worker_runs(tasks):
    from shared.worker.run import messages_for, model_reference

    body = create(tasks, AI_BLOCK).get_json()
    assert body["spec"]["prompt"] == "Summarise the incident report"
    assert body["spec"]["ai"] == AI_BLOCK["spec"]["ai"]  # kept as sent
    spec = stored("ai-block")["spec"]
    assert [(m.role, m.content) for m in messages_for(spec)] == [
        ("system", "You are an SRE."), ("user", "Summarise the incident report")]
    assert model_reference(spec) == "openai/gpt-4o-mini"


def test_flat_ai_block_and_an_explicit_prompt(tasks):
    flat = create(tasks, {"name": "flat-ai", "type": "ai", "ai": {"prompt": "from ai"}})
    assert flat.status_code == 201 and flat.get_json()["spec"]["prompt"] == "from ai"
    both = create(tasks, {"name": "both", "spec": {"type": "ai", "prompt": "top", "ai": {"prompt": "nested"}}})
    assert both.status_code == 201 and both.get_json()["spec"]["prompt"] == "top"


@pytest.mark.parametrize("body,message", [
    ({"name": "no-prompt", "spec": {"type": "ai", "ai": {"model": "gpt-4o"}}}, "prompt is required for ai tasks"),
    ({"name": "empty-prompt", "spec": {"type": "ai", "ai": {"prompt": ""}}}, "prompt is required for ai tasks"),
    ({"name": "bad-zone", "schedule": "0 2 * * *", "spec": {"type": "ai", "prompt": "p", "timeZone": "Mars/Olympus"}},
     "invalid spec.timeZone: 'Mars/Olympus' is not an IANA time zone"),
    ({"name": "bad-cron", "schedule": "every night", "spec": {"type": "ai", "prompt": "p"}},
     "invalid spec.schedule: 'every night' is not a valid cron expression"),
    ({"name": "t", "Spec": {"RequestedBy": {"subject": "me"}}}, "spec.requestedBy cannot be set by clients"),
    ({"name": "t", "SPEC": {"type": "ai", "prompt": "p", "TRANSACTION": {}}}, "spec.transaction cannot be set by clients"),
    ({"name": "t", "spec": {"type": "ai", "prompt": "p"}, "Spec": {"requestedby": {}}},
     "spec.requestedBy cannot be set by clients"),
])
def test_bad_orka_forms_are_400_and_store_nothing(tasks, body, message):
    response = create(tasks, body)
    assert response.status_code == 400 and response.get_json() == err(400, message)
    assert tasks.get("/api/v1/tasks", headers=AUTH).get_json()["items"] == []


def test_a_flat_schedule_beside_a_spec_is_kept_with_its_time_zone(tasks):
    response = create(tasks, {"name": "nightly", "schedule": "0 2 * * *",
                              "spec": {"type": "ai", "prompt": "report", "timeZone": "America/New_York"}})
    assert response.status_code == 201
    spec = response.get_json()["spec"]
    assert spec["schedule"] == "0 2 * * *" and spec["timeZone"] == "America/New_York"
    # flat fields override the spec's, empty ones do not
    over = create(tasks, {"name": "over", "prompt": "flat wins", "timeout": "", "spec": {
        "type": "ai", "prompt": "spec loses", "timeout": "5m"}}).get_json()["spec"]
    assert over["prompt"] == "flat wins" and over["timeout"] == "5m"


def test_the_schedule_is_read_in_the_time_zone(tasks):
    from shared.schedules import next_run
    from shared.tasks.cron import start_schedule
    from shared.tasks.repository import tasks as store

    after = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 08:00 in New York (EDT)
    assert next_run("0 2 * * *", after, "America/New_York").astimezone(UTC) == datetime(2026, 7, 2, 6, 0, tzinfo=UTC)
    assert next_run("0 2 * * *", after).astimezone(UTC) == datetime(2026, 7, 2, 2, 0, tzinfo=UTC)
    # created Scheduled, its first run read in its zone; a suspended one, resumed, the same by the dispatcher
    created = create(tasks, {"name": "ny", "schedule": "0 2 * * *",
                             "spec": {"type": "ai", "prompt": "p", "timeZone": "America/New_York"}}).get_json()
    create(tasks, {"name": "later", "schedule": "0 2 * * *", "suspend": True,
                   "spec": {"type": "ai", "prompt": "p", "timeZone": "America/New_York"}})
    assert store.get("default", "later").doc["status"]["phase"] == "Pending"
    store.update("default", "later", lambda doc: doc["spec"].pop("suspend"))
    resumed = start_schedule(store.get("default", "later")).doc["status"]
    for status in (created["status"], resumed):
        assert status["phase"] == "Scheduled"
        due = datetime.strptime(status["nextScheduleTime"], "%Y-%m-%dT%H:%M:%SZ")
        assert (due.hour, due.minute) in ((6, 0), (7, 0))  # 02:00 New York is 06:00 UTC (EDT) or 07:00 (EST)
        assert status["message"] == f"next run at {status['nextScheduleTime']}"
