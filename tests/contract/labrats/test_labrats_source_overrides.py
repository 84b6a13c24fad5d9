"""A webhook source's `defaults` and `repoOverrides` shape the jobs its events start (#10)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH
from tests.contract.labrats.test_labrats_chains import FIXTURE, SECRET, github_headers

REPO = "Codertocat/Hello-World"  # the fixture's repository.full_name


@pytest.fixture
def apps(function_client):
    return function_client("jobs"), function_client("webhooks")


def _agents(jobs) -> None:
    on_label = {"source": "github", "events": ["issues.labeled"]}
    for agent in [
        {"name": "plain", "triggerName": "ai-plain", "defaultModel": "haiku", "defaultEffort": "medium",
         "eventTriggers": [on_label]},
        {"name": "explicit", "triggerName": "ai-explicit",
         "eventTriggers": [{**on_label, "config": {"model": "explicit-model"}}]},
    ]:
        assert jobs.post("/api/agents", headers=AUTH, json=agent).status_code == 201


def _source(jobs, **fields) -> None:
    response = jobs.post("/api/webhook-sources", headers=AUTH, json={"name": "gh", "secret": SECRET, **fields})
    assert response.status_code == 201, response.get_json()


def _deliver(jobs, webhooks) -> dict[str, dict]:
    response = webhooks.post("/api/webhooks/github", data=FIXTURE, headers=github_headers(FIXTURE))
    assert response.status_code == 200, response.get_json()
    return {j["agent"]: jobs.get(f"/api/jobs/{j['jobId']}", headers=AUTH).get_json()
            for j in response.get_json()["jobs"]}


def test_repo_override_beats_defaults_and_the_trigger_config_beats_both(apps):
    jobs, webhooks = apps
    _agents(jobs)
    _source(jobs, defaults={"model": "sonnet", "effort": "low", "maxTurns": 7, "priority": 4},
            repoOverrides={"codertocat/hello-world": {"model": "opus", "timeoutMs": 60000, "priority": 1},
                           "other/repo": {"model": "never"}})
    by_agent = _deliver(jobs, webhooks)
    plain, explicit = by_agent["plain"], by_agent["explicit"]
    # plain: agent defaults < source defaults < this repository's override.
    assert plain["repo"] == REPO
    assert plain["config"] == {"model": "opus", "effort": "low", "maxTurns": 7, "timeoutMs": 60000}
    assert plain["priority"] == 1
    # explicit: the trigger's own config wins over the override.
    assert explicit["config"]["model"] == "explicit-model" and explicit["config"]["effort"] == "low"
    assert explicit["priority"] == 1
    # The task carries them: lower labrats priority = higher Orka priority; timeout and turns follow.
    from shared.tasks.repository import tasks

    spec = tasks.get("default", plain["id"]).doc["spec"]
    assert spec["priority"] == 999 and spec["timeout"] == "60000ms" and spec["maxTurns"] == 7


def test_defaults_alone_apply_when_no_override_names_the_repository(apps, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_PROVIDERS", '{"codex": {"type": "mock"}}')  # config.provider codex runs here
    reset_settings()
    jobs, webhooks = apps
    _agents(jobs)
    _source(jobs, defaults={"effort": "high", "provider": "codex"}, repoOverrides={"other/repo": {"model": "x"}})
    plain = _deliver(jobs, webhooks)["plain"]
    assert plain["config"] == {"model": "haiku", "effort": "high", "provider": "codex",
                               "timeoutMs": 3_300_000, "maxTurns": 25}
    assert plain["priority"] == 2


def test_a_patch_changes_the_next_jobs(apps):
    jobs, webhooks = apps
    _agents(jobs)
    _source(jobs)
    assert _deliver(jobs, webhooks)["plain"]["config"]["model"] == "haiku"
    patched = jobs.patch("/api/webhook-sources/gh", headers=AUTH, json={"repoOverrides": {REPO: {"model": "opus"}}})
    assert patched.status_code == 200 and patched.get_json()["repoOverrides"] == {REPO: {"model": "opus"}}
    assert _deliver(jobs, webhooks)["plain"]["config"]["model"] == "opus"


def test_ingested_events_named_after_a_source_use_its_settings(apps):
    jobs, webhooks = apps
    _agents(jobs)
    jobs.post("/api/webhook-sources", headers=AUTH,
              json={"name": "github", "secret": SECRET, "defaults": {"model": "sonnet"}})
    response = webhooks.post("/api/events/ingest", headers=AUTH,
                             json={"source": "github", "event": "issues.labeled", "payload": json.loads(FIXTURE)})
    job = next(j for j in response.get_json()["jobs"] if j["agent"] == "plain")
    assert jobs.get(f"/api/jobs/{job['jobId']}", headers=AUTH).get_json()["config"]["model"] == "sonnet"


@pytest.mark.parametrize("body,message", [
    ({"defaults": []}, "defaults must be an object"),
    ({"defaults": {"colour": "red"}}, 'defaults: unknown field "colour" (allowed: model, effort, provider, fast, '
                                      'timeoutMs, maxTurns, executorImage, reactEnabled, priority)'),
    ({"defaults": {"model": 3}}, "defaults.model must be a non-empty string"),
    ({"defaults": {"effort": "max"}}, "defaults.effort must be one of low, medium, high"),
    ({"defaults": {"provider": "gpt"}}, "defaults.provider must be one of claude, codex, vllm, gemma, qwen, mock"),
    ({"defaults": {"fast": "yes"}}, "defaults.fast must be a boolean"),
    ({"defaults": {"maxTurns": 0}}, "defaults.maxTurns must be a positive integer"),
    ({"defaults": {"priority": 1001}}, "defaults.priority must be an integer from 0 to 1000"),
    ({"repoOverrides": "o/r"}, "repoOverrides must be an object"),
    ({"repoOverrides": {"no-slash": {}}}, 'repoOverrides key "no-slash" must be a repository as "owner/repo"'),
    ({"repoOverrides": {"O/R": {}, "o/r": {"model": "a"}}},
     'repoOverrides has "o/r" twice (repository names are case-insensitive)'),
    ({"repoOverrides": {"o/r": []}}, 'repoOverrides["o/r"] must be an object'),
    ({"repoOverrides": {"o/r": {"timeoutMs": -1}}}, 'repoOverrides["o/r"].timeoutMs must be a positive integer'),
])
def test_bad_shapes_are_400_on_create_and_patch_and_change_nothing(apps, body, message):
    jobs, _ = apps
    created = jobs.post("/api/webhook-sources", headers=AUTH, json={"name": "bad", "secret": SECRET, **body})
    assert created.status_code == 400 and created.get_json() == {"error": message}
    assert jobs.get("/api/webhook-sources/bad", headers=AUTH).status_code == 404
    _source(jobs, defaults={"model": "kept"})
    patched = jobs.patch("/api/webhook-sources/gh", headers=AUTH, json=body)
    assert patched.status_code == 400 and patched.get_json() == {"error": message}
    after = jobs.get("/api/webhook-sources/gh", headers=AUTH).get_json()
    assert after["defaults"] == {"model": "kept"} and after["repoOverrides"] == {}


def test_later_links_of_a_chain_get_the_sources_settings_too(function_client, event_sink):
    from tests.contract.labrats.test_labrats_chains import new_jobs, run_to_end

    jobs, webhooks, reactor = function_client("jobs"), function_client("webhooks"), function_client("reactor")
    link = {"condition": "on-success", "failurePolicy": "stop"}
    for agent in [
        {"name": "first", "triggerName": "ai-first", "eventTriggers": [
            {"source": "github", "events": ["issues.labeled"], "next": {"agentTriggerName": "ai-second", **link}}]},
        {"name": "second", "triggerName": "ai-second", "defaultModel": "haiku", "eventTriggers": [
            {"source": "github", "events": ["chain"]}]},
    ]:
        assert jobs.post("/api/agents", headers=AUTH, json=agent).status_code == 201
    _source(jobs, defaults={"effort": "high", "priority": 5}, repoOverrides={REPO: {"model": "opus"}})
    [first] = _deliver(jobs, webhooks).values()
    assert first["config"]["model"] == "opus"
    before = len(event_sink.events)
    run_to_end(reactor, event_sink, first["id"])
    [second_id] = new_jobs(event_sink, before)
    second = jobs.get(f"/api/jobs/{second_id}", headers=AUTH).get_json()
    assert second["repo"] == REPO
    assert second["config"] == {"model": "opus", "effort": "high", "timeoutMs": 3_300_000, "maxTurns": 25}
    assert second["priority"] == 5
