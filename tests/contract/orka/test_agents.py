"""Contract: /api/v1/agents (orka-api.txt, orka-behaviour.md §2 CRUD conventions)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH
from tests.support.leak_scan import leak_scan  # noqa: F401  (fixture)


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def api(function_client, leak_scan):  # noqa: F811
    return leak_scan.watch(function_client("catalog"))


def post(client, path, body, headers=AUTH):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, data=data, headers={**headers, "Content-Type": "application/json"})


def put(client, path, body):
    return client.put(path, data=body if isinstance(body, str) else json.dumps(body),
                      headers={**AUTH, "Content-Type": "application/json"})


AGENT = {"name": "assistant", "spec": {"provider": "openai", "model": "gpt-4o-mini", "systemPrompt": "Be brief.",
                                       "temperature": 0.2, "tools": ["web_search", {"name": "tavily-search"}]}}


ROUTES_401 = [("POST", "/api/v1/agents"), ("GET", "/api/v1/agents"), ("GET", "/api/v1/agents/a"),
              ("PUT", "/api/v1/agents/a"), ("DELETE", "/api/v1/agents/a")]


def test_every_agent_route_without_credentials_is_401(api):
    for method, path in ROUTES_401:
        response = api.open(path, method=method)
        assert response.status_code == 401
        assert response.get_json() == err(401, "missing authorization header")


def test_create_returns_201_with_the_crd_shape_and_get_returns_it(api):
    response = post(api, "/api/v1/agents", {**AGENT, "labels": {"team": "a"}})
    assert response.status_code == 201
    body = response.get_json()
    assert body["apiVersion"] == "core.orka.ai/v1alpha1" and body["kind"] == "Agent"
    assert body["metadata"]["name"] == "assistant" and body["metadata"]["namespace"] == "default"
    assert body["metadata"]["labels"] == {"team": "a"} and body["metadata"]["resourceVersion"] == "1"
    # flat strings in, Orka's CRD shape out (model object, PromptSource)
    assert body["spec"] == {"model": {"provider": "openai", "name": "gpt-4o-mini", "temperature": 0.2},
                            "systemPrompt": {"inline": "Be brief."},
                            "tools": [{"name": "web_search"}, {"name": "tavily-search"}]}
    assert body["status"] == {"phase": "Ready"}
    got = api.get("/api/v1/agents/assistant", headers=AUTH)
    assert got.status_code == 200 and got.get_json() == body


def test_metadata_form_flat_fields_and_labrats_fields_are_one_superset(api):
    response = post(api, "/api/v1/agents", {
        "metadata": {"name": "dev", "namespace": "team-a"}, "model": "claude-sonnet-4-5",
        "triggerName": "ai-developer", "instructions": ["Write tests first."],
        "eventTriggers": [{"source": "github", "events": ["issues.labeled"], "instruction": "implement",
                           "config": {"model": "opus"}, "next": {"agentTriggerName": "ai-reviewer",
                                                                 "condition": "on-success"}}]})
    assert response.status_code == 201, response.get_json()
    spec = response.get_json()["spec"]
    assert spec == {"model": {"name": "claude-sonnet-4-5"}, "triggerName": "ai-developer",
                    "instructions": ["Write tests first."],
                    "eventTriggers": [{"source": "github", "events": ["issues.labeled"], "instruction": "implement",
                                       "config": {"model": "opus"}, "enabled": True,
                                       "next": {"agentTriggerName": "ai-reviewer", "condition": "on-success"}}]}
    assert api.get("/api/v1/agents/dev?namespace=team-a", headers=AUTH).status_code == 200
    assert api.get("/api/v1/agents/dev", headers=AUTH).status_code == 404


def test_an_unknown_spec_field_is_a_400_naming_it_and_stores_nothing(api):
    # Issue 21: the Orka dialect refuses unknown spec fields, flat or in `spec`, as a strict
    # server-side apply does; nothing is stored (it used to be kept as given).
    cases = [({"name": "typo", "model": "m", "systemPromt": "x"}, "spec.systemPromt: unknown field"),
             ({"name": "typo", "spec": {"retries": 3}}, "spec.retries: unknown field")]
    for body, message in cases:
        response = post(api, "/api/v1/agents", body)
        assert (response.status_code, response.get_json()) == (400, err(400, message))
    assert api.get("/api/v1/agents/typo", headers=AUTH).status_code == 404


def test_an_unknown_field_of_a_nested_spec_object_is_a_400_naming_it(api):
    # The same policy inside `spec`'s objects (they used to keep any key): Orka's CRD lists their fields.
    cases = [({"runtime": {"type": "claude", "image": "x"}}, "spec.runtime.image: unknown field"),
             ({"runtime": {"type": "claude", "secretRef": {"name": "k", "namespace": "x"}}},
              "spec.runtime.secretRef.namespace: unknown field"),
             ({"coordination": {"enabled": True, "maxDepht": 2}}, "spec.coordination.maxDepht: unknown field"),
             ({"providerRef": {"name": "p", "kind": "Provider"}}, "spec.providerRef.kind: unknown field"),
             ({"eventTriggers": [{"source": "github", "events": ["issues.opened"], "evnet": "x"}]},
              "spec.eventTriggers.0.evnet: unknown field")]
    for spec, message in cases:
        response = post(api, "/api/v1/agents", {"name": "nested", "spec": spec})
        assert (response.status_code, response.get_json()) == (400, err(400, message))
    assert api.get("/api/v1/agents/nested", headers=AUTH).status_code == 404
    # Orka's own nested fields and the free-form objects are kept.
    spec = {"runtime": {"type": "claude", "secretRef": {"name": "k", "key": "ANTHROPIC_API_KEY"}},
            "execution": {"workspace": {"enabled": False, "anything": 1}}}
    created = post(api, "/api/v1/agents", {"name": "nested", "spec": spec})
    assert created.status_code == 201
    assert created.get_json()["spec"]["runtime"] == spec["runtime"]
    assert created.get_json()["spec"]["execution"] == spec["execution"]


def test_duplicate_is_409_agent_already_exists_and_keeps_the_first(api):
    assert post(api, "/api/v1/agents", AGENT).status_code == 201
    response = post(api, "/api/v1/agents", {"name": "assistant", "spec": {"model": "other"}})
    assert response.status_code == 409
    assert response.get_json() == err(409, "agent already exists")
    assert api.get("/api/v1/agents/assistant", headers=AUTH).get_json()["spec"]["model"]["name"] == "gpt-4o-mini"


BAD_CREATES = [
    ("{nope", "invalid request body"),
    ("[]", "invalid request body"),
    ({"spec": {"model": "m"}}, "name is required"),
    ({"name": "Bad_Name"}, 'invalid name "Bad_Name": must be a lowercase RFC 1123 subdomain'),
    ({"name": "a", "spec": "x"}, "spec: expected an object"),  # the body model names the field
    ({"name": "a", "spec": {"temperature": 3}}, "invalid spec.temperature: Input should be less than or equal to 2"),
    ({"name": "a", "spec": {"maxTokens": 0}}, "invalid spec.maxTokens: Input should be greater than or equal to 1"),
    ({"name": "a", "spec": {"tools": "web_search"}}, "invalid spec.tools: Input should be a valid list"),
    ({"name": "a", "spec": {"eventTriggers": [{"events": ["x"]}]}}, "invalid spec.eventTriggers.0.source: Field required"),
    ({"name": "a", "spec": {"eventTriggers": [{"source": "github", "next": {}}]}},
     "invalid spec.eventTriggers.0.next.agentTriggerName: Field required"),
    ({"name": "a", "namespace": "Bad NS"}, 'invalid namespace "Bad NS"'),
]


def test_bad_create_bodies_are_400_and_store_nothing(api):
    for body, message in BAD_CREATES:
        response = post(api, "/api/v1/agents", body)
        assert response.status_code == 400
        assert response.get_json() == err(400, message)
    assert api.get("/api/v1/agents", headers=AUTH).get_json() == {"items": [], "metadata": {}}


def test_put_replaces_the_spec_and_bumps_the_version(api):
    post(api, "/api/v1/agents", AGENT)
    response = put(api, "/api/v1/agents/assistant", {"spec": {"model": "gpt-4o"}})
    assert response.status_code == 200
    body = response.get_json()
    assert body["spec"] == {"model": {"name": "gpt-4o"}}
    assert body["metadata"]["resourceVersion"] == "2" and body["metadata"]["generation"] == 2


def test_put_with_a_stale_resource_version_is_409_modified_concurrently(api):
    post(api, "/api/v1/agents", AGENT)
    put(api, "/api/v1/agents/assistant", {"spec": {"model": "a"}})
    response = put(api, "/api/v1/agents/assistant", {"metadata": {"resourceVersion": "1"}, "spec": {"model": "b"}})
    assert response.status_code == 409
    assert response.get_json() == err(409, "agent was modified concurrently")
    assert api.get("/api/v1/agents/assistant", headers=AUTH).get_json()["spec"] == {"model": {"name": "a"}}


def test_bad_updates_are_400_and_change_nothing(api):
    post(api, "/api/v1/agents", AGENT)
    for body, message in [
            ("{", "invalid request body"),
            ({"model": "x"}, "spec is required"),
            ({"name": "other", "spec": {}}, 'name "other" does not match the path'),
            ({"spec": {"temperature": -1}}, "invalid spec.temperature: Input should be greater than or equal to 0")]:
        response = put(api, "/api/v1/agents/assistant", body)
        assert response.status_code == 400 and response.get_json() == err(400, message)
    assert api.get("/api/v1/agents/assistant", headers=AUTH).get_json()["metadata"]["resourceVersion"] == "1"


def test_missing_agent_is_404_for_get_put_and_delete(api):
    assert api.get("/api/v1/agents/nope", headers=AUTH).get_json() == err(404, "agent not found")
    assert put(api, "/api/v1/agents/nope", {"spec": {}}).get_json() == err(404, "agent not found")
    assert api.delete("/api/v1/agents/nope", headers=AUTH).get_json() == err(404, "agent not found")


def test_delete_is_204_and_the_agent_is_gone(api):
    post(api, "/api/v1/agents", AGENT)
    response = api.delete("/api/v1/agents/assistant", headers=AUTH)
    assert response.status_code == 204 and response.data == b""
    assert api.get("/api/v1/agents/assistant", headers=AUTH).status_code == 404


def test_list_pages_with_a_continue_cursor(api):
    for i in range(5):
        post(api, "/api/v1/agents", {"name": f"a{i}", "spec": {}})
    first = api.get("/api/v1/agents?limit=2", headers=AUTH).get_json()
    assert [a["metadata"]["name"] for a in first["items"]] == ["a0", "a1"]
    token = first["metadata"]["continue"]
    second = api.get(f"/api/v1/agents?limit=2&continue={token}", headers=AUTH).get_json()
    third = api.get(f"/api/v1/agents?limit=2&continue={second['metadata']['continue']}", headers=AUTH).get_json()
    assert [a["metadata"]["name"] for a in second["items"] + third["items"]] == ["a2", "a3", "a4"]
    assert third["metadata"] == {}


def test_bad_list_parameters_are_400(api):
    for query, message in [("limit=0", "limit must be at least 1"), ("limit=x", "invalid limit parameter: x"),
                           ("continue=garbage", "invalid continue token")]:
        response = api.get(f"/api/v1/agents?{query}", headers=AUTH)
        assert response.status_code == 400 and response.get_json() == err(400, message)


def test_a_namespace_bound_principal_stays_in_its_namespace(api, monkeypatch, fake_kube):
    from shared.auth import resolver
    from shared.auth.principal import Principal

    # A ServiceAccount is authorized by RBAC (SubjectAccessReview): allowed in team-a only.
    fake_kube.authorize = lambda spec: spec["resourceAttributes"]["namespace"] == "team-a"

    bound = Principal(kind="serviceaccount", subject="system:serviceaccount:team-a:bot", username="bot",
                      namespace="team-a")
    monkeypatch.setattr(resolver, "AUTHENTICATORS",
                        [lambda token, headers: bound if token == "team-a-token" else None])
    headers = {"Authorization": "Bearer team-a-token"}
    created = post(api, "/api/v1/agents", {"name": "bot", "spec": {}}, headers=headers)
    assert created.status_code == 201 and created.get_json()["metadata"]["namespace"] == "team-a"
    denied = post(api, "/api/v1/agents", {"name": "bot", "namespace": "team-b", "spec": {}}, headers=headers)
    assert denied.status_code == 403
    assert denied.get_json() == err(403, 'namespace "team-b" not allowed, restricted to "team-a"')
    assert api.get("/api/v1/agents?namespace=team-b", headers=headers).status_code == 403
    assert [a["metadata"]["name"] for a in api.get("/api/v1/agents", headers=headers).get_json()["items"]] == ["bot"]


def test_a_labrats_agent_is_readable_and_updatable_through_the_orka_api(function_client, api):
    """One agent record, two dialects: the jobs function's agent round-trips through /api/v1/agents."""
    jobs = function_client("jobs")
    trigger = {"source": "github", "events": ["issues.labeled"], "instruction": "implement",
               "config": {"model": "opus"}, "filters": {}, "enabled": True,
               "next": {"agentTriggerName": "ai-reviewer", "condition": "on-success", "failurePolicy": "stop"}}
    created = jobs.post("/api/agents", headers=AUTH, json={
        "name": "dev", "triggerName": "ai-developer", "defaultModel": "sonnet", "eventTriggers": [trigger],
        "instructions": ["style"]})
    assert created.status_code == 201, created.get_json()
    orka = api.get("/api/v1/agents/dev", headers=AUTH).get_json()
    assert orka["kind"] == "Agent" and orka["spec"]["triggerName"] == "ai-developer"
    spec = {**orka["spec"], "systemPrompt": "Write tests first."}
    updated = put(api, "/api/v1/agents/dev", {"metadata": {"resourceVersion": orka["metadata"]["resourceVersion"]},
                                              "spec": spec})
    assert updated.status_code == 200, updated.get_json()
    again = jobs.get("/api/agents/dev", headers=AUTH).get_json()
    assert again["triggerName"] == "ai-developer" and again["eventTriggers"] == [trigger]


def test_a_runtime_agent_is_accepted_and_an_unknown_runtime_type_is_400(api):
    for runtime in ("claude", "codex", "copilot", "opencode"):
        response = post(api, "/api/v1/agents", {"name": f"rt-{runtime}", "spec": {
            "runtime": {"type": runtime, "secretRef": {"name": "key"}}}})
        assert response.status_code == 201
        assert response.get_json()["spec"]["runtime"] == {"type": runtime, "secretRef": {"name": "key"}}
    response = post(api, "/api/v1/agents", {"name": "rt-bad", "spec": {"runtime": {"type": "gemini"}}})
    assert response.status_code == 400
    assert response.get_json() == err(400, 'invalid spec.runtime.type: unknown runtime type "gemini": must be one '
                                           "of claude, codex, copilot, opencode")
    assert api.get("/api/v1/agents/rt-bad", headers=AUTH).status_code == 404
