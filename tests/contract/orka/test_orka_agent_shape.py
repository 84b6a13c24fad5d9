"""Contract: Orka's Agent shape (issue 19). `spec.model` as an object and `spec.systemPrompt` as a
PromptSource are accepted next to the flat strings, stored in one form, and answered in Orka's shape.
The manifests are the examples of Orka's docs (getting-started, configuration, autonomous tasks)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH

# website/docs/getting-started.md, "Create an Agent"
GETTING_STARTED = {"apiVersion": "core.orka.ai/v1alpha1", "kind": "Agent", "metadata": {"name": "assistant"},
                   "spec": {"providerRef": {"name": "anthropic"}, "model": {"temperature": 0.7},
                            "systemPrompt": {"inline": "You are a helpful assistant."}}}
# website/docs/concepts/configuration.md, the Agent example
RESEARCHER = {"apiVersion": "core.orka.ai/v1alpha1", "kind": "Agent", "metadata": {"name": "researcher-agent"},
              "spec": {"providerRef": {"name": "anthropic-prod"},
                       "execution": {"runtimeClassName": "kata-qemu", "nodeSelector": {"sandbox-runtime": "kata"}},
                       "model": {"temperature": 0.7, "maxTokens": 4096},
                       "systemPrompt": {"inline": "You are a research specialist..."},
                       "tools": [{"name": "web-search"}, {"name": "github-search"}],
                       "skills": [{"name": "skill-researcher"}],
                       "session": {"persistence": "configmap", "ttl": "24h", "maxMessages": 50},
                       "coordination": {"enabled": True, "autonomous": True, "maxIterations": 20}}}
# website/docs/guides/autonomous-tasks.md
AUTONOMOUS = {"apiVersion": "core.orka.ai/v1alpha1", "kind": "Agent", "metadata": {"name": "autonomous-coordinator"},
              "spec": {"providerRef": {"name": "my-provider"}, "model": {"name": "claude-sonnet-4-20250514"},
                       "coordination": {"enabled": True, "autonomous": True, "maxIterations": 20, "maxDepth": 3,
                                        "maxConcurrentChildren": 5,
                                        "allowedAgents": [{"name": "coder"}, {"name": "reviewer"}]}}}
FULL_MODEL = {"provider": "openai", "name": "gpt-4o-mini", "temperature": 0.2, "contextWindow": 128000,
              "maxTokens": 2048}


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def api(function_client):
    return function_client("catalog")


def send(client, method, path, body):
    return client.open(path, method=method, data=json.dumps(body), headers={**AUTH, "Content-Type": "application/json"})


def stored_spec(name: str) -> dict:
    from shared.catalog.agents import agents

    return agents.get("default", name).doc["spec"]


def test_orka_agent_routes_without_credentials_are_401(api):
    response = api.post("/api/v1/agents", data=json.dumps(GETTING_STARTED), content_type="application/json")
    assert response.status_code == 401 and response.get_json() == err(401, "missing authorization header")


@pytest.mark.parametrize("manifest", [GETTING_STARTED, RESEARCHER, AUTONOMOUS], ids=lambda m: m["metadata"]["name"])
def test_orka_docs_agents_are_created_and_answered_in_orka_shape(api, manifest):
    response = send(api, "POST", "/api/v1/agents", manifest)
    assert response.status_code == 201, response.get_json()
    spec = response.get_json()["spec"]
    assert spec["model"] == manifest["spec"]["model"]
    if "systemPrompt" in manifest["spec"]:
        assert spec["systemPrompt"] == manifest["spec"]["systemPrompt"]
    assert api.get(f"/api/v1/agents/{manifest['metadata']['name']}", headers=AUTH).get_json()["spec"] == spec


def test_the_stored_form_is_flat_whichever_shape_came_in(api):
    send(api, "POST", "/api/v1/agents", {"name": "nested", "spec": {
        "model": FULL_MODEL, "systemPrompt": {"inline": "Be brief."}}})
    send(api, "POST", "/api/v1/agents", {"name": "flat", "spec": {
        "provider": "openai", "model": "gpt-4o-mini", "temperature": 0.2, "contextWindow": 128000, "maxTokens": 2048,
        "systemPrompt": "Be brief."}})
    expected = {"provider": "openai", "model": "gpt-4o-mini", "temperature": 0.2, "contextWindow": 128000,
                "maxTokens": 2048, "systemPrompt": "Be brief."}
    assert stored_spec("nested") == stored_spec("flat") == expected
    for name in ("nested", "flat"):
        assert api.get(f"/api/v1/agents/{name}", headers=AUTH).get_json()["spec"] == {
            "model": FULL_MODEL, "systemPrompt": {"inline": "Be brief."}}
    send(api, "POST", "/api/v1/agents", AUTONOMOUS)
    assert stored_spec("autonomous-coordinator")["coordination"]["allowedAgents"] == ["coder", "reviewer"]


def test_tools_and_skills_take_names_or_references_are_stored_as_names_and_answered_as_references(api):
    """Orka's ToolReference/SkillReference lists (`[{name, enabled?}]`) and Shoal's name lists are one form."""
    response = send(api, "POST", "/api/v1/agents", RESEARCHER)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["spec"]["tools"] == [{"name": "web-search"}, {"name": "github-search"}]
    assert response.get_json()["spec"]["skills"] == [{"name": "skill-researcher"}]
    assert stored_spec("researcher-agent")["tools"] == ["web-search", "github-search"]
    assert stored_spec("researcher-agent")["skills"] == ["skill-researcher"]
    mixed = send(api, "POST", "/api/v1/agents", {"name": "mixed", "spec": {
        "tools": ["web_search", {"name": "tavily"}, {"name": "off", "enabled": False}, {"name": "on", "enabled": True}],
        "skills": ["style", {"name": "review"}]}})
    assert mixed.status_code == 201, mixed.get_json()
    assert stored_spec("mixed") == {"tools": ["web_search", "tavily", "on"], "skills": ["style", "review"]}
    answered = api.get("/api/v1/agents/mixed", headers=AUTH).get_json()["spec"]
    assert answered == {"tools": [{"name": "web_search"}, {"name": "tavily"}, {"name": "on"}],
                        "skills": [{"name": "style"}, {"name": "review"}]}
    # the answer goes back unchanged (read-modify-write) and the engine resolves the names
    assert send(api, "PUT", "/api/v1/agents/mixed", {"spec": answered}).get_json()["spec"] == answered
    from shared.catalog.resolution import resolve_for_task

    # built-in tools resolve without Tool CRs (custom tools and skills would need them)
    send(api, "PUT", "/api/v1/agents/mixed", {"spec": {"tools": [{"name": "web_search"}, "web_fetch",
                                                                 {"name": "file_read", "enabled": False}]}})
    resolved = resolve_for_task("default", {"type": "ai", "prompt": "p", "agentRef": {"name": "mixed"}})
    assert resolved.tool_names == ["web_search", "web_fetch"]


def test_the_list_and_put_answer_in_orka_shape_and_put_takes_either_shape(api):
    send(api, "POST", "/api/v1/agents", {"name": "a1", "spec": {"model": "m1", "systemPrompt": "p1"}})
    listed = api.get("/api/v1/agents", headers=AUTH).get_json()["items"]
    assert [i["spec"] for i in listed] == [{"model": {"name": "m1"}, "systemPrompt": {"inline": "p1"}}]
    put = send(api, "PUT", "/api/v1/agents/a1", {"spec": {"model": {"provider": "anthropic", "name": "m2"},
                                                          "systemPrompt": {"inline": "p2"}}})
    assert put.status_code == 200
    assert put.get_json()["spec"] == {"model": {"provider": "anthropic", "name": "m2"}, "systemPrompt": {"inline": "p2"}}
    assert stored_spec("a1") == {"provider": "anthropic", "model": "m2", "systemPrompt": "p2"}
    # what GET returned goes back unchanged (a client's read-modify-write)
    again = send(api, "PUT", "/api/v1/agents/a1", {"spec": put.get_json()["spec"]})
    assert again.status_code == 200 and again.get_json()["spec"] == put.get_json()["spec"]


@pytest.mark.parametrize("spec,message", [
    ({"model": {"name": "m", "topP": 0.3}}, "spec.model.topP is not supported"),
    ({"model": {"name": 5}}, "spec.model.name must be a string"),
    ({"model": ["gpt"]}, "spec.model must be a string or an object {provider, name, contextWindow, maxTokens}"),
    ({"model": {"provider": "openai"}, "provider": "anthropic"}, "spec.model.provider conflicts with spec.provider"),
    ({"model": {"temperature": 3}}, "invalid spec.temperature: Input should be less than or equal to 2"),
    ({"model": {"contextWindow": 0}}, "invalid spec.contextWindow: Input should be greater than or equal to 1"),
    ({"systemPrompt": {"configMapRef": {"name": "prompts", "key": "main"}}},
     "spec.systemPrompt.configMapRef is not supported; use spec.systemPrompt.inline"),
    ({"systemPrompt": {"inline": 7}}, "spec.systemPrompt.inline must be a string"),
    ({"systemPrompt": {"text": "x"}}, "spec.systemPrompt.text is not supported"),
    ({"systemPrompt": 7}, "spec.systemPrompt must be a string or an object {inline}"),
    ({"tools": [{"enabled": True}]}, "spec.tools[0].name is required"),
    ({"tools": ["a", {"name": "b", "enabled": "no"}]}, "spec.tools[1].enabled must be a boolean"),
    ({"tools": [{"name": "b", "url": "https://x"}]}, "spec.tools[0].url is not supported"),
    ({"skills": [{"configMapRef": {"name": "s", "key": "k"}}]}, "spec.skills[0].configMapRef is not supported"),
    ({"skills": [{"name": 5}]}, "spec.skills[0].name is required"),
])
def test_bad_orka_shapes_are_400_and_store_nothing(api, spec, message):
    response = send(api, "POST", "/api/v1/agents", {"name": "bad", "spec": spec})
    assert response.status_code == 400 and response.get_json() == err(400, message)
    assert api.get("/api/v1/agents/bad", headers=AUTH).status_code == 404


def test_the_engine_reads_an_orka_shaped_agent(api, function_client, scripted_llm, monkeypatch):
    """A chat with agentRef to an Orka-shaped agent uses its model and temperature."""
    from shared.config import reset_settings
    from tests.support.chat import post_json, serve

    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    monkeypatch.setenv("SHOAL_LLM_BASE_URL", scripted_llm.url + "/v1")
    reset_settings()
    send(api, "POST", "/api/v1/agents", {"name": "ops", "spec": {
        "model": {"name": "gpt-4.1-mini", "temperature": 0.3}, "systemPrompt": {"inline": "You are ops."}}})
    scripted_llm.script = [{"text": "ok"}]
    with serve(function_client) as chat:
        response = post_json(chat.url, {"message": "hi", "agentRef": "ops"})
    assert response.status_code == 200, response.text
    request = scripted_llm.requests[0]["json"]
    assert request["model"] == "gpt-4.1-mini" and request["temperature"] == 0.3

    from shared.catalog.resolution import resolve_for_task

    resolved = resolve_for_task("default", {"type": "ai", "prompt": "p", "agentRef": {"name": "ops"}})
    assert resolved.system_prompt() == "You are ops."
    assert resolved.settings["model"] == "gpt-4.1-mini" and resolved.settings["temperature"] == 0.3


# Every top-level field of Orka's AgentSpec (api/v1alpha1/agent_types.go), and its coordination limits.
EVERY_FIELD = {"apiVersion": "core.orka.ai/v1alpha1", "kind": "Agent", "metadata": {"name": "everything"},
               "spec": {"providerRef": {"name": "anthropic"}, "model": {"name": "claude-sonnet-4-20250514"},
                        "resources": {"limits": {"cpu": "2", "memory": "4Gi"}, "requests": {"cpu": "500m"}},
                        "secretRef": {"name": "llm-keys"}, "ttlAfterLastTask": "1h",
                        "coordination": {"enabled": True, "maxDepth": 10, "allowedAgents": [{"name": "coder"}]}}}


def test_every_top_level_field_of_orkas_agent_spec_is_accepted_and_answered(api):
    response = send(api, "POST", "/api/v1/agents", EVERY_FIELD)
    assert response.status_code == 201, response.get_json()
    spec = api.get("/api/v1/agents/everything", headers=AUTH).get_json()["spec"]
    for field in ("resources", "secretRef", "ttlAfterLastTask"):
        assert spec[field] == EVERY_FIELD["spec"][field], field
    assert spec["coordination"]["maxDepth"] == 10


@pytest.mark.parametrize("spec,message", [
    ({"ttlAfterLastTask": "soon"}, 'invalid spec.ttlAfterLastTask: expected a duration like "24h", got "soon"'),
    ({"resources": {"limit": {"cpu": "1"}}}, "spec.resources.limit: unknown field"),
    ({"coordination": {"enabled": True, "maxDepth": 11}},
     "invalid spec.coordination.maxDepth: Input should be less than or equal to 10"),
])
def test_orka_agent_fields_are_checked(api, spec, message):
    response = send(api, "POST", "/api/v1/agents", {"name": "checked", "spec": spec})
    assert response.status_code == 400, response.get_json()
    assert response.get_json() == err(400, message)
    assert api.get("/api/v1/agents/checked", headers=AUTH).status_code == 404
